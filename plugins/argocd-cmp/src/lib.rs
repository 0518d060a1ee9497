//! `argocd-gpuops-cmp`: an Argo CD Config Management Plugin (v2 sidecar).
//!
//! * `generate` renders the app directory (cwd) with kustomize, the gpuops
//!   function installed as a legacy exec plugin, applies the Application's
//!   GPU/model parameters in process with the function's own code, runs the
//!   optional fit gate, and prints one deterministic YAML stream.
//! * `parameters` prints the announcements for the UI's Parameters tab.
//! * `self-check` says whether the sidecar is wired the way Argo CD expects.
//!
//! The contract followed is argo-cd v3.5's code, where its docs disagree
//! too: `cmpserver/plugin/plugin.go` (how the command runs, its deadline
//! and process group), `cmpserver/plugin/config.go` (`plugin.yaml`),
//! `reposerver/repository/repository.go` (what the repo-server hands the
//! sidecar and does with its output).

pub mod announce;
pub mod directory;
pub mod env;
pub mod flags;
mod gate;
pub mod guard;
pub mod render;
pub mod root;
pub mod run;
mod selfcheck;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use gpuops_manifest::input::{InputError, Kustomizer};

pub use selfcheck::self_check;

/// Why a command failed. Messages are one line where they can be, name the
/// parameter, setting, file or object, and never carry manifest content:
/// Argo CD shows all of stderr in its UI and caches it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Parameters(String),
    /// A variable the plugin reads is unusable (named, its value never shown).
    #[error("environment: {0}")]
    Environment(String),
    #[error("setting {name}: {message}")]
    Setting { name: &'static str, message: String },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    Guard(#[from] guard::Refusal),
    /// A file of a plain-directory app Argo CD's Directory source would refuse.
    #[error("app directory: {0}")]
    Directory(String),
    #[error("cannot run {0}")]
    Spawn(String),
    #[error(
        "{command}: stopped: the render is larger than {mib} MiB, Argo CD's message limit (ARGOCD_GRPC_MAX_SIZE_MB)"
    )]
    TooLarge { command: String, mib: usize },
    #[error(
        "{0}: stopped at the plugin's deadline (GPUOPS_DEADLINE, else Argo CD's repo-server timeout less 10 s, default 50 s); raise Argo CD's timeout, or split the app"
    )]
    Deadline(String),
    #[error("{0}: stopped by SIGTERM (Argo CD's deadline or a pod shutdown); nothing was printed")]
    Terminated(String),
    #[error("{command} failed:\n{stderr}")]
    Kustomize { command: String, stderr: String },
    #[error("parameters: {0}")]
    Inject(String),
    #[error(
        "the render is empty: refusing to print nothing (with prune: true Argo CD would delete every resource); set the parameter allow-empty: \"true\" if that is meant"
    )]
    Empty,
    #[error("parameter capacity: {0}")]
    Capacity(String),
    #[error("fit gate: {0}")]
    Gate(String),
    #[error("fit gate (enforce): the render does not fit {cluster}:\n{explanation}")]
    DoesNotFit { cluster: String, explanation: String },
    #[error("writing the render: {0}")]
    Output(#[source] std::io::Error),
}

/// Exit codes: 0 success, 1 any failure (Argo CD only distinguishes zero
/// from non-zero), 2 usage.
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

const DEFAULT_DEADLINE: Duration = Duration::from_secs(50);

/// The callers' repo-server RPC timeouts, as the sidecar's own environment
/// carries them (the install overlay fills them from argocd-cmd-params-cm's
/// `controller.repo.server.timeout.seconds` and
/// `server.repo.server.timeout.seconds`, the keys argo-cd's own manifests
/// feed these variables from). The cmp-server runs the command under the
/// caller's gRPC deadline less 100 ms (argo-cd cmpserver/plugin/plugin.go
/// `generateManifestGeneric`, `cmpTimeoutBuffer`); the callers read them in
/// cmd/argocd-application-controller/commands/argocd_application_controller.go
/// and cmd/argocd-server/commands/argocd_server.go (`--repo-server-timeout-seconds`,
/// default 60, 0 = none).
const RPC_TIMEOUTS: [&str; 2] =
    ["ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS", "ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS"];

