//! Shell completion: the script, and the candidates kubectl asks for.

use super::with_stdout;
use crate::{Cli, Error, ExitCode};
use gpuops_manifest::text::printable;

pub(crate) fn completion(args: &gpuops_cli::CompletionArgs) -> Result<ExitCode, Error> {
    let script = gpuops_cli::completion::script(<Cli as clap::CommandFactory>::command(), "modelbump", args.shell);
    with_stdout(|out| {
        out.print(&script);
        Ok(ExitCode::Success)
    })
}

pub(crate) fn complete(args: &gpuops_cli::CompleteArgs) -> Result<ExitCode, Error> {
    // From the GitOps tree in the current directory: its
    // ImageUpdateAutomations for --automation, its ImageRepositories'
    // images for `tags <TAB>`. A tree that cannot be read offers none.
    let dynamic = |name: &str| -> Option<Vec<String>> {
        let scan = || gpuops_gitops::scan_tree(std::path::Path::new(".")).ok();
        // A name holding a control character or a newline would forge
        // candidates in the shell: not offered.
        let offer = |names: Vec<String>| -> Vec<String> { names.into_iter().filter(|n| printable(n) == *n).collect() };
        match name {
            "automation" => Some(offer(scan()?.automations.iter().map(|a| a.key()).collect())),
            "repository" => Some(offer(scan()?.repositories.iter().map(|r| r.image.clone()).collect())),
            _ => None,
        }
    };
    let candidates =
        gpuops_cli::completion::complete_with(&<Cli as clap::CommandFactory>::command(), &args.words, &dynamic);
    with_stdout(|out| {
        out.print(&candidates);
        Ok(ExitCode::Success)
    })
}
