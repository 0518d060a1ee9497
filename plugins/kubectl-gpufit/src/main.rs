//! `kubectl gpufit`: see the library for everything but printing.
#![allow(clippy::print_stderr)]

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = kubectl_gpufit::Cli::parse();
    match kubectl_gpufit::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(kubectl_gpufit::EXIT_ERROR)
        }
    }
}
