//! Shell completion: the script, and the candidates kubectl asks for.

use crate::cli::Cli;
use crate::{Error, ExitCode, render};

pub(crate) fn completion(args: &gpuops_cli::CompletionArgs) -> Result<ExitCode, Error> {
    render::emit(&gpuops_cli::completion::script(<Cli as clap::CommandFactory>::command(), "gpufit", args.shell))?;
    Ok(ExitCode::Success)
}

pub(crate) fn complete(args: &gpuops_cli::CompleteArgs) -> Result<ExitCode, Error> {
    // Contexts from the kubeconfig kubectl would read; GPU products
    // and model ids from the catalog.
    let dynamic = |flag: &str| -> Option<Vec<String>> {
        match flag {
            "context" => gpuops_cluster::load_kubeconfig(
                None,
                std::env::var_os("KUBECONFIG").as_deref(),
                std::env::var_os("HOME").map(std::path::PathBuf::from).as_deref(),
            )
            .ok()
            .map(|k| k.contexts.into_iter().map(|c| c.name).collect()),
            "gpu" => {
                Some(gpuops_model::catalog::gpu_products().iter().filter_map(|p| p.aliases.first().cloned()).collect())
            }
            // `model <TAB>`: the catalog's model ids.
            "model" => Some(gpuops_model::catalog::models().into_iter().map(|m| m.id).collect()),
            _ => None,
        }
    };
    let command = <Cli as clap::CommandFactory>::command();
    render::emit(&gpuops_cli::completion::complete_with(&command, &args.words, &dynamic))?;
    Ok(ExitCode::Success)
}
