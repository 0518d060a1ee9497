//! gpuops-release: what a release is made of.
//!
//! * [`krew`] is the krew `Plugin` manifest, decoded strictly (a misspelt
//!   key is an error; krew itself would ignore it), and [`krew::validate`]
//!   checks every rule krew's `validate-krew-manifest` and krew-index CI
//!   enforce.
//! * [`template`] renders the krew-release-bot templates in
//!   `krew-manifests/` (`{{ .TagName }}`, `{{addURIAndSha "…" .TagName}}`)
//!   against archives on disk, as the bot does against a GitHub release.
//! * [`archive`] packs a binary and the LICENSE into the release archive
//!   (`.tar.gz`, or `.zip` for Windows, [`zip`]).
//! * [`install`] installs an archive into a krew root with krew's own
//!   rules (extraction, `files:` moves, `bin`, licence).
//! * [`sbom`] writes the SPDX 2.3 document of a binary's crates (from
//!   `cargo metadata` and Cargo.lock) that each image and release carries.

pub mod archive;
pub mod install;
pub mod krew;
pub mod sbom;
pub mod template;
pub mod zip;

/// Lower-case hex sha256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// What a release of plugin `name` would be, made from `binary` and checked
/// as krew-index checks it: pack the archive for this machine's platform,
/// render `krew-manifests/NAME.yaml` against it, validate the manifest,
/// and install the archive into a krew root under `work` with krew's rules
/// (sha256, extraction, `files:`, `bin`, licence). Returns the installed
/// executable in the krew store. `root` is the repository.
pub fn release_roundtrip(
    name: &str,
    binary: &std::path::Path,
    root: &std::path::Path,
    work: &std::path::Path,
) -> Result<std::path::PathBuf, String> {
    let tag = &format!("v{}", env!("CARGO_PKG_VERSION"));
    let bin = format!("kubectl-{name}");
    // The linux amd64 archive's name as the release workflow makes it (and
    // the template lists it): static musl builds (scripts/static-packages.sh).
    let archive_name = format!("{bin}-{tag}-x86_64-unknown-linux-musl.tar.gz");
    let archive_path = work.join(&archive_name);
    archive::pack(&archive_path, binary, &bin, &root.join("LICENSE")).map_err(|e| e.to_string())?;
    let template_text =
        std::fs::read_to_string(root.join("krew-manifests").join(format!("{name}.yaml"))).map_err(|e| e.to_string())?;
    let rendered =
        template::render(&template_text, tag, work).map_err(|e| format!("krew-manifests/{name}.yaml: {e}"))?;
    let plugin = krew::validate(&format!("{name}.yaml"), &rendered.text).map_err(|e| e.join("\n"))?.plugin;
    let [platform] = plugin.spec.platforms.as_slice() else {
        return Err(format!("expected the one platform built here, got {}", plugin.spec.platforms.len()));
    };
    let installed = install::install_file(&work.join("krew"), name, &plugin.spec.version, platform, &archive_path)
        .map_err(|e| format!("{archive_name}: {e}"))?;
    Ok(installed.dir.join(&platform.bin))
}

/// Run the `kubectl_complete-<name>` script an archive installed beside
/// `installed` (the plugin binary) the way kubectl (>= 1.26) runs it: found
/// on PATH with the plugin, given the words after `kubectl <name>`. Returns
/// its standard output (Cobra's `__complete` answer).
pub fn complete_as_kubectl(installed: &std::path::Path, words: &[&str]) -> Result<String, String> {
    let dir = installed.parent().ok_or("the installed binary has no directory")?;
    let name = installed.file_name().and_then(|n| n.to_str()).ok_or("binary name")?;
    let script = dir.join(format!("kubectl_complete-{}", name.trim_start_matches("kubectl-")));
    let meta = std::fs::metadata(&script).map_err(|e| format!("{}: {e}", script.display()))?;
    // kubectl finds the script on PATH only with an execute bit (Unix; the
    // script is a shell script, so no Windows archive carries one).
    #[cfg(unix)]
    if std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 == 0 {
        return Err(format!("{} is not executable", script.display()));
    }
    #[cfg(not(unix))]
    let _ = meta;
    // The installed directory first, then the system's own directories: a
    // library reads no environment, and the script needs only `sh` and the
    // plugin beside it.
    let system = ["/usr/local/bin", "/usr/bin", "/bin"].map(std::path::PathBuf::from);
    let path = std::env::join_paths(std::iter::once(dir.to_path_buf()).chain(system)).map_err(|e| e.to_string())?;
    let out = std::process::Command::new(&script).args(words).env("PATH", path).output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", script.display(), String::from_utf8_lossy(&out.stderr)));
    }
    String::from_utf8(out.stdout).map_err(|e| e.to_string())
}

/// What a user sees once the archive is installed: `installed --help`
/// speaks as `kubectl <name>`, and the `kubectl_complete-<name>` beside it
/// offers `subcommand` for `kubectl <name> <TAB>` in Cobra's format.
pub fn check_installed(installed: &std::path::Path, name: &str, subcommand: &str) -> Result<(), String> {
    let out = std::process::Command::new(installed).arg("--help").output().map_err(|e| e.to_string())?;
    let help = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() || !help.contains(&format!("Usage: kubectl {name} ")) {
        return Err(format!("--help does not speak as kubectl {name}:\n{help}"));
    }
    let words = complete_as_kubectl(installed, &[""])?;
    if !(words.lines().any(|l| l.starts_with(&format!("{subcommand}\t"))) && words.ends_with(":4\n")) {
        return Err(format!("kubectl_complete-{name} does not offer {subcommand}:\n{words}"));
    }
    Ok(())
}
