//! `argocd-gpuops-cmp generate | parameters | self-check`: see the library.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the plugin's output edge

use std::io::Write as _;
use std::process::ExitCode;

use argocd_gpuops_cmp::{EXIT_FAILURE, EXIT_USAGE, run::Stop};

const USAGE: &str = "\
argocd-gpuops-cmp: the gpuops Argo CD Config Management Plugin (plugin.name: gpuops-v1).

Usage:
  argocd-gpuops-cmp generate      render the app directory (cwd): kustomize with gpuops, parameters, fit gate
  argocd-gpuops-cmp parameters    the parameter announcements for the Argo CD UI (JSON)
  argocd-gpuops-cmp self-check [--config-dir DIR]
                                  is the sidecar wired as Argo CD expects (default DIR /home/argocd/cmp-server/config)

Settings (ARGOCD_ENV_<NAME>, else <NAME>): GPUOPS_DEADLINE (seconds, default 50).
The sidecar's own environment only (never ARGOCD_ENV_): GPUOPS_KUSTOMIZE (a standalone
kustomize), GPUOPS_KUBECTL (default kubectl), GPUOPS_ALLOWED_PLUGINS (group/version/Kind,...:
plugin kinds that may run besides kustomize builtins and gpuops.dev/v1alpha1 GpuProfile/ModelTags;
everything else a repository declares, exec and container functions included, is refused).
";

fn print_stdout(text: &str) -> Result<(), std::io::Error> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match args.first().map(String::as_str) {
        Some("generate") => {
            let stop = Stop::install();
            match argocd_gpuops_cmp::generate(&cwd, &stop) {
                Ok(rendered) => {
                    if !rendered.warnings.is_empty() {
                        eprintln!("{}", rendered.warnings.trim_end());
                    }
                    if let Err(e) = print_stdout(&rendered.stdout) {
                        eprintln!("argocd-gpuops-cmp: writing the render: {e}");
                        return ExitCode::from(EXIT_FAILURE);
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("argocd-gpuops-cmp: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
        Some("parameters") => match print_stdout(&argocd_gpuops_cmp::parameters(&cwd)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(_) => ExitCode::from(EXIT_FAILURE),
        },
        Some("self-check") => {
            let dir = match args.get(1).map(String::as_str) {
                Some("--config-dir") => args.get(2).map_or("/home/argocd/cmp-server/config", String::as_str),
                _ => "/home/argocd/cmp-server/config",
            };
            let (report, ok) = argocd_gpuops_cmp::self_check(std::path::Path::new(dir));
            print!("{report}");
            if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILURE) }
        }
        Some("-h" | "--help" | "help") => {
            print!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some("-V" | "--version") => {
            println!("argocd-gpuops-cmp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
