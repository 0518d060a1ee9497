//! This binary as gpuops' kustomize legacy exec plugin, for `check -k`.
//!
//! `check -k` points kustomize at a plugin home where
//! `gpuops.dev/v1alpha1/gpuprofile/GpuProfile` and `.../modeltags/ModelTags`
//! are links to this binary. kustomize runs a legacy exec plugin as
//! `PATH CONFIG_FILE` with the resources on stdin and reads the changed
//! stream from stdout (kustomize api/internal/plugins/execplugin/execplugin.go,
//! `ExecPlugin.Transform`, `invokePlugin`); `PATH`, `argv[0]`, ends in the
//! kind. Here the stream goes through `gpuops_inject::run_plugin`, the same
//! call `gpuops-inject CONFIG_FILE` makes, with the same model sources
//! (a model directory under kustomize's working directory, the catalog,
//! the local Hugging Face cache): a render reads the same whether the
//! function, the Argo CD sidecar or gpufit runs it.
#![allow(clippy::print_stderr)] // the plugin's own stderr, which kustomize shows

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::Path;

use gpuops_manifest::krm::Severity;
use gpuops_model::resolve::Resolver;

/// The file `check -k` names for the plugin's warnings: kustomize keeps a
/// plugin's stderr to itself unless the plugin fails
/// (execplugin.go `invokePlugin`: `cmd.Stderr` is a buffer only wrapped
/// into the error), and a GpuProfile that selected nothing must not go
/// unseen. kustomize passes its environment on to the plugin (`getEnv`).
pub(crate) const WARNINGS_FILE: &str = "GPUFIT_KUSTOMIZE_WARNINGS";

fn warn(warnings: &str) {
    if warnings.is_empty() {
        return;
    }
    let appended = std::env::var_os(WARNINGS_FILE).is_some_and(|path| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(Path::new(&path))
            .and_then(|mut f| f.write_all(warnings.as_bytes()))
            .is_ok()
    });
    if !appended {
        eprint!("{warnings}");
    }
}

/// When `argv[0]` names one of gpuops' plugin kinds, run as that plugin and
/// return its exit code; otherwise `None` (gpufit runs as itself).
pub fn run_if_invoked(args: &[OsString]) -> Option<u8> {
    let name = Path::new(args.first()?).file_name()?.to_str()?;
    gpuops_inject::PLUGIN_KINDS.iter().any(|(_, kind)| *kind == name).then(|| run(args.get(1)))
}

fn run(config_file: Option<&OsString>) -> u8 {
    let Some(config_file) = config_file else {
        eprintln!("gpufit (as a kustomize plugin): no config file argument");
        return 1;
    };
    let name = Path::new(config_file).display().to_string();
    let config = match std::fs::read_to_string(config_file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("gpufit (as a kustomize plugin): reading config {name}: {e}");
            return 1;
        }
    };
    let mut stream = String::new();
    if let Err(e) = std::io::stdin().lock().read_to_string(&mut stream) {
        eprintln!("gpufit (as a kustomize plugin): reading stdin: {e}");
        return 1;
    }
    let root = std::env::current_dir().ok();
    let cache = gpuops_model::hfconfig::hub_cache(|k| std::env::var_os(k));
    let models = Resolver::offline(root.as_deref(), cache.as_deref());
    match gpuops_inject::run_plugin(&config, &name, &stream, &models) {
        Ok((output, results)) => {
            let warnings: String =
                results.iter().filter(|r| r.severity == Severity::Warning).map(|r| r.to_line() + "\n").collect();
            warn(&warnings);
            let mut out = std::io::stdout().lock();
            match out.write_all(output.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => 0,
                Err(e) => {
                    eprintln!("gpufit (as a kustomize plugin): writing output: {e}");
                    1
                }
            }
        }
        Err(e) => {
            eprintln!("gpufit (as a kustomize plugin): {e}");
            1
        }
    }
}
