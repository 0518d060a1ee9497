//! `check -k`: the kustomization rendered as the Argo CD sidecar renders
//! it — `kubectl kustomize --enable-alpha-plugins` with gpuops' transformers
//! (`GpuProfile`, `ModelTags`) as kustomize legacy exec plugins from the
//! plugin home — without installing anything: the plugin home is a
//! temporary one where those two kinds are this binary
//! ([`crate::kustomize_plugin`] answers when kustomize runs it), and every
//! other plugin group of the user's own plugin home is linked in.
//!
//! kustomize runs each plugin at its own level of the build, so a
//! GpuProfile in a base applies before the overlay's patches, as in the
//! sidecar and with `gpuops-inject install-plugin`.

use std::path::Path;

use serde_json::Value;

use gpuops_inject::{PLUGIN_GROUP_VERSION, PLUGIN_KINDS};
use gpuops_manifest::input::{InputError, Kustomizer};

use crate::Error;

/// Render `dir` and parse the objects.
pub(crate) fn build(dir: &Path) -> Result<Vec<Value>, Error> {
    let kustomizer = Kustomizer::default();
    let described = kustomizer.describe(dir);
    // Before kubectl: its own words for these are a Go stack of wrappers.
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::PathMissing { path: dir.into() }),
        Ok(meta) if !meta.is_dir() => {
            return Err(kustomize_error(
                &described,
                "not a directory".into(),
                Some("-k takes a kustomization directory; read a manifest file with -f".into()),
            ));
        }
        _ => {}
    }
    let home = plugin_home()?;
    let warnings = home.path().join("warnings");
    let mut command = kustomizer.command(dir);
    command.env("KUSTOMIZE_PLUGIN_HOME", home.path()).env(crate::kustomize_plugin::WARNINGS_FILE, &warnings);
    tracing::debug!(command = %described, plugin_home = %home.path().display(), "running kustomize");
    let out = command.output().map_err(|e| {
        let hint = (e.kind() == std::io::ErrorKind::NotFound)
            .then(|| "-k runs `kubectl kustomize`: put kubectl on PATH, or render elsewhere and pass -f".to_string());
        kustomize_error(&described, format!("cannot run kubectl: {e}"), hint)
    })?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        let mut message = one_line(&stderr);
        if message.is_empty() {
            message = format!("kubectl exited with {} and said nothing", out.status);
        }
        let hint = hint(&message, dir);
        return Err(kustomize_error(&described, message, hint));
    }
    // What kustomize and the plugins warn about on success (deprecated
    // fields, a GpuProfile selecting nothing) is the user's to read.
    let plugins = std::fs::read_to_string(&warnings).unwrap_or_default();
    for line in stderr.lines().chain(plugins.lines()).filter(|l| !l.trim().is_empty()) {
        crate::render::eprint_line(&gpuops_manifest::text::printable(line));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let docs = gpuops_manifest::yaml::parse_stream(&text, &format!("kustomize build {}", dir.display()))
        .map_err(InputError::from)?;
    Ok(docs.into_iter().map(|d| d.value).collect())
}

fn kustomize_error(command: &str, message: String, hint: Option<String>) -> Error {
    Error::Kustomize {
        command: command.to_string(),
        message,
        hint: hint.map(|h| format!("\nhint: {h}")).unwrap_or_default(),
    }
}

/// A temporary kustomize plugin home: gpuops' kinds are this binary, and
/// each other plugin group of the user's plugin home (`KUSTOMIZE_PLUGIN_HOME`,
/// else `XDG_CONFIG_HOME/kustomize/plugin`, else `~/.config/kustomize/plugin`,
/// as kustomize looks) is linked in, so their plugins run as before.
fn plugin_home() -> Result<tempfile::TempDir, Error> {
    let io = |what: &str, e: std::io::Error| Error::PluginHome(format!("{what}: {e}"));
    let home =
        tempfile::Builder::new().prefix("gpufit-plugins-").tempdir().map_err(|e| io("temporary directory", e))?;
    let exe = std::env::current_exe().map_err(|e| io("locating this binary", e))?;
    for (dir, kind) in PLUGIN_KINDS {
        let at = home.path().join(PLUGIN_GROUP_VERSION).join(dir);
        std::fs::create_dir_all(&at).map_err(|e| io(&at.display().to_string(), e))?;
        link(&exe, &at.join(kind)).map_err(|e| io(kind, e))?;
    }
    let ours = PLUGIN_GROUP_VERSION.split('/').next().unwrap_or_default();
    if let Some(user) = gpuops_inject::default_plugin_home(|k| std::env::var_os(k))
        && let Ok(entries) = std::fs::read_dir(&user)
    {
        for entry in entries.flatten().filter(|e| e.file_name() != ours) {
            link(&entry.path(), &home.path().join(entry.file_name())).map_err(|e| io("linking the plugin home", e))?;
        }
    }
    Ok(home)
}

#[cfg(unix)]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::os::unix::fs::symlink(target, at)
}

#[cfg(not(unix))]
fn link(target: &Path, at: &Path) -> std::io::Result<()> {
    std::fs::copy(target, at).map(drop)
}

