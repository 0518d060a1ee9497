//! The cmp-server stand-in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).ancestors().nth(2).unwrap().to_path_buf()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// plugin.yaml, as `ReadPluginConfig` reads it (non-strict).
pub(crate) struct Plugin {
    pub(crate) name: String,
    pub(crate) generate: Vec<String>,
    pub(crate) parameters: Vec<String>,
}

fn command(v: &Value) -> Vec<String> {
    let strings = |key: &str| -> Vec<String> {
        v.get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect()
    };
    let mut argv = strings("command");
    argv.extend(strings("args"));
    argv
}

impl Plugin {
    pub(crate) fn load() -> Self {
        let text = std::fs::read_to_string(repo_root().join("plugins/argocd-cmp/plugin.yaml")).unwrap();
        let v = gpuops_manifest::yaml::parse_stream(&text, "plugin.yaml").unwrap().remove(0).value;
        assert_eq!(v["kind"], "ConfigManagementPlugin");
        assert!(v.pointer("/spec/discover").is_none(), "no discovery: see plugin.yaml");
        let name = format!("{}-{}", v["metadata"]["name"].as_str().unwrap(), v["spec"]["version"].as_str().unwrap());
        Plugin {
            name,
            generate: command(&v["spec"]["generate"]),
            parameters: command(v.pointer("/spec/parameters/dynamic").unwrap()),
        }
    }
}

/// Which call Argo CD makes decides the env (reference §2.2).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    Generate,
    Parameters,
    Discovery,
}

/// One Application's source as the harness feeds it.
#[derive(Clone, Default)]
pub(crate) struct Source {
    pub(crate) path: String,
    /// `spec.source.plugin.parameters` (Argo CD's JSON, keys sorted).
    pub(crate) parameters: Option<Value>,
    /// `spec.source.plugin.env`.
    pub(crate) env: BTreeMap<String, String>,
}

impl Source {
    pub(crate) fn at(path: &str) -> Self {
        Source { path: path.into(), ..Source::default() }
    }

    pub(crate) fn with(mut self, parameters: Value) -> Self {
        self.parameters = Some(parameters);
        self
    }

    /// The source of an Application (or an ApplicationSet's template).
    pub(crate) fn of_application(app: &Value) -> Self {
        let source = app.pointer("/spec/source").or_else(|| app.pointer("/spec/template/spec/source")).unwrap();
        let plugin = &source["plugin"];
        assert_eq!(plugin["name"], Plugin::load().name, "the Application names the plugin as gpuops-v1");
        let env = plugin["env"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| (e["name"].as_str().unwrap().to_string(), e["value"].as_str().unwrap().to_string()))
            .collect();
        // Argo CD re-marshals each parameter with sorted keys (types.go MarshalJSON).
        let parameters = plugin.get("parameters").map(|list| {
            Value::Array(
                list.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| {
                        let sorted: BTreeMap<String, Value> =
                            p.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                        serde_json::to_value(sorted).unwrap()
                    })
                    .collect(),
            )
        });
        Source { path: source["path"].as_str().unwrap().to_string(), parameters, env }
    }
}

/// `/tmp/_cmp_server/<uuid>/`: the repository as the tarball delivers it.
pub(crate) struct Workspace {
    _dir: tempfile::TempDir,
    pub(crate) root: PathBuf,
    plugin_home: PathBuf,
    home: PathBuf,
}

fn copy_normalised(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_normalised(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// The function binary, built beside this package's binary.
fn function_binary() -> PathBuf {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_argocd-gpuops-cmp"));
    let function = ours.with_file_name("gpuops-inject");
    if !function.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "gpuops-inject-function"])
            .current_dir(repo_root())
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p gpuops-inject-function");
    }
    function
}