/// The part of the caller's timeout left to the repo-server and the
/// tarball transfer before the command starts.
const TRANSFER_MARGIN: Duration = Duration::from_secs(10);

/// The longest deadline (no RPC timeout at all).
const MAX_DEADLINE: Duration = Duration::from_secs(86_399);

/// `GPUOPS_DEADLINE` when set; else the shortest configured RPC timeout
/// less [`TRANSFER_MARGIN`], so a raised Argo CD timeout raises the
/// plugin's with it; else 50 s (Argo CD's 60 s default less the margin).
fn deadline(env: &env::Env) -> Result<Duration, Error> {
    if let Some(text) = env.setting("GPUOPS_DEADLINE")? {
        let seconds = text.strip_suffix('s').unwrap_or(text);
        return seconds
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s > 0.0 && *s < 86_400.0)
            .map(Duration::from_secs_f64)
            .ok_or_else(|| Error::Setting {
                name: "GPUOPS_DEADLINE",
                message: format!("{text:?} is not a number of seconds (e.g. 50 or 50s)"),
            });
    }
    let mut shortest: Option<Duration> = None;
    for name in RPC_TIMEOUTS {
        let Some(text) = env.text(name)?.filter(|t| !t.is_empty()) else { continue };
        let seconds: u64 = text.trim().parse().map_err(|_| Error::Setting {
            name,
            message: format!("{text:?} is not a whole number of seconds (Argo CD's --repo-server-timeout-seconds)"),
        })?;
        let timeout = if seconds == 0 { MAX_DEADLINE } else { Duration::from_secs(seconds).min(MAX_DEADLINE) };
        shortest = Some(shortest.map_or(timeout, |s| s.min(timeout)));
    }
    Ok(shortest.map_or(DEFAULT_DEADLINE, |t| t.saturating_sub(TRANSFER_MARGIN).max(Duration::from_secs(1))))
}

/// kubectl's built-in kustomize by default; `GPUOPS_KUSTOMIZE` names a
/// standalone `kustomize` binary instead, `GPUOPS_KUBECTL` another kubectl.
/// Which program runs is the operator's choice: read from the sidecar's
/// own environment only, never from an Application's `plugin.env`.
pub fn kustomizer() -> Kustomizer {
    match env::sidecar_setting("GPUOPS_KUSTOMIZE") {
        Some(path) => Kustomizer::Standalone(PathBuf::from(path)),
        None => Kustomizer::Kubectl(PathBuf::from(
            env::sidecar_setting("GPUOPS_KUBECTL").unwrap_or_else(|| "kubectl".into()),
        )),
    }
}

fn has_kustomization(dir: &Path) -> bool {
    announce::kustomization_in(dir).is_some()
}

