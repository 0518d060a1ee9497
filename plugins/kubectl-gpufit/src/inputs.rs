//! Reading workloads and dumps: files, directories, stdin, kustomize builds.

use std::io::Read;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::Error;

fn parse(text: &str, source: &str) -> Result<Vec<Value>, Error> {
    gpuops_core::yaml::parse_stream(text, source)
        .map(|docs| docs.into_iter().map(|d| d.value).collect())
        .map_err(|e| Error::Input(e.to_string()))
}

fn manifest_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<(), Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::Input(format!("{}: {e}", dir.display())))?.path();
        if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if path.is_dir() {
            manifest_files(&path, out)?;
        } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml" | "json")) {
            out.push(path);
        }
    }
    Ok(())
}

/// Objects from a file, a directory (recursively: *.yaml, *.yml, *.json) or `-`.
pub(crate) fn read_path(path: &Path) -> Result<Vec<Value>, Error> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| Error::Input(format!("reading stdin: {e}")))?;
        return parse(&text, "<stdin>");
    }
    let mut files = Vec::new();
    if path.is_dir() {
        manifest_files(path, &mut files)?;
        files.sort();
    } else {
        files.push(path.to_path_buf());
    }
    let mut objects = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|e| Error::Input(format!("{}: {e}", file.display())))?;
        objects.extend(parse(&text, &file.display().to_string())?);
    }
    Ok(objects)
}

/// `kubectl kustomize --enable-alpha-plugins DIR`.
pub(crate) fn kustomize(dir: &Path) -> Result<Vec<Value>, Error> {
    let out = Command::new("kubectl")
        .args(["kustomize", "--enable-alpha-plugins"])
        .arg(dir)
        .output()
        .map_err(|e| Error::Input(format!("cannot run kubectl kustomize: {e}")))?;
    if !out.status.success() {
        return Err(Error::Input(format!(
            "kubectl kustomize {}: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    parse(&String::from_utf8_lossy(&out.stdout), &format!("kustomize build {}", dir.display()))
}

/// Give objects without a namespace `-n`'s (as `kubectl apply -n` would).
pub(crate) fn default_namespace(objects: &mut [Value], namespace: &str) {
    for obj in objects {
        if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.entry("namespace").or_insert_with(|| Value::String(namespace.to_string()));
        }
    }
}
