//! `gpuops-dist`: release archives and krew manifests.
//!
//! Usage:
//!   gpuops-dist TAG TARGET BIN_DIR OUT_DIR
//!     pack the archives of TARGET's binaries in BIN_DIR, render the krew
//!     templates against them, validate the result with krew's rules
//!     (installing each archive as krew would), and write checksums
//!     (scripts/dist.sh builds the binaries and calls it);
//!   gpuops-dist validate MANIFEST... [--archive FILE --platform OS/ARCH]
//!     krew's validate-krew-manifest rules on each MANIFEST; with an
//!     archive, install it for OS/ARCH with krew's installer rules.
//!     Exit 0 valid (warnings printed), 1 invalid (one line per problem),
//!     2 usage.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gpuops_release::krew::{self, shown};
use gpuops_release::{archive, install, sha256_hex, template};

const PLUGINS: &[&str] = &["modelbump", "gpufit"];
const USAGE: &str = "usage: gpuops-dist TAG TARGET BIN_DIR OUT_DIR | gpuops-dist validate MANIFEST... [--archive FILE --platform OS/ARCH]";

/// A fresh, empty krew root for one install check.
fn scratch_root(near: &Path, label: &str) -> Result<PathBuf, String> {
    let root = near.join(format!(".krew-check-{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("{}: {e}", shown(&root.display().to_string())))?;
    Ok(root)
}

/// Pack one plugin's archive for `target`: `.zip` for Windows, else `.tar.gz`.
fn pack(name: &str, tag: &str, target: &str, bin_dir: &Path, out: &Path, license: &Path) -> Result<String, String> {
    let windows = target.contains("windows");
    let bin = format!("kubectl-{name}{}", if windows { ".exe" } else { "" });
    let archive_name = format!("kubectl-{name}-{tag}-{target}.{}", if windows { "zip" } else { "tar.gz" });
    let path = out.join(&archive_name);
    let packed = if windows {
        archive::pack_zip(&path, &bin_dir.join(&bin), &bin, license)
    } else {
        archive::pack(&path, &bin_dir.join(&bin), &bin, license)
    };
    packed.map_err(|e| format!("packing {archive_name}: {e}"))?;
    Ok(archive_name)
}

fn release(tag: &str, target: &str, bin_dir: &Path, out: &Path) -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(out.join("krew")).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut report = Vec::new();
    let mut checksums = String::new();
    for name in PLUGINS {
        let archive_name = pack(name, tag, target, bin_dir, out, &root.join("LICENSE"))?;
        let data = std::fs::read(out.join(&archive_name)).map_err(|e| format!("{archive_name}: {e}"))?;
        checksums.push_str(&format!("{}  {archive_name}\n", sha256_hex(&data)));
        let template_path = root.join("krew-manifests").join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&template_path).map_err(|e| format!("{}: {e}", template_path.display()))?;
        let rendered = template::render(&text, tag, out);
        let file = format!("krew/{name}.yaml");
        let valid = krew::validate(&file, &rendered.text).map_err(|errors| errors.join("\n"))?;
        for (i, platform) in valid.plugin.spec.platforms.iter().enumerate() {
            let local = out.join(platform.uri.rsplit('/').next().unwrap_or_default());
            let krew_root = scratch_root(out, name)?;
            let installed = install::install_file(&krew_root, name, &valid.plugin.spec.version, platform, &local);
            let _ = std::fs::remove_dir_all(&krew_root);
            installed.map_err(|e| format!("{file}: spec.platforms[{i}]: {e}"))?;
        }
        std::fs::write(out.join(&file), &rendered.text).map_err(|e| e.to_string())?;
        report.extend(valid.warnings);
        report.push(format!(
            "{archive_name}: {} bytes; {file}: valid, {} platform(s) installed as krew would; not built here: {}",
            data.len(),
            valid.plugin.spec.platforms.len(),
            if rendered.missing.is_empty() { "none".to_string() } else { rendered.missing.join(", ") }
        ));
    }
    std::fs::write(out.join("checksums.txt"), checksums).map_err(|e| e.to_string())?;
    Ok(report)
}

/// `validate`'s arguments: manifests, and an archive with its platform.
struct ValidateArgs {
    manifests: Vec<String>,
    archive: Option<(PathBuf, (String, String))>,
}

fn parse_validate(args: &[String]) -> Option<ValidateArgs> {
    let (mut manifests, mut archive, mut platform) = (Vec::new(), None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--archive" => archive = Some(PathBuf::from(it.next()?)),
            "--platform" => {
                let (os, arch) = it.next()?.split_once('/')?;
                platform = Some((os.to_string(), arch.to_string()));
            }
            s if s.starts_with("--") => return None,
            s => manifests.push(s.to_string()),
        }
    }
    let archive = match (archive, platform) {
        (None, None) => None,
        (Some(a), Some(p)) if manifests.len() == 1 => Some((a, p)),
        _ => return None,
    };
    (!manifests.is_empty()).then_some(ValidateArgs { manifests, archive })
}

/// Problems (errors) and warnings of one manifest, with its archive.
fn validate_one(path: &str, archive: Option<&(PathBuf, (String, String))>) -> (Vec<String>, Vec<String>) {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return (vec![format!("{}: {}", shown(path), e.kind())], vec![]),
    };
    let valid = match krew::validate(path, &text) {
        Ok(v) => v,
        Err(problems) => return (problems, vec![]),
    };
    let Some((file, (os, arch))) = archive else { return (vec![], valid.warnings) };
    let pair = (os.as_str(), arch.as_str());
    let found = valid
        .plugin
        .spec
        .platforms
        .iter()
        .enumerate()
        .find(|(_, p)| p.selector.as_ref().is_some_and(|s| krew::selector::matches(s, pair)));
    let Some((i, platform)) = found else {
        return (
            vec![format!("{}: spec.platforms: none selects {}/{}", shown(path), shown(os), shown(arch))],
            valid.warnings,
        );
    };
    // A fresh krew root in the temp folder (absolute, as krew's installer needs).
    let result = scratch_root(&std::env::temp_dir(), "validate").and_then(|root| {
        let r = install::install_file(&root, &valid.plugin.metadata.name, &valid.plugin.spec.version, platform, file);
        let _ = std::fs::remove_dir_all(&root);
        r.map_err(|e| {
            format!("{}: spec.platforms[{i}]: archive {}: {e}", shown(path), shown(&file.display().to_string()))
        })
    });
    (result.err().into_iter().collect(), valid.warnings)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn validate(args: &[String]) -> ExitCode {
    let Some(args) = parse_validate(args) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let mut invalid = false;
    for path in &args.manifests {
        let (problems, warnings) = validate_one(path, args.archive.as_ref());
        warnings.iter().for_each(|w| println!("{w}"));
        problems.iter().for_each(|p| eprintln!("{p}"));
        invalid |= !problems.is_empty();
        if problems.is_empty() {
            println!("{}: valid", shown(path));
        }
    }
    if invalid { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "validate") {
        return validate(&args[1..]);
    }
    let [tag, target, bin_dir, out] = args.as_slice() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    match release(tag, target, &PathBuf::from(bin_dir), &PathBuf::from(out)) {
        Ok(report) => {
            report.iter().for_each(|line| println!("{line}"));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gpuops-dist: {e}");
            ExitCode::FAILURE
        }
    }
}
