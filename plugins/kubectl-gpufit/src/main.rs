//! `kubectl gpufit`: see the library for everything but printing.
#![allow(clippy::print_stderr)]

// Reading a 60,000-pod snapshot is allocation-bound; mimalloc measured
// faster than glibc malloc on the 2,000-node benchmark (scripts/bench.sh gpufit).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::Parser;
use kubectl_gpufit::{Cli, ExitCode};

fn main() -> std::process::ExitCode {
    // `check -k` runs this binary as gpuops' kustomize plugins.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if let Some(code) = kubectl_gpufit::kustomize_plugin::run_if_invoked(&args) {
        return code.into();
    }
    gpuops_cli::interrupt::install();
    let cli = Cli::parse();
    gpuops_cli::init_logging(cli.verbosity);
    match kubectl_gpufit::run(cli) {
        Ok(code) => code.into(),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::Error.into()
        }
    }
}
