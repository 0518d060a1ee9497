//! `kubectl modelbump`: see the library for everything but the exit.
#![allow(clippy::print_stderr)]

// The static release binaries link musl (scripts/static-packages.sh), whose
// malloc is much slower than glibc's under the scan's concurrent registry
// requests; mimalloc there (measured in the commit that added this with
// bench-modelbump, musl vs static glibc). glibc builds keep glibc's malloc.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use kubectl_modelbump::{Cli, ExitCode, safe_lines};

fn main() -> std::process::ExitCode {
    gpuops_cli::interrupt::install();
    let cli = Cli::parse();
    gpuops_cli::init_logging(cli.verbosity);
    match kubectl_modelbump::run(cli) {
        Ok(code) => code.into(),
        // Untrusted parts are escaped where messages are made; this keeps
        // any control character that slipped through off the terminal.
        Err(error) if error.is_interrupted() => {
            eprintln!("{}", safe_lines(&error.to_string()));
            ExitCode::Interrupted.into()
        }
        Err(error) => {
            eprintln!("error: {}", safe_lines(&error.to_string()));
            ExitCode::Error.into()
        }
    }
}
