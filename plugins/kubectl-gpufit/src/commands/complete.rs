//! Shell completion: the script, and the candidates kubectl asks for.

use crate::cli::Cli;
use crate::{Error, ExitCode, render};

pub(crate) fn completion(args: &gpuops_cli::CompletionArgs) -> Result<ExitCode, Error> {
    render::emit(&gpuops_cli::completion::script(<Cli as clap::CommandFactory>::command(), "gpufit", args.shell))?;
    Ok(ExitCode::Success)
}

/// Cobra's `ShellCompDirectiveFilterFileExt`: the candidates are file
/// extensions to complete files by.
const FILTER_FILE_EXT: u8 = 8;
/// Cobra's `ShellCompDirectiveFilterDirs`: complete directory names only.
const FILTER_DIRS: u8 = 16;

/// What the value of the flag before the word being completed is, in
/// cobra's terms: `-f` files by kubectl's extensions (cli-runtime
/// pkg/genericclioptions/filename_flags.go, `AddFlags`: the
/// `BashCompFilenameExt` annotation from `resource.FileExtensions`), `-k`
/// directories (clap's `ValueHint::DirPath`, cobra's `BashCompSubdirsInDir`
/// annotation, which cobra's completions.go answers with
/// `ShellCompDirectiveFilterDirs`).
fn path_completion(words: &[String]) -> Option<String> {
    let [.., flag, _partial] = words else { return None };
    let command = <Cli as clap::CommandFactory>::command();
    let sub = words.iter().find_map(|w| command.find_subcommand(w))?;
    let name = flag.strip_prefix("--").or_else(|| flag.strip_prefix('-'))?;
    let arg = sub
        .get_arguments()
        .find(|a| a.get_long() == Some(name) || a.get_short().is_some_and(|c| c.to_string() == name))?;
    match arg.get_value_hint() {
        clap::ValueHint::DirPath => Some(format!(":{FILTER_DIRS}\n")),
        clap::ValueHint::AnyPath if arg.get_long() == Some("filename") => {
            Some(format!("json\nyaml\nyml\n:{FILTER_FILE_EXT}\n"))
        }
        _ => None,
    }
}

pub(crate) fn complete(args: &gpuops_cli::CompleteArgs) -> Result<ExitCode, Error> {
    if let Some(answer) = path_completion(&args.words) {
        render::emit(&answer)?;
        return Ok(ExitCode::Success);
    }
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