/// A GpuProfile and/or ModelTags config from the parameters, decoded (and
/// so validated) by the function's own decoder.
fn inject_configs(params: &env::Parameters) -> Result<Vec<gpuops_inject::InjectConfig>, Error> {
    let mut selector = serde_json::Map::new();
    for (param, key) in
        [("selector-kinds", "kinds"), ("selector-names", "names"), ("selector-namespaces", "namespaces")]
    {
        if let Some(values) = params.array(param) {
            selector.insert(key.into(), json!(values));
        }
    }
    if let Some(labels) = params.map("selector-labels") {
        selector.insert("labels".into(), json!(labels));
    }
    let mut configs = Vec::new();
    if let Some(count) = params.string("gpu-count") {
        // `auto`: the smallest count at which the model fits gpu-product.
        let count = match count.trim() {
            "auto" => json!("auto"),
            n => json!(n.parse::<u32>().map_err(|_| {
                Error::Parameters(format!("parameter gpu-count: {count:?} is not a whole number of GPUs or auto"))
            })?),
        };
        let mut gpu = json!({"count": count});
        if let Some(resource) = params.string("gpu-resource") {
            gpu["resource"] = json!(resource);
        }
        if let Some(product) = params.string("gpu-product") {
            gpu["product"] = json!(product);
        }
        let profile = json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile",
            "metadata": {"name": "argocd-parameters"}, "spec": {"selector": selector, "gpu": gpu}});
        configs.push(profile);
    } else {
        for orphan in ["gpu-resource", "gpu-product"] {
            if params.string(orphan).is_some() {
                return Err(Error::Parameters(format!("parameter {orphan} needs gpu-count as well")));
            }
        }
    }
    if let Some(tags) = params.map("model-tags") {
        let models: Vec<Value> = tags.iter().map(|(name, tag)| json!({"name": name, "newTag": tag})).collect();
        configs.push(json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "ModelTags",
            "metadata": {"name": "argocd-parameters"}, "spec": {"models": models}}));
    }
    configs
        .iter()
        .map(|c| match gpuops_inject::decode(c) {
            Ok(Some(config)) => Ok(config),
            Ok(None) => Err(Error::Inject("no configuration".into())),
            // "GpuProfile/argocd-parameters: spec.gpu.count: …" names the field the parameter fills.
            Err(e) => Err(Error::Inject(e.to_string())),
        })
        .collect()
}

/// What `generate` prints on stdout and, for `warn`, on stderr.
pub struct Rendered {
    pub output: render::Output,
    pub warnings: String,
}

