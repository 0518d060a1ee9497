//! `self-check`: is this sidecar wired the way Argo CD expects? Answers the
//! questions CMP users keep asking (reference §6, #5): which `plugin.name`
//! to write, which socket the repo-server dials, which uid, which mounts.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// The report and whether everything needed is there.
pub fn self_check(config_dir: &Path) -> (String, bool) {
    let mut out = String::new();
    let mut ok = true;
    let mut line = |good: bool, what: String, fix: &str| {
        let _ = writeln!(out, "{} {what}", if good { "ok  " } else { "FAIL" });
        if !good {
            let _ = writeln!(out, "     fix: {fix}");
        }
        ok &= good;
    };
    let mut notes = Vec::new();

    let plugin_yaml = config_dir.join("plugin.yaml");
    let plugin = std::fs::read_to_string(&plugin_yaml)
        .ok()
        .and_then(|t| gpuops_manifest::yaml::parse_stream(&t, "plugin.yaml").ok())
        .and_then(|d| d.into_iter().next())
        .map(|d| d.value);
    let name = plugin.as_ref().and_then(|p| p.pointer("/metadata/name")).and_then(Value::as_str).map(str::to_string);
    let version = plugin.as_ref().and_then(|p| p.pointer("/spec/version")).and_then(Value::as_str).map(str::to_string);
    let full = match (&name, &version) {
        (Some(n), Some(v)) if !v.is_empty() => format!("{n}-{v}"),
        (Some(n), _) => n.clone(),
        _ => String::new(),
    };
    line(
        name.is_some(),
        format!(
            "plugin.yaml: {} (metadata.name {:?}, spec.version {:?})",
            plugin_yaml.display(),
            name.as_deref().unwrap_or(""),
            version.as_deref().unwrap_or("")
        ),
        "bake plugin.yaml into the image at /home/argocd/cmp-server/config/plugin.yaml (or mount it with subPath)",
    );
    if !full.is_empty() {
        notes.push(format!("Applications use: spec.source.plugin.name: {full}"));
    }
    let sockets =
        std::env::var("ARGOCD_PLUGINSOCKFILEPATH").unwrap_or_else(|_| "/home/argocd/cmp-server/plugins".into());
    let sockets = PathBuf::from(sockets);
    line(
        is_writable_dir(&sockets),
        format!("socket: {}/{full}.sock (the repo-server lists *.sock there)", sockets.display()),
        "mount the repo-server's `plugins` emptyDir at /home/argocd/cmp-server/plugins (or set ARGOCD_PLUGINSOCKFILEPATH on both containers)",
    );
    let uid = rustix::process::getuid().as_raw();
    line(uid == 999, format!("uid: {uid}"), "run the sidecar with securityContext runAsNonRoot: true, runAsUser: 999");
    let entrypoint = Path::new("/var/run/argocd/argocd-cmp-server");
    line(
        entrypoint.exists(),
        format!("entrypoint: {}", entrypoint.display()),
        "mount the repo-server's `var-files` emptyDir at /var/run/argocd and use it as the command",
    );
    let tmp = std::env::temp_dir();
    line(
        is_writable_dir(&tmp),
        format!("temp dir: {} (writable)", tmp.display()),
        "give the sidecar its own /tmp emptyDir (never the repo-server's)",
    );

    let kustomizer = crate::kustomizer();
    let mut version_command = match &kustomizer {
        gpuops_manifest::input::Kustomizer::Kubectl(p) => {
            let mut c = std::process::Command::new(p);
            c.args(["version", "--client"]);
            c
        }
        gpuops_manifest::input::Kustomizer::Standalone(p) => {
            let mut c = std::process::Command::new(p);
            c.arg("version");
            c
        }
    };
    let version = version_command.output().ok().filter(|o| o.status.success()).map(|o| {
        let text = String::from_utf8_lossy(&o.stdout).into_owned();
        text.lines()
            .find(|l| l.to_ascii_lowercase().contains("kustomize"))
            .unwrap_or(text.lines().next().unwrap_or(""))
            .trim()
            .to_string()
    });
    line(
        version.is_some(),
        format!("kustomize: {} ({})", kustomizer.describe(Path::new("DIR")), version.as_deref().unwrap_or("not found")),
        "copy kubectl into the image (or a standalone kustomize, and set GPUOPS_KUSTOMIZE to its path)",
    );
    let home = gpuops_inject::default_plugin_home(|k| std::env::var_os(k))
        .unwrap_or_else(|| PathBuf::from("<no plugin home>"));
    let function = home.join("gpuops.dev/v1alpha1/gpuprofile/GpuProfile");
    line(
        function.is_file(),
        format!("function: {} (kustomize legacy exec plugin)", function.display()),
        "run `gpuops-inject install-plugin --dir $KUSTOMIZE_PLUGIN_HOME` in the image build",
    );
    for note in notes {
        let _ = writeln!(out, "{note}");
    }
    (out, ok)
}

fn is_writable_dir(dir: &Path) -> bool {
    dir.is_dir() && tempfile::tempfile_in(dir).is_ok()
}
