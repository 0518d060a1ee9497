//! Where manifests come from: files, directories (recursively), stdin, and
//! `kustomize build`. No kube client: the Argo CD plugin and the KRM
//! function can link this without a network stack.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::Value;

use crate::walk::{self, WalkError};
use crate::yaml::{self, YamlError};

/// A manifest input that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("reading stdin: {0}")]
    Stdin(#[source] std::io::Error),
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("cannot run {program}: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// kustomize ran and failed; its own message, trimmed.
    #[error("{command}: {stderr}")]
    Kustomize { command: String, stderr: String },
}

fn parse(text: &str, source: &str) -> Result<Vec<Value>, InputError> {
    Ok(yaml::parse_stream(text, source)?.into_iter().map(|d| d.value).collect())
}

/// Objects from a file, a directory (recursively: `*.yaml`, `*.yml`,
/// `*.json`, hidden entries skipped) or `-` for stdin.
pub fn read_path(path: &Path) -> Result<Vec<Value>, InputError> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(InputError::Stdin)?;
        return parse(&text, "<stdin>");
    }
    let mut objects = Vec::new();
    for file in walk::files(path, |p| walk::is_manifest(p, true))? {
        let text = std::fs::read_to_string(&file).map_err(|source| InputError::Read { path: file.clone(), source })?;
        objects.extend(parse(&text, &file.display().to_string())?);
    }
    Ok(objects)
}

/// A file's bytes, memory-mapped when it is large: a 35 MB cluster dump is
/// then read straight from the page cache instead of being copied into
/// freshly zeroed heap pages (measured: the copy and its page faults were a
/// fifth of `gpufit check --cluster-file` on 60,000 pods).
pub enum FileBytes {
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl std::ops::Deref for FileBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            FileBytes::Mapped(m) => m,
            FileBytes::Read(v) => v,
        }
    }
}

/// Read `path`, mapping it when it is a regular file of 1 MiB or more.
pub fn read_bytes(path: &Path) -> Result<FileBytes, InputError> {
    let io = |source| InputError::Read { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if meta.is_file() && meta.len() >= 1 << 20 {
        // SAFETY: the map is read-only and private to this process. If
        // another process truncates the file while it is mapped, reading the
        // lost pages raises SIGBUS; ripgrep accepts the same risk for the same
        // gain, and a dump being rewritten under a running check is already
        // an inconsistent input.
        #[allow(unsafe_code)]
        let map = unsafe { memmap2::Mmap::map(&file) };
        if let Ok(map) = map {
            return Ok(FileBytes::Mapped(map));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    std::io::Read::read_to_end(&mut &file, &mut bytes).map_err(io)?;
    Ok(FileBytes::Read(bytes))
}

/// Which program renders a kustomization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kustomizer {
    /// `kubectl kustomize` (kubectl ships kustomize built in).
    Kubectl(PathBuf),
    /// A standalone `kustomize` binary: `kustomize build`.
    Standalone(PathBuf),
}

impl Default for Kustomizer {
    fn default() -> Self {
        Kustomizer::Kubectl(PathBuf::from("kubectl"))
    }
}

impl Kustomizer {
    /// The argv of a build of `dir`, alpha plugins enabled (legacy exec
    /// plugins and KRM functions need it).
    pub fn command(&self, dir: &Path) -> Command {
        self.command_with(dir, true)
    }

    /// The argv of a build of `dir`; `alpha_plugins` adds
    /// `--enable-alpha-plugins`. Without it kustomize runs its builtins
    /// only and refuses every other plugin config itself (kustomize:
    /// api/internal/plugins/loader/loader.go, `loadAndConfigurePlugin`,
    /// `PluginRestrictionsBuiltinsOnly`).
    pub fn command_with(&self, dir: &Path, alpha_plugins: bool) -> Command {
        let mut command = match self {
            Kustomizer::Kubectl(program) => {
                let mut c = Command::new(program);
                c.arg("kustomize");
                c
            }
            Kustomizer::Standalone(program) => {
                let mut c = Command::new(program);
                c.arg("build");
                c
            }
        };
        if alpha_plugins {
            command.arg("--enable-alpha-plugins");
        }
        command.arg(dir);
        command
    }

    /// How the user would type it, for messages.
    pub fn describe(&self, dir: &Path) -> String {
        match self {
            Kustomizer::Kubectl(p) => format!("{} kustomize {}", p.display(), dir.display()),
            Kustomizer::Standalone(p) => format!("{} build {}", p.display(), dir.display()),
        }
    }

    /// Render `dir` and return the YAML stream kustomize printed.
    pub fn build_text(&self, dir: &Path) -> Result<String, InputError> {
        let described = self.describe(dir);
        let started = Instant::now();
        tracing::debug!(command = %described, "running kustomize");
        let out =
            self.command(dir).output().map_err(|source| InputError::Spawn { program: described.clone(), source })?;
        tracing::debug!(command = %described, elapsed = ?started.elapsed(), status = %out.status, "kustomize finished");
        if !out.status.success() {
            return Err(InputError::Kustomize {
                command: described,
                stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Render `dir` and parse the objects.
    pub fn build(&self, dir: &Path) -> Result<Vec<Value>, InputError> {
        let text = self.build_text(dir)?;
        parse(&text, &format!("kustomize build {}", dir.display()))
    }
}

/// Give objects without a namespace this one (as `kubectl apply -n` would).
pub fn default_namespace(objects: &mut [Value], namespace: &str) {
    for obj in objects {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.entry("namespace").or_insert_with(|| Value::String(namespace.to_string()));
        }
    }
}

/// Flatten `kind: List` (and `*List`) objects into their items, giving
/// items of typed lists (`NodeList`) the kind the API omits.
pub fn flatten_lists(objects: Vec<Value>) -> Vec<Value> {
    let mut out = Vec::with_capacity(objects.len());
    for mut obj in objects {
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        let is_list = (kind == "List" || kind.ends_with("List")) && obj.get("items").is_some_and(Value::is_array);
        if !is_list {
            out.push(obj);
            continue;
        }
        // Move the items out: a dump of 60,000 pods must not be copied.
        let Some(Value::Array(items)) = obj.get_mut("items").map(std::mem::take) else { continue };
        let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty()).map(str::to_string);
        for mut item in items {
            if let (Some(k), Some(map)) = (&item_kind, item.as_object_mut()) {
                map.entry("kind").or_insert_with(|| Value::String(k.clone()));
            }
            out.push(item);
        }
    }
    out
}
