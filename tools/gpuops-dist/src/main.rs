//! `gpuops-dist`: release archives and krew manifests.
//!
//! Usage:
//!   gpuops-dist TAG TARGET BIN_DIR OUT_DIR
//!     pack the archives of TARGET's binaries in BIN_DIR, render the krew
//!     templates against them, validate the result with krew's rules
//!     (installing each archive as krew would), and write checksums
//!     (scripts/dist.sh builds the binaries and calls it);
//!   gpuops-dist pack TAG TARGET BIN_DIR OUT_DIR
//!     only the archives (the release workflow's build job, per runner);
//!   gpuops-dist manifests [--all] TAG OUT_DIR
//!     only the manifests and checksums over the archives in OUT_DIR; with
//!     --all every archive the templates list must be there (the
//!     workflow's manifests job);
//!   gpuops-dist sbom PACKAGE < `cargo metadata --format-version 1 ...`
//!     the SPDX 2.3 JSON document of PACKAGE's dependency closure;
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
const USAGE: &str = "usage: gpuops-dist TAG TARGET BIN_DIR OUT_DIR | gpuops-dist pack TAG TARGET BIN_DIR OUT_DIR | gpuops-dist manifests [--all] TAG OUT_DIR | gpuops-dist sbom PACKAGE < METADATA | gpuops-dist validate MANIFEST... [--archive FILE --platform OS/ARCH]";

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

/// Pack both plugins' archives for `target` from `bin_dir` into `out`.
fn pack_all(tag: &str, target: &str, bin_dir: &Path, out: &Path) -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    PLUGINS.iter().map(|name| pack(name, tag, target, bin_dir, out, &root.join("LICENSE"))).collect()
}

/// Render both krew templates against the archives in `out`, validate
/// them, install each platform's archive as krew would, and write
/// `krew/NAME.yaml` and `checksums.txt` (every archive in `out`). With
/// `all`, an archive a template lists but `out` lacks is an error
/// (krew-release-bot fails on a missing asset); without, that platform is
/// left out of the manifest and named.
fn manifests(tag: &str, out: &Path, all: bool) -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    std::fs::create_dir_all(out.join("krew")).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut report = Vec::new();
    for name in PLUGINS {
        let template_path = root.join("krew-manifests").join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&template_path).map_err(|e| format!("{}: {e}", template_path.display()))?;
        let rendered = template::render(&text, tag, out).map_err(|e| format!("krew-manifests/{name}.yaml: {e}"))?;
        if all && !rendered.missing.is_empty() {
            return Err(format!(
                "krew-manifests/{name}.yaml lists archives not built: {}",
                rendered.missing.join(", ")
            ));
        }
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
            "{file}: valid, {} platform(s) installed as krew would; not built here: {}",
            valid.plugin.spec.platforms.len(),
            if rendered.missing.is_empty() { "none".to_string() } else { rendered.missing.join(", ") }
        ));
    }
    let mut archives: Vec<String> = std::fs::read_dir(out)
        .map_err(|e| format!("{}: {e}", out.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("kubectl-") && (n.ends_with(".tar.gz") || n.ends_with(".zip")))
        .collect();
    archives.sort();
    let mut checksums = String::new();
    for archive_name in &archives {
        let data = std::fs::read(out.join(archive_name)).map_err(|e| format!("{archive_name}: {e}"))?;
        checksums.push_str(&format!("{}  {archive_name}\n", sha256_hex(&data)));
        report.push(format!("{archive_name}: {} bytes", data.len()));
    }
    std::fs::write(out.join("checksums.txt"), checksums).map_err(|e| e.to_string())?;
    Ok(report)
}

/// `sbom PACKAGE`: the SPDX document of PACKAGE from `cargo metadata`'s
/// JSON on standard input and the workspace's Cargo.lock; `created` from
/// SOURCE_DATE_EPOCH (reproducible builds' variable), else the epoch.
fn sbom(package: &str) -> Result<String, String> {
    let mut metadata = String::new();
    std::io::Read::read_to_string(&mut std::io::stdin(), &mut metadata).map_err(|e| format!("standard input: {e}"))?;
    let lock_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../Cargo.lock");
    let lock = std::fs::read_to_string(&lock_path).map_err(|e| format!("{}: {e}", lock_path.display()))?;
    let created = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => v.trim().parse::<u64>().map_err(|_| format!("SOURCE_DATE_EPOCH: not a number of seconds: {v}"))?,
        Err(_) => 0,
    };
    let tool = format!("gpuops-dist-{}", env!("CARGO_PKG_VERSION"));
    gpuops_release::sbom::spdx(&metadata, &lock, package, &gpuops_release::sbom::rfc3339(created), &tool)
        .map_err(|e| e.to_string())
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

/// Print a command's report lines, or its error; the exit code.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn finish(result: Result<Vec<String>, String>) -> ExitCode {
    match result {
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

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let strs: Vec<&str> = args.iter().map(String::as_str).collect();
    match strs.as_slice() {
        ["validate", rest @ ..] if !rest.is_empty() => validate(&args[1..]),
        ["pack", tag, target, bin_dir, out] => finish(pack_all(tag, target, Path::new(bin_dir), Path::new(out))),
        ["manifests", tag, out] => finish(manifests(tag, Path::new(out), false)),
        ["manifests", "--all", tag, out] => finish(manifests(tag, Path::new(out), true)),
        ["sbom", package] => match sbom(package) {
            Ok(doc) => {
                print!("{doc}");
                ExitCode::SUCCESS
            }
            Err(e) => finish(Err(e)),
        },
        [tag, target, bin_dir, out]
            if !tag.starts_with('-') && !["validate", "pack", "manifests", "sbom"].contains(tag) =>
        {
            finish(pack_all(tag, target, Path::new(bin_dir), Path::new(out)).and_then(|packed| {
                let mut report = manifests(tag, Path::new(out), false)?;
                report.insert(0, format!("packed: {}", packed.join(", ")));
                Ok(report)
            }))
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