impl Workspace {
    /// A copy of the repository's `examples/` (and any extra files).
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root =
            dir.path().join("_cmp_server").join(format!("{:x}", std::process::id() as u64 * 7919 + rand_suffix()));
        copy_normalised(&repo_root().join("examples"), &root.join("examples"));
        let plugin_home = dir.path().join("plugin-home");
        let out = Command::new(function_binary()).args(["install-plugin", "--dir"]).arg(&plugin_home).output().unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).unwrap();
        Workspace { _dir: dir, root, plugin_home, home }
    }

    /// Write a file into the repository copy.
    pub(crate) fn write(&self, path: &str, content: &str) {
        let file = self.root.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }

    /// The argv, cwd and env the cmp-server would use; not yet started.
    pub(crate) fn command(&self, argv: &[String], source: &Source, profile: Profile) -> Command {
        let ours = PathBuf::from(env!("CARGO_BIN_EXE_argocd-gpuops-cmp"));
        let mut path = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect::<Vec<_>>();
        path.insert(0, ours.parent().unwrap().to_path_buf());
        let mut cmd = Command::new(&argv[0]);
        cmd.args(&argv[1..]).current_dir(self.root.join(&source.path)).env_clear();
        // The sidecar's own environment.
        cmd.env("PATH", std::env::join_paths(path).unwrap())
            .env("HOME", &self.home)
            .env("KUSTOMIZE_PLUGIN_HOME", &self.plugin_home);
        let build = [
            ("ARGOCD_APP_NAME", "gpu-app"),
            ("ARGOCD_APP_NAMESPACE", "ml"),
            ("ARGOCD_APP_PROJECT_NAME", "default"),
            ("ARGOCD_APP_REVISION", "0123456789abcdef0123456789abcdef01234567"),
            ("ARGOCD_APP_REVISION_SHORT", "0123456"),
            ("ARGOCD_APP_REVISION_SHORT_8", "01234567"),
            ("ARGOCD_APP_SOURCE_REPO_URL", "https://github.com/gpuops/gpuops.git"),
            ("ARGOCD_APP_SOURCE_PATH", source.path.as_str()),
            ("ARGOCD_APP_SOURCE_TARGET_REVISION", "main"),
        ];
        let reduced = [
            "ARGOCD_APP_NAME",
            "ARGOCD_APP_SOURCE_REPO_URL",
            "ARGOCD_APP_SOURCE_PATH",
            "ARGOCD_APP_SOURCE_TARGET_REVISION",
        ];
        for (k, v) in build {
            if profile != Profile::Parameters || reduced.contains(&k) {
                cmd.env(k, v);
            }
        }
        if profile == Profile::Generate {
            cmd.env("KUBE_VERSION", "1.33.2").env("KUBE_API_VERSIONS", "v1,apps/v1,serving.kserve.io/v1beta1");
        }
        if profile != Profile::Discovery {
            for (k, v) in &source.env {
                cmd.env(format!("ARGOCD_ENV_{k}"), v);
            }
            // Always present with a plugin: block; `null` for no parameters.
            let parameters = source.parameters.clone().unwrap_or(Value::Null);
            cmd.env("ARGOCD_APP_PARAMETERS", parameters.to_string());
            for p in parameters.as_array().into_iter().flatten() {
                let esc = |s: &str| {
                    s.to_ascii_uppercase()
                        .chars()
                        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' })
                        .collect::<String>()
                };
                let name = esc(p["name"].as_str().unwrap());
                if let Some(s) = p["string"].as_str() {
                    cmd.env(format!("PARAM_{name}"), s);
                }
                for (i, item) in p["array"].as_array().into_iter().flatten().enumerate() {
                    cmd.env(format!("PARAM_{name}_{i}"), item.as_str().unwrap());
                }
                for (k, v) in p["map"].as_object().into_iter().flatten() {
                    cmd.env(format!("PARAM_{name}_{}", esc(k)), v.as_str().unwrap());
                }
            }
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd
    }

    pub(crate) fn run(&self, argv: &[String], source: &Source, profile: Profile) -> Output {
        self.command(argv, source, profile).output().unwrap()
    }

    pub(crate) fn generate(&self, source: &Source) -> Output {
        self.run(&Plugin::load().generate, source, Profile::Generate)
    }
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos() as u64
}

/// stdout as Argo CD reads it (gitops-engine `SplitYAMLToString`, then the
/// repo-server's List expansion): a YAML or JSON stream, empty and `null`
/// documents skipped, `kind: *List` expanded into its items.
pub(crate) fn manifests(stdout: &[u8]) -> Vec<Value> {
    let text = text(stdout);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let docs = gpuops_manifest::yaml::parse_stream(text, "stdout").expect("Argo CD could not unmarshal the manifests");
    gpuops_manifest::input::flatten_lists(docs.into_iter().map(|d| d.value).filter(|v| !v.is_null()).collect())
}

pub(crate) fn parameters(list: &[(&str, Value)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(name, value)| {
                let mut p = json!({"name": name});
                match value {
                    Value::String(_) => p["string"] = value.clone(),
                    Value::Array(_) => p["array"] = value.clone(),
                    _ => p["map"] = value.clone(),
                }
                p
            })
            .collect(),
    )
}

/// Processes whose command line carries `marker` (a unique number a test's
/// stand-in puts in its argv): what is left running after a render.
pub(crate) fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .filter(|c| String::from_utf8_lossy(c).contains(marker))
        .count()
}
