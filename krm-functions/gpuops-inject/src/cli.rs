//! The three entry points, reading stdin and printing results.

use std::io::{self, Read, Write};
use std::path::PathBuf;

use gpuops_inject::{self as inject, PLUGIN_GROUP_VERSION};
use gpuops_manifest::krm::Severity;
use gpuops_model::resolve::Resolver;

const USAGE: &str = "\
gpuops-inject: inject GPU resources and model tags into Kubernetes manifests.

Usage:
  gpuops-inject < resource-list.yaml       KRM function (kpt fn render/eval; standalone
                                            `kustomize build --enable-alpha-plugins --enable-exec`
                                            for a config.kubernetes.io/function exec binding:
                                            `kubectl kustomize` has no --enable-exec and skips it
                                            without a word, so use the legacy plugin there)
  gpuops-inject CONFIG_FILE < stream.yaml   kustomize legacy exec plugin (argv[1] = plugin config;
                                            `kubectl kustomize --enable-alpha-plugins`)
  gpuops-inject install-plugin [--dir DIR]  install as a kustomize legacy exec plugin
                                            (default DIR: $KUSTOMIZE_PLUGIN_HOME, else
                                            $XDG_CONFIG_HOME/kustomize/plugin)

Config kinds (apiVersion gpuops.dev/v1alpha1): GpuProfile, ModelTags; or a v1 ConfigMap.
spec.onNoMatch (warn | error): a selector, model or field that matches nothing. Default:
  warn as a KRM function (results are shown), error as a legacy plugin (kustomize shows a
  plugin's stderr only when it fails).
Warnings about an object: KRM results (and stderr); as a legacy plugin also a line each in the
  object's gpuops.dev/warnings annotation (kustomize shows a plugin's stderr only when it fails).
Exit codes: 0 success, 1 an error result or unreadable input, 2 usage error.
";

pub(crate) fn usage(code: u8) -> u8 {
    if code == 0 {
        print!("{USAGE}");
    } else {
        eprint!("{USAGE}");
    }
    code
}

pub(crate) fn version() -> u8 {
    println!("gpuops-inject {}", env!("CARGO_PKG_VERSION"));
    0
}

fn read_stdin() -> io::Result<String> {
    let mut input = String::new();
    io::stdin().lock().read_to_string(&mut input)?;
    Ok(input)
}

fn write_stdout(text: &str) -> u8 {
    let mut out = io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => 0,
        // A closed pipe is the reader's choice, not our failure.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("gpuops-inject: writing output: {e}");
            1
        }
    }
}

/// Where `count: auto` looks for a model, as gpufit does: a model
/// directory under the working directory (kustomize runs the function in
/// the kustomization's), the catalog, then the Hugging Face cache this
/// process's environment names (`HF_HUB_CACHE`, `HF_HOME`, ...).
fn models() -> Resolver<'static> {
    let root = std::env::current_dir().ok();
    let cache = gpuops_model::hfconfig::hub_cache(|k| std::env::var_os(k));
    Resolver::offline(root.as_deref(), cache.as_deref())
}

pub(crate) fn krm_function() -> u8 {
    let input = match read_stdin() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("gpuops-inject: reading stdin: {e}");
            return 1;
        }
    };
    match inject::run_resource_list(&input, &models()) {
        Ok(run) => {
            // Results also go to stderr: kustomize ignores `results`, and
            // shows stderr to the user.
            for r in run.results.iter().filter(|r| r.severity != Severity::Info) {
                eprintln!("{}", r.to_line());
            }
            let written = write_stdout(&run.output);
            // The process ends next: the OS takes the parsed objects back
            // at once, where freeing them one by one costs more than a
            // tenth of the run on a large list (FunctionRun::list).
            std::mem::forget(run.list);
            u8::try_from(run.exit_code).unwrap_or(1).max(written)
        }
        Err(e) => {
            eprintln!("gpuops-inject: {e}");
            1
        }
    }
}

pub(crate) fn legacy_plugin(config_file: &str) -> u8 {
    let config = match std::fs::read_to_string(config_file) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("gpuops-inject: reading config {config_file}: {e}");
            return 1;
        }
    };
    let stream = match read_stdin() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("gpuops-inject: reading stdin: {e}");
            return 1;
        }
    };
    // kustomize shows a legacy plugin's stderr only when it fails: a
    // warning here is seen by nobody, so matching nothing is an error
    // unless the config says `onNoMatch: warn`, and a warning about an
    // object also goes into its gpuops.dev/warnings annotation.
    match inject::run_legacy_plugin(&config, config_file, &stream, &models()) {
        Ok((output, results)) => {
            for r in results.iter().filter(|r| r.severity == Severity::Warning) {
                eprintln!("{}", r.to_line());
            }
            write_stdout(&output)
        }
        Err(e) => {
            eprintln!("gpuops-inject: {e}");
            1
        }
    }
}

pub(crate) fn install(args: &[String]) -> u8 {
    let dir = match args {
        [] => inject::default_plugin_home(|k| std::env::var_os(k)),
        [flag, dir] if flag == "--dir" => Some(PathBuf::from(dir)),
        [flag] if flag.starts_with("--dir=") => Some(PathBuf::from(&flag["--dir=".len()..])),
        _ => {
            eprintln!("gpuops-inject: install-plugin takes only --dir DIR");
            return usage(2);
        }
    };
    let Some(home) = dir else {
        eprintln!("gpuops-inject: no plugin home: set --dir, KUSTOMIZE_PLUGIN_HOME, XDG_CONFIG_HOME or HOME");
        return 2;
    };
    let binary = match std::env::current_exe() {
        Ok(path) => path,
        Err(e) => {
            eprintln!("gpuops-inject: cannot locate own binary: {e}");
            return 1;
        }
    };
    match inject::install_plugin(&home, &binary) {
        Ok(paths) => {
            for path in paths {
                println!("installed {}", path.display());
            }
            println!("use with: kubectl kustomize --enable-alpha-plugins (apiVersion: {PLUGIN_GROUP_VERSION})");
            0
        }
        Err(e) => {
            eprintln!("gpuops-inject: installing plugin in {}: {e}", home.display());
            1
        }
    }
}
