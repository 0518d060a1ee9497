//! `argocd-gpuops-cmp generate | parameters | self-check`: see the library.
#![allow(clippy::print_stdout, clippy::print_stderr)] // the plugin's output edge

use std::io::Write as _;
use std::process::ExitCode;

use argocd_gpuops_cmp::{EXIT_FAILURE, EXIT_USAGE, env::Env, run::Stop};

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

fn print_stdout(write: impl FnOnce(&mut std::io::StdoutLock<'static>) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// A panic's message may carry whatever the failing code was looking at
/// (a manifest's text, an environment variable); Argo CD shows and caches
/// all of stderr. Print a fixed line and where in our code it happened.
fn quiet_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        eprintln!(
            "argocd-gpuops-cmp: internal error{at} (a bug: please report it; details withheld, they may hold manifest or environment content)"
        );
    }));
}

fn generate(cwd: &std::path::Path) -> ExitCode {
    // First, so a SIGTERM at any later point is seen.
    let stop = Stop::install();
    // Descendants that leave kustomize's process group reparent here and
    // are ended with it (see run.rs); without it, only the group is ended.
    let _ = argocd_gpuops_cmp::run::become_subreaper();
    let rendered = match argocd_gpuops_cmp::generate(cwd, &Env::current(), &stop) {
        Ok(rendered) => rendered,
        Err(e) => {
            eprintln!("argocd-gpuops-cmp: {e}");
            return ExitCode::from(EXIT_FAILURE);
        }
    };
    if !rendered.warnings.is_empty() {
        eprintln!("{}", rendered.warnings.trim_end());
    }
    if let Err(e) = print_stdout(|out| rendered.output.write_to(out)) {
        eprintln!("argocd-gpuops-cmp: writing the render: {e}");
        return ExitCode::from(EXIT_FAILURE);
    }
    if stop.requested() {
        // Argo CD discards the output of a failed command.
        eprintln!("argocd-gpuops-cmp: stopped by SIGTERM while printing the render");
        return ExitCode::from(EXIT_FAILURE);
    }
    ExitCode::SUCCESS
}

fn main() -> ExitCode {
    quiet_panics();
    // args_os: `args` panics on an argument that is not UTF-8.
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match args.first().map(String::as_str) {
        Some("generate") => generate(&cwd),
        Some("parameters") => {
            match argocd_gpuops_cmp::parameters(&cwd, &Env::current())
                .map_err(|e| e.to_string())
                .and_then(|text| print_stdout(|out| out.write_all(text.as_bytes())).map_err(|e| e.to_string()))
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("argocd-gpuops-cmp: {e}");
                    ExitCode::from(EXIT_FAILURE)
                }
            }
        }
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