/// `generate` in `dir`, with the environment Argo CD gave (`env`), until
/// the deadline passes or `stop` is set: every step checks both, and an
/// interrupted render prints nothing.
pub fn generate(dir: &Path, env: &env::Env, stop: &run::Stop) -> Result<Rendered, Error> {
    let started = Instant::now();
    let budget = run::Budget::new(started + deadline(env)?, stop.clone());
    let env_warnings = env.check_app_env()?;
    let params = env.parameters()?;
    params.check()?;
    let gate = gate::gate(&params)?;
    let allow_empty = match params.string("allow-empty").unwrap_or("false") {
        "true" => true,
        "false" => false,
        other => {
            return Err(Error::Parameters(format!("parameter allow-empty: {other:?} is not \"true\" or \"false\"")));
        }
    };
    // The fit gate words its messages as this version of the scheduler
    // does; Argo CD passes the destination's version as KUBE_VERSION.
    let kube_version =
        match params.string("kube-version").map_or_else(|| env.setting("KUBE_VERSION"), |v| Ok(Some(v)))? {
            Some(version) => gpuops_schedule::cluster::KubeVersion::parse(version)
                .map_err(|problem| Error::Parameters(format!("parameter kube-version: {problem}")))?,
            None => gpuops_schedule::cluster::KubeVersion::default(),
        };
    let configs = inject_configs(&params)?;

    let repo = root::Repo::of(dir, env.text("ARGOCD_APP_SOURCE_PATH")?);
    // The cluster is read first: a bad capacity fails before any work.
    let cluster = match (gate, params.string("capacity")) {
        (gate::Gate::Off, _) => None,
        (_, Some(spec)) => Some(as_capacity(gate::capacity(dir, &repo, spec))?),
        (_, None) => {
            return Err(Error::Capacity(
                "required when fit-gate is warn or enforce (a file in the app, or pools like 2*8xH100-80GB)".into(),
            ));
        }
    };
    let max_render = run::max_render(env.text("ARGOCD_GRPC_MAX_SIZE_MB")?)?;
    // One resolver for `count: auto` and the fit gate, as gpufit sizes
    // models: the app's model directories, the catalog, the sidecar's
    // Hugging Face cache (an Application cannot point it elsewhere: its env
    // is ARGOCD_ENV_-prefixed).
    let root = std::env::current_dir().ok();
    let cache = gpuops_model::hfconfig::hub_cache(|k| std::env::var_os(k));
    let models = gpuops_model::resolve::Resolver::offline(root.as_deref(), cache.as_deref());
    let tallies = std::sync::Mutex::new(vec![gpuops_inject::Tally::default(); configs.len()]);
    let steps = render::Steps { configs: &configs, gate: cluster.is_some(), budget: &budget, models: &models, tallies };

    // Render.
    let (output, objects) = if has_kustomization(dir) {
        if let Some(name) = DIRECTORY_PARAMETERS.iter().find(|n| params.string(n).is_some()) {
            return Err(Error::Parameters(format!(
                "parameter {name}: only for a plain-directory app (this one has a kustomization)"
            )));
        }
        let kustomizer = kustomizer();
        // Repository content must not choose a program to run: check every
        // plugin config first; plugins are enabled only when one is needed.
        let verdict = guard::check_sidecar(dir)?;
        let extra = flags::from_sidecar()?;
        let what = kustomizer.describe(Path::new("."));
        let mut command = kustomizer.command_with(Path::new("."), verdict.alpha_plugins());
        // After the directory: kubectl's and kustomize's flag parsing
        // (cobra) takes flags anywhere on the line.
        command.args(&extra);
        let finished = run::run(command, &what, &budget, max_render)?;
        if !finished.success {
            let mut stderr = tail(&String::from_utf8_lossy(&finished.stderr));
            stderr.extend(verdict.note().map(|note| format!("\n{note}")));
            return Err(Error::Kustomize { command: what, stderr });
        }
        render::kustomized(finished.stdout, &steps)?
    } else {
        render::plain_directory(dir, &repo, &directory_options(&params)?, &steps)?
    };

    let no_match_warnings = steps.no_match()?;
    let mut output = output;
    let verdict = match cluster {
        Some(cluster) => gate::check(cluster, objects, kube_version, models, &budget)?,
        None => gate::Verdict { does_not_fit: None, warnings: Vec::new() },
    };
    let mut warnings = env_warnings.iter().chain(&no_match_warnings).map(|w| format!("{w}\n")).collect::<String>();
    if let Some(gate::DoesNotFit { cluster, explanation, .. }) = &verdict.does_not_fit
        && gate == gate::Gate::Enforce
    {
        return Err(Error::DoesNotFit { cluster: cluster.clone(), explanation: explanation.clone() });
    }
    // What the gate's "fits" assumed goes beside the function's own
    // warnings, in the annotation Argo CD's UI shows.
    output.annotate_appending(render::WARNINGS_ANNOTATION, &by_workload(verdict.warnings))?;
    if let Some(gate::DoesNotFit { cluster, explanation, findings }) = verdict.does_not_fit {
        // Argo CD keeps a successful command's stderr nowhere: the finding
        // is an annotation on each workload that does not fit, shown in the
        // app's desired manifest and diff.
        let capacity = gpuops_manifest::text::printable_prefix(&cluster, 120);
        let findings = findings.into_iter().map(|(workload, line)| (workload, format!("{line} (capacity {capacity})")));
        output.annotate(render::FIT_ANNOTATION, &by_workload(findings))?;
        warnings.push_str(&format!("fit gate (warn): the render does not fit {cluster}:\n{explanation}"));
    }
    if output.is_empty() && !allow_empty {
        return Err(Error::Empty);
    }
    budget.check("the render")?;
    Ok(Rendered { output, warnings })
}

/// Lines per `Kind/namespace/name`, in the order they came, one per line.
fn by_workload(lines: impl IntoIterator<Item = (String, String)>) -> std::collections::BTreeMap<String, String> {
    let mut annotations = std::collections::BTreeMap::<String, String>::new();
    for (workload, line) in lines {
        let entry = annotations.entry(workload).or_default();
        if !entry.is_empty() {
            entry.push('\n');
        }
        entry.push_str(&line);
    }
    annotations
}

