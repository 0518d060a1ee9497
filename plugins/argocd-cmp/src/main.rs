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

/// What the command line asks for. Argo CD runs `generate` and
/// `parameters` with no further argument (plugin.yaml); anything else there
/// is a person at a terminal, who must get help or a usage error, never a
/// render of the working directory.
#[derive(Debug, PartialEq, Eq)]
enum Call {
    Generate,
    Parameters,
    SelfCheck(String),
    Help(&'static str),
    Version,
    Usage(String),
}

const GENERATE_HELP: &str = "\
Usage: argocd-gpuops-cmp generate
  Render the app directory (the working directory) as Argo CD's sidecar does:
  kustomize with gpuops, the Application's parameters (ARGOCD_APP_PARAMETERS),
  the fit gate. Takes no options; settings come from the environment.
";

const PARAMETERS_HELP: &str = "\
Usage: argocd-gpuops-cmp parameters
  Print the parameter announcements of the app directory (the working
  directory) for the Argo CD UI, as JSON. Takes no options.
";

const DEFAULT_CONFIG_DIR: &str = "/home/argocd/cmp-server/config";

fn parse(args: &[String]) -> Call {
    let is_help = |a: &str| matches!(a, "-h" | "--help" | "help");
    let rest = args.get(1..).unwrap_or_default();
    let unexpected = |command: &str| {
        let shown = gpuops_manifest::text::printable_prefix(&rest[0], 60);
        Call::Usage(format!("{command}: unexpected argument {shown:?} (it takes none; see {command} --help)"))
    };
    match args.first().map(String::as_str) {
        Some(command @ ("generate" | "parameters")) => {
            let help = if command == "generate" { GENERATE_HELP } else { PARAMETERS_HELP };
            match rest {
                [] if command == "generate" => Call::Generate,
                [] => Call::Parameters,
                _ if rest.iter().any(|a| is_help(a)) => Call::Help(help),
                _ => unexpected(command),
            }
        }
        Some("self-check") => match rest {
            [] => Call::SelfCheck(DEFAULT_CONFIG_DIR.into()),
            [flag, dir] if flag == "--config-dir" => Call::SelfCheck(dir.clone()),
            _ if rest.iter().any(|a| is_help(a)) => Call::Help(USAGE),
            _ => Call::Usage("self-check: takes only --config-dir DIR".into()),
        },
        Some(a) if is_help(a) => Call::Help(USAGE),
        Some("-V" | "--version") => Call::Version,
        Some(other) => {
            let shown = gpuops_manifest::text::printable_prefix(other, 60);
            Call::Usage(format!("unknown command {shown:?}"))
        }
        None => Call::Usage("a command is required".into()),
    }
}

fn parameters(cwd: &std::path::Path) -> ExitCode {
    match argocd_gpuops_cmp::parameters(cwd, &Env::current())
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

fn main() -> ExitCode {
    quiet_panics();
    // args_os: `args` panics on an argument that is not UTF-8.
    let args: Vec<String> = std::env::args_os().skip(1).map(|a| a.to_string_lossy().into_owned()).collect();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    match parse(&args) {
        Call::Generate => generate(&cwd),
        Call::Parameters => parameters(&cwd),
        Call::SelfCheck(dir) => {
            let (report, ok) = argocd_gpuops_cmp::self_check(std::path::Path::new(&dir));
            print!("{report}");
            if ok { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILURE) }
        }
        Call::Help(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Call::Version => {
            println!("argocd-gpuops-cmp {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Call::Usage(problem) => {
            eprint!("argocd-gpuops-cmp: {problem}\n\n{USAGE}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(args: &[&str]) -> Call {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn only_the_bare_commands_render() {
        assert_eq!(call(&["generate"]), Call::Generate);
        assert_eq!(call(&["parameters"]), Call::Parameters);
        assert_eq!(call(&["generate", "--help"]), Call::Help(GENERATE_HELP));
        assert_eq!(call(&["parameters", "-h"]), Call::Help(PARAMETERS_HELP));
        assert_eq!(call(&["self-check", "--config-dir", "/x"]), Call::SelfCheck("/x".into()));
        for bad in [
            &["generate", "--nodes"][..],
            &["generate", "extra"],
            &["parameters", "--x"],
            &["self-check", "x"],
            &["x"],
            &[],
        ] {
            assert!(matches!(call(bad), Call::Usage(_)), "{bad:?}");
        }
    }
}
