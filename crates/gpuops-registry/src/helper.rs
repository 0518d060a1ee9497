//! The docker credential-helper protocol, client side, for the helper
//! program an `ImageRepository.spec.provider` names
//! ([`crate::CloudProvider::helper`]).
//!
//! docker/docker-credential-helpers client/client.go `Get` (v0.9.8): run
//! `<helper> get`, the server URL on stdin (no newline), and read
//! `{"ServerURL","Username","Secret"}` from stdout; a failing helper whose
//! output is "credentials not found in native keychain"
//! (credentials/error.go) has no login for that server. A `Username` of
//! `<token>` means the secret is an identity (refresh) token, not a
//! password (docker/cli cli/config/credentials/native_store.go
//! `tokenUsername`; the docker_credential crate's helper.rs reads it the
//! same way).

use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::auth::Credential;
use crate::provider::CloudProvider;

/// The helper a registry host's login comes from: the program (the binary
/// finds it on `PATH`; the library runs the path it is given) and the
/// `spec.provider` that named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialHelper {
    pub program: PathBuf,
    pub provider: CloudProvider,
}

/// `credentials/error.go` `errCredentialsNotFoundMessage`.
const NOT_FOUND: &str = "credentials not found in native keychain";
/// `credentials/credentials.go` `Credentials` field names.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Answer {
    #[serde(default)]
    username: String,
    #[serde(default)]
    secret: String,
}

/// Ask `helper` for the login of `server` (docker's credential key: the
/// registry host). Errors name the helper and never carry the answer: on
/// success stdout holds the secret.
pub(crate) fn get(helper: &CredentialHelper, server: &str, timeout: Duration) -> Result<Credential, String> {
    let name = helper
        .program
        .file_name()
        .map_or_else(|| helper.program.display().to_string(), |n| n.to_string_lossy().into_owned());
    let why = format!("spec.provider: {}", helper.provider);
    let (status, stdout) =
        run(&helper.program, server, timeout).map_err(|e| format!("could not run {name} ({why}): {e}"))?;
    if !status.success() {
        let said = gpuops_manifest::text::printable_prefix(String::from_utf8_lossy(&stdout).trim(), 200);
        if said.contains(NOT_FOUND) {
            return Err(format!("{name} ({why}) has no login for {server} ({NOT_FOUND})"));
        }
        return Err(format!("{name} get ({why}) failed ({status}): {said}"));
    }
    let answer: Answer = serde_json::from_slice(&stdout).map_err(|_| {
        format!("{name} ({why}) answered with something other than the credential JSON ({{\"Username\", \"Secret\"}})")
    })?;
    if answer.secret.is_empty() {
        return Err(format!("{name} ({why}) answered with an empty Secret for {server}"));
    }
    Ok(if answer.username == "<token>" {
        Credential::Identity(answer.secret)
    } else {
        Credential::Basic { username: answer.username, password: answer.secret }
    })
}

/// `program get` with `input` on stdin; its status and stdout (stderr is
/// the helper's own log, left on ours). Killed past `timeout`: a helper
/// waiting on a prompt must not hang a CI job.
fn run(program: &Path, input: &str, timeout: Duration) -> std::io::Result<(std::process::ExitStatus, Vec<u8>)> {
    let mut child = Command::new(program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper that exits without reading is judged by its status.
        let _ = stdin.write_all(input.as_bytes());
    }
    let mut stdout = child.stdout.take().ok_or_else(|| std::io::Error::other("no stdout"))?;
    let reader = std::thread::spawn(move || {
        let mut out = Vec::new();
        stdout.by_ref().take(crate::MAX_DOCUMENT_BYTES).read_to_end(&mut out).map(|_| out)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if started.elapsed() > timeout {
            let _ = child.kill();
            let _ = child.wait();
            return Err(std::io::Error::new(std::io::ErrorKind::TimedOut, format!("no answer within {timeout:?}")));
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let out = reader.join().map_err(|_| std::io::Error::other("reading the answer failed"))??;
    Ok((status, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The helper script, written by a `sh` child rather than by this
    /// process: a file this process opened for writing is inherited by any
    /// child another test thread forks meanwhile, and exec'ing it then
    /// fails with "Text file busy" (ETXTBSY; it did once in a full run).
    fn script(dir: &Path, body: &str) -> CredentialHelper {
        let program = dir.join("docker-credential-ecr-login");
        let mut writer = Command::new("sh")
            .args(["-c", "cat > \"$1\" && chmod 755 \"$1\"", "sh"])
            .arg(&program)
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        writer.stdin.take().unwrap().write_all(format!("#!/bin/sh\n{body}\n").as_bytes()).unwrap();
        assert!(writer.wait().unwrap().success(), "writing {}", program.display());
        CredentialHelper { program, provider: CloudProvider::Aws }
    }

    const T: Duration = Duration::from_secs(10);

    #[test]
    fn the_protocol_as_docker_speaks_it() {
        let dir = tempfile::tempdir().unwrap();
        // The action is argv[1], the server is all of stdin, without a newline.
        let h = script(
            dir.path(),
            r#"[ "$1" = get ] || exit 9; read -r s || true; [ "$s" = reg.example:5000 ] || { echo "got $s"; exit 1; }
printf '{"ServerURL":"%s","Username":"AWS","Secret":"hunter2"}' "$s""#,
        );
        let c = get(&h, "reg.example:5000", T).unwrap();
        assert!(c == Credential::Basic { username: "AWS".into(), password: "hunter2".into() });
        let token =
            script(dir.path(), r#"cat >/dev/null; echo '{"ServerURL":"x","Username":"<token>","Secret":"refresh"}'"#);
        assert!(get(&token, "x", T).unwrap() == Credential::Identity("refresh".into()), "<token> = identity token");
    }

    #[test]
    fn failures_name_the_helper_and_never_the_answer() {
        let dir = tempfile::tempdir().unwrap();
        let none = script(dir.path(), "cat >/dev/null; echo 'credentials not found in native keychain'; exit 1");
        let e = get(&none, "reg.example", T).unwrap_err();
        assert_eq!(
            e,
            "docker-credential-ecr-login (spec.provider: aws) has no login for reg.example (credentials not found in native keychain)"
        );
        let broken = script(dir.path(), "cat >/dev/null; echo 'Secret: hunter2 not json'");
        let e = get(&broken, "reg.example", T).unwrap_err();
        assert!(e.contains("other than the credential JSON") && !e.contains("hunter2"), "{e}");
        let failing = script(dir.path(), "cat >/dev/null; echo 'no AWS credentials in the environment'; exit 2");
        let e = get(&failing, "reg.example", T).unwrap_err();
        assert!(e.contains("failed (exit status: 2): no AWS credentials in the environment"), "{e}");
        let hanging = script(dir.path(), "sleep 30");
        let e = get(&hanging, "reg.example", Duration::from_millis(200)).unwrap_err();
        assert!(e.contains("no answer within"), "{e}");
    }
}