/// The parameters of Argo CD's Directory source (`spec.source.directory`).
const DIRECTORY_PARAMETERS: [&str; 3] = ["directory-recurse", "directory-include", "directory-exclude"];

fn directory_options(params: &env::Parameters) -> Result<directory::Options, Error> {
    let recurse = match params.string("directory-recurse").unwrap_or("false") {
        "true" => true,
        "false" => false,
        other => {
            return Err(Error::Parameters(format!(
                "parameter directory-recurse: {other:?} is not \"true\" or \"false\""
            )));
        }
    };
    let glob = |name: &str| params.string(name).filter(|g| !g.is_empty()).map(String::from);
    Ok(directory::Options { recurse, include: glob("directory-include"), exclude: glob("directory-exclude") })
}

/// gpuops-fit words synthetic pools as kubectl-gpufit's `--nodes` flag;
/// here they are the `capacity` parameter, and a message naming a flag the
/// sidecar does not have sends the reader looking for it.
fn as_capacity(
    cluster: Result<gpuops_schedule::cluster::Cluster, Error>,
) -> Result<gpuops_schedule::cluster::Cluster, Error> {
    match cluster {
        Ok(mut cluster) => {
            if let Some(pools) = cluster.source.strip_prefix("--nodes ") {
                cluster.source = format!("capacity {pools}");
            }
            Ok(cluster)
        }
        Err(Error::Capacity(message)) => Err(Error::Capacity(match message.strip_prefix("--nodes ") {
            Some("describes no node") => "the pools describe no node".into(),
            Some(rest) => rest.to_string(),
            None => message,
        })),
        Err(other) => Err(other),
    }
}

/// The last lines of a tool's stderr: the error is at the end, and Argo CD
/// shows (and caches) all of what we print.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.trim().lines().collect();
    let keep = &lines[lines.len().saturating_sub(20)..];
    // kustomize quotes repository content (file names, field values):
    // escaped, so `argocd app get` in a terminal runs none of its escapes.
    keep.iter().map(|l| format!("  {}", gpuops_manifest::text::printable_prefix(l, 400))).collect::<Vec<_>>().join("\n")
}

/// `parameters` in `dir`: the announcements as a JSON array, from files
/// in the repository only.
pub fn parameters(dir: &Path, env: &env::Env) -> Result<String, Error> {
    let repo = root::Repo::of(dir, env.text("ARGOCD_APP_SOURCE_PATH")?);
    let mut text = announce::announcements(dir, &repo).to_string();
    text.push('\n');
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deadline_with(vars: &[(&str, &str)]) -> Result<Duration, Error> {
        deadline(&env::Env::from_vars_os(vars.iter().map(|(k, v)| ((*k).into(), (*v).into()))))
    }

    /// The deadline follows Argo CD's configured repo-server timeout (the
    /// shortest of the controller's and the API server's), 10 s below it;
    /// GPUOPS_DEADLINE still wins; before, it was 50 s whatever Argo CD's
    /// timeout was, so a raised timeout still cut renders at 50 s.
    #[test]
    fn the_deadline_follows_argo_cds_timeout() {
        let secs = |v: &[(&str, &str)]| deadline_with(v).unwrap().as_secs();
        assert_eq!(secs(&[]), 50);
        assert_eq!(secs(&[("ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS", "180")]), 170);
        assert_eq!(
            secs(&[
                ("ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS", "180"),
                ("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "120"),
            ]),
            110
        );
        assert_eq!(secs(&[("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "5")]), 1);
        assert_eq!(secs(&[("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "0")]), 86_389);
        assert_eq!(secs(&[("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "180"), ("GPUOPS_DEADLINE", "30")]), 30);
        let err = deadline_with(&[("ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS", "1m")]).unwrap_err().to_string();
        assert!(err.starts_with("setting ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS: \"1m\""), "{err}");
    }
}
