//! `gpuops-dist`: pack release archives from built binaries, render the krew
//! templates against them, validate the result, and write checksums.
//!
//! Usage: gpuops-dist TAG TARGET BIN_DIR OUT_DIR
//! (scripts/dist.sh builds the binaries and calls it.)

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gpuops_release::{archive, krew, sha256_hex, template};

const PLUGINS: &[&str] = &["modelbump", "gpufit"];

fn run(tag: &str, target: &str, bin_dir: &Path, out: &Path) -> Result<Vec<String>, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let license = root.join("LICENSE");
    std::fs::create_dir_all(out.join("krew")).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut report = Vec::new();
    let mut checksums = String::new();
    for name in PLUGINS {
        let bin = format!("kubectl-{name}");
        let archive_name = format!("{bin}-{tag}-{target}.tar.gz");
        let archive_path = out.join(&archive_name);
        archive::pack(&archive_path, &bin_dir.join(&bin), &bin, &license)
            .map_err(|e| format!("packing {archive_name}: {e}"))?;
        let data = std::fs::read(&archive_path).map_err(|e| e.to_string())?;
        checksums.push_str(&format!("{}  {archive_name}\n", sha256_hex(&data)));
        let template_path = root.join("krew-manifests").join(format!("{name}.yaml"));
        let text = std::fs::read_to_string(&template_path).map_err(|e| format!("{}: {e}", template_path.display()))?;
        let rendered = template::render(&text, tag, out);
        let file = format!("{name}.yaml");
        let plugin = krew::validate(&file, &rendered.text).map_err(|errors| errors.join("\n"))?;
        for platform in &plugin.spec.platforms {
            let local = out.join(platform.uri.rsplit('/').next().unwrap_or_default());
            krew::check_archive(platform, &local)?;
        }
        std::fs::write(out.join("krew").join(&file), &rendered.text).map_err(|e| e.to_string())?;
        report.push(format!(
            "{archive_name}: {} bytes; krew/{file}: valid, {} platform(s); not built here: {}",
            data.len(),
            plugin.spec.platforms.len(),
            if rendered.missing.is_empty() { "none".to_string() } else { rendered.missing.join(", ") }
        ));
    }
    std::fs::write(out.join("checksums.txt"), checksums).map_err(|e| e.to_string())?;
    Ok(report)
}

#[allow(clippy::print_stdout, clippy::print_stderr)]
fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [tag, target, bin_dir, out] = args.as_slice() else {
        eprintln!("usage: gpuops-dist TAG TARGET BIN_DIR OUT_DIR");
        return ExitCode::from(2);
    };
    match run(tag, target, &PathBuf::from(bin_dir), &PathBuf::from(out)) {
        Ok(report) => {
            for line in report {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gpuops-dist: {e}");
            ExitCode::FAILURE
        }
    }
}
