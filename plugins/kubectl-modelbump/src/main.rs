//! `kubectl modelbump`: see the library for everything but printing.
#![allow(clippy::print_stderr)]

use clap::Parser;
use kubectl_modelbump::{Cli, ExitCode};

fn main() -> std::process::ExitCode {
    gpuops_cli::interrupt::install();
    let cli = Cli::parse();
    gpuops_cli::init_logging(cli.verbosity);
    match kubectl_modelbump::run(cli) {
        Ok(code) => code.into(),
        Err(error @ kubectl_modelbump::Error::Interrupted(_)) => {
            eprintln!("{error}");
            ExitCode::Interrupted.into()
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::Error.into()
        }
    }
}
