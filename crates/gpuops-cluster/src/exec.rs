//! kubeconfig `exec` credential plugins, run as client-go runs them but with
//! a deadline and without ever echoing what the plugin printed on stdout
//! (that is where the token is).
//!
//! Source: kubernetes/kubernetes staging/src/k8s.io/client-go/plugin/pkg/client/auth/exec/exec.go
//! (`refreshCredsLocked`: `KUBERNETES_EXEC_INFO` with `spec.interactive` and,
//! with `provideClusterInfo`, `spec.cluster`; the config's `env` over the
//! process environment; stderr passed through to the user; stdout decoded
//! as an `ExecCredential` whose `apiVersion` must match the config's; a
//! `status` with a token or a client certificate and key).

use std::io::{IsTerminal, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;

/// How long a non-interactive plugin may run when `--request-timeout` is
/// not given: a helper that hangs must not hang the command.
pub(crate) const DEFAULT_EXEC_TIMEOUT: Duration = Duration::from_secs(60);

/// A plugin that gave no credential. Messages name the command (not its
/// arguments, which may hold secrets) and never include its stdout.
#[derive(Debug, thiserror::Error)]
pub enum ExecError {
    #[error("exec credential plugin: no command in the kubeconfig user's exec section")]
    NoCommand,
    #[error("exec credential plugin {command:?} could not be started: {source}{hint}")]
    Start {
        command: String,
        hint: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "exec credential plugin {command:?} exited with {status} (its stderr is above; its stdout is not shown: it may hold a token)"
    )]
    Failed { command: String, status: String },
    #[error(
        "exec credential plugin {command:?} did not finish within {timeout:?}; it was stopped (raise --request-timeout)"
    )]
    Timeout { command: String, timeout: Duration },
    #[error(
        "exec credential plugin {command:?} needs an interactive terminal (interactiveMode: Always), and stdin is not one"
    )]
    NeedsTerminal { command: String },
    #[error("exec credential plugin {command:?}: {message}")]
    Output { command: String, message: String },
}

/// The credential a plugin returned.
pub(crate) enum ExecCredential {
    Token(String),
    ClientCertificate { certificate: String, key: String },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reply {
    api_version: Option<String>,
    kind: Option<String>,
    status: Option<Status>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// Run the plugin once. Non-interactive runs are stopped after `timeout`.
pub(crate) fn run(exec: &ExecConfig, timeout: Duration) -> Result<ExecCredential, ExecError> {
    let command = exec.command.clone().filter(|c| !c.is_empty()).ok_or(ExecError::NoCommand)?;
    let name = command.clone();
    let mode = exec.interactive_mode.clone().unwrap_or(ExecInteractiveMode::IfAvailable);
    let terminal = std::io::stdin().is_terminal();
    let interactive = match mode {
        ExecInteractiveMode::Never => false,
        ExecInteractiveMode::IfAvailable => terminal,
        ExecInteractiveMode::Always if terminal => true,
        ExecInteractiveMode::Always => return Err(ExecError::NeedsTerminal { command: name }),
    };
    let api_version = exec.api_version.clone().unwrap_or_else(|| "client.authentication.k8s.io/v1".to_string());
    let mut spec = serde_json::json!({"interactive": interactive});
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
    {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
    }
    let info = serde_json::json!({"apiVersion": api_version, "kind": "ExecCredential", "spec": spec});

    let mut cmd = Command::new(&command);
    cmd.args(exec.args.iter().flatten());
    for pair in exec.env.iter().flatten() {
        if let (Some(key), Some(value)) = (pair.get("name"), pair.get("value")) {
            cmd.env(key, value);
        }
    }
    for key in exec.drop_env.iter().flatten() {
        cmd.env_remove(key);
    }
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string());
    cmd.stdin(if interactive { Stdio::inherit() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    // Its own process group, so a timeout stops whatever it started too (a
    // `sleep` under a shell would keep our stderr open). Windows has no
    // process groups to signal: there the timeout stops the plugin alone.
    #[cfg(unix)]
    if !interactive {
        use std::os::unix::process::CommandExt as _;
        cmd.process_group(0);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|source| ExecError::Start {
        command: name.clone(),
        hint: exec.install_hint.as_deref().map(|h| format!("\n{}", h.trim_end())).unwrap_or_default(),
        source,
    })?;
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        // A credential is small; a plugin that floods stdout is cut off.
        let _ = (&mut stdout).take(1 << 20).read_to_end(&mut buf);
        buf
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if !interactive && started.elapsed() >= timeout => {
                #[cfg(unix)]
                let _ = rustix::process::kill_process_group(
                    rustix::process::Pid::from_child(&child),
                    rustix::process::Signal::KILL,
                );
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExecError::Timeout { command: name, timeout });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(e) => return Err(ExecError::Output { command: name, message: format!("waiting for it failed: {e}") }),
        }
    };
    let out = reader.join().unwrap_or_default();
    tracing::debug!(command = %name, elapsed = ?started.elapsed(), %status, "exec credential plugin ran");
    if !status.success() {
        return Err(ExecError::Failed { command: name, status: status.to_string() });
    }
    let bad = |message: String| ExecError::Output { command: name.clone(), message };
    // client-go decodes with a YAML-tolerant codec; JSON is YAML.
    let reply: Reply = serde_saphyr::from_slice(&out)
        .map_err(|_| bad("its output is not an ExecCredential (JSON with apiVersion, kind, status)".into()))?;
    if reply.kind.as_deref() != Some("ExecCredential") {
        return Err(bad(format!("its output has kind {:?}, not ExecCredential", reply.kind.unwrap_or_default())));
    }
    if reply.api_version.as_deref() != Some(api_version.as_str()) {
        return Err(bad(format!(
            "it answered apiVersion {:?}, the kubeconfig asks for {api_version:?}",
            reply.api_version.unwrap_or_default()
        )));
    }
    let status = reply.status.ok_or_else(|| bad("its ExecCredential has no status".into()))?;
    match (status.token.filter(|t| !t.is_empty()), status.client_certificate_data, status.client_key_data) {
        (Some(token), _, _) => Ok(ExecCredential::Token(token)),
        (None, Some(certificate), Some(key)) => Ok(ExecCredential::ClientCertificate { certificate, key }),
        (None, Some(_), None) | (None, None, Some(_)) => {
            Err(bad("its status has a client certificate without a key, or a key without a certificate".into()))
        }
        (None, None, None) => Err(bad("its status holds neither a token nor a client certificate".into())),
    }
}
