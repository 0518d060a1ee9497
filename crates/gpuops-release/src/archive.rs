//! Release archives: `.tar.gz` holding the plugin binary (mode 0755),
//! the `kubectl_complete-<name>` script kubectl (>= 1.26) runs for
//! `kubectl <name> <TAB>` (mode 0755, what `<binary> completion kubectl`
//! prints) and LICENSE at the top level, as krew extracts them (no
//! `files:` needed).

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

/// Write `out` (`….zip`, the Windows archive) with `binary` (as
/// `bin_name`, e.g. `kubectl-x.exe`) and `license` at the top level. The
/// binary is not run (it is built for another system), so no completion
/// script: kubectl's `kubectl_complete-*` lookup is a Unix shell script.
pub fn pack_zip(out: &Path, binary: &Path, bin_name: &str, license: &Path) -> std::io::Result<()> {
    let entries = [
        (bin_name.to_string(), std::fs::read(binary)?, 0o755),
        ("LICENSE".to_string(), std::fs::read(license)?, 0o644),
    ];
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    crate::zip::write(&mut file, &entries)?;
    file.into_inner().map_err(|e| e.into_error())?.sync_all()
}
