//! Release archives: `.tar.gz` holding the plugin binary (mode 0755),
//! the `kubectl_complete-<name>` script kubectl (>= 1.26) runs for
//! `kubectl <name> <TAB>` (mode 0755, what `<binary> completion kubectl`
//! prints) and LICENSE at the top level, as krew extracts them (no
//! `files:` needed).

use std::io::Read;
use std::path::Path;

/// Write `out` (`….tar.gz`) with `binary` (as `bin_name`), its completion
/// script and `license`. The script comes from running the binary, so an
/// archive can only be packed on a machine that runs it.
pub fn pack(out: &Path, binary: &Path, bin_name: &str, license: &Path) -> std::io::Result<()> {
    let completion = std::process::Command::new(binary).args(["completion", "kubectl"]).output()?;
    if !completion.status.success() || !completion.stdout.starts_with(b"#!") {
        return Err(std::io::Error::other(format!(
            "{} completion kubectl did not print a script: {}",
            binary.display(),
            String::from_utf8_lossy(&completion.stderr).trim()
        )));
    }
    let plugin = bin_name.trim_end_matches(".exe").trim_start_matches("kubectl-");
    let file = std::fs::File::create(out)?;
    let gz = flate2::write::GzEncoder::new(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    let entries = [
        (std::fs::read(binary)?, bin_name.to_string(), 0o755),
        (completion.stdout, format!("kubectl_complete-{plugin}"), 0o755),
        (std::fs::read(license)?, "LICENSE".to_string(), 0o644),
    ];
    for (data, name, mode) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(mode);
        header.set_mtime(0);
        header.set_cksum();
        tar.append_data(&mut header, name, data.as_slice())?;
    }
    tar.into_inner()?.finish()?.sync_all()
}

/// The entry names of a `.tar.gz` archive.
pub fn list(path: &Path, data: &[u8]) -> Result<Vec<String>, String> {
    let err = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let mut names = Vec::new();
    for entry in archive.entries().map_err(err)? {
        let entry = entry.map_err(err)?;
        names.push(entry.path().map_err(err)?.to_string_lossy().into_owned());
    }
    Ok(names)
}

/// Extract a `.tar.gz` into `dir` (for tests that run what krew would install).
pub fn extract(archive: &Path, dir: &Path) -> std::io::Result<()> {
    let mut data = Vec::new();
    std::fs::File::open(archive)?.read_to_end(&mut data)?;
    tar::Archive::new(flate2::read::GzDecoder::new(data.as_slice())).unpack(dir)
}