/// kustomize's error as one line: kubectl ≥ 1.31 logs it through klog
/// (`E1203 … run.go:72] "command failed" err="…"`, or `err=<` and indented
/// lines `>` for a multi-line one); older ones print `error: …`.
fn one_line(stderr: &str) -> String {
    let text = stderr.trim();
    let extracted = if let Some((_, quoted)) = text.rsplit_once(" err=\"") {
        unquote(quoted)
    } else if let Some((_, block)) = text.rsplit_once(" err=<") {
        block.trim_end().trim_end_matches('>').to_string()
    } else {
        let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
        last.trim().trim_start_matches("Error: ").trim_start_matches("error: ").to_string()
    };
    let mut joined = extracted.split_whitespace().collect::<Vec<_>>().join(" ");
    // A plugin's failure: its own message, then kustomize's wrapper naming
    // a temporary file (execplugin.go `invokePlugin`), which says nothing.
    if let Some(at) = joined
        .find(" : failure in plugin configured via ")
        .or_else(|| joined.find(": failure in plugin configured via "))
    {
        joined.truncate(at);
    }
    gpuops_manifest::text::printable_prefix(&joined, 600)
}

/// A Go `%q` string's content up to its closing quote.
fn unquote(quoted: &str) -> String {
    let mut out = String::new();
    let mut chars = quoted.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => break,
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some(other) => out.push(other),
                None => break,
            },
            c => out.push(c),
        }
    }
    out
}

/// What to do about a kustomize failure whose cause is known (kustomize
/// v5 api/krusty and api/internal/plugins/loader messages).
fn hint(message: &str, dir: &Path) -> Option<String> {
    let dir = dir.display();
    if message.contains("unable to find one of 'kustomization.yaml'") {
        return Some(format!("{dir} holds no kustomization.yaml: read its manifests with -f {dir}"));
    }
    if message.contains("must specify --enable-helm") {
        return Some(
            "helmCharts need `kubectl kustomize --enable-helm`, which gpufit does not run: render the chart with `helm template` and pass it with -f"
                .into(),
        );
    }
    if let Some(path) = between(message, "expected file with Go object code at: ", ".so") {
        let kind = Path::new(path).file_name().map(|k| k.to_string_lossy().into_owned()).unwrap_or_default();
        return Some(format!(
            "{kind} is a kustomize plugin gpufit does not bring (it brings gpuops.dev GpuProfile and ModelTags): install it under $KUSTOMIZE_PLUGIN_HOME"
        ));
    }
    if message.contains("couldn't execute function") {
        return Some(
            "a KRM function named in a config.kubernetes.io/function annotation could not run (a container function needs docker and its image); gpuops' GpuProfile and ModelTags without that annotation run from gpufit itself"
                .into(),
        );
    }
    if let Some(path) = between(message, "evalsymlink failure on '", "'")
        && message.contains("no such file or directory")
    {
        return Some(format!(
            "{path} does not exist (kustomization paths are relative to the kustomization's directory)"
        ));
    }
    if message.contains("is not in or below") {
        return Some("kustomize reads no file outside the kustomization's directory tree; list it as a resource of a kustomization that holds it".into());
    }
    if message.contains("already registered id") {
        return Some("two resources have the same kind, namespace and name".into());
    }
    if message.contains("git") && (message.contains("clone") || message.contains("fetch")) {
        return Some("a remote resource could not be fetched: check the URL, the network and git's credentials".into());
    }
    None
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// kubectl 1.32's klog line, the multi-line form, and the older `error:`.
    #[test]
    fn kustomize_errors_become_one_line() {
        let klog = "E1203 13:24:25.464546   25090 run.go:72] \"command failed\" err=\"unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '/tmp/kx/empty'\"\n";
        assert_eq!(
            one_line(klog),
            "unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '/tmp/kx/empty'"
        );
        let block = "E1203 13:25:02.301676   26436 run.go:72] \"command failed\" err=<\n\ttrouble configuring builtin HelmChartInflationGenerator with config: `\n\tname: x\n\t`: must specify --enable-helm\n >\n";
        assert_eq!(
            one_line(block),
            "trouble configuring builtin HelmChartInflationGenerator with config: ` name: x `: must specify --enable-helm"
        );
        assert_eq!(one_line("some noise\nerror: accumulating resources: boom\n"), "accumulating resources: boom");
        assert_eq!(unquote(r#"a \"b\" c" trailing"#), r#"a "b" c"#);
    }

    #[test]
    fn known_causes_have_a_hint() {
        let dir = Path::new("overlays/x");
        let missing = "accumulating resources: accumulation err='accumulating resources from 'nothere.yaml': evalsymlink failure on '/tmp/kx/missingres/nothere.yaml' : lstat /tmp/kx/missingres/nothere.yaml: no such file or directory'";
        assert_eq!(
            hint(missing, dir).unwrap(),
            "/tmp/kx/missingres/nothere.yaml does not exist (kustomization paths are relative to the kustomization's directory)"
        );
        let plugin = "expected file with Go object code at: /tmp/ph/example.com/v1/secretgen/SecretGen.so";
        assert!(hint(plugin, dir).unwrap().starts_with("SecretGen is a kustomize plugin gpufit does not bring"));
        assert!(
            hint("unable to find one of 'kustomization.yaml', 'kustomization.yml'", dir)
                .unwrap()
                .contains("-f overlays/x")
        );
        assert!(hint("couldn't execute function: exit status 125", dir).unwrap().contains("needs docker"));
        assert_eq!(hint("something new", dir), None);
    }
}
