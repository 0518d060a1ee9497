//! Files from the Hugging Face hub, the way its own clients find them
//! (huggingface_hub/constants.py, file_download.py): `HF_ENDPOINT` (default
//! `https://huggingface.co`), `GET {endpoint}/{repo}/resolve/{revision}/{file}`,
//! the commit in `X-Repo-Commit`, the token from `HF_TOKEN`, then
//! `HF_TOKEN_PATH`, then `$HF_HOME/token`; `HF_HUB_OFFLINE=1` forbids the
//! network. The token goes to the endpoint only, and only over HTTPS (or
//! to a loopback test server): never over plain HTTP elsewhere, never to a
//! host a redirect points at, never into a log line. The endpoint is judged
//! parsed (see [`Endpoint`]): one with a `user@` part is refused outright.

use std::path::{Path, PathBuf};

use crate::RegistryError;
use crate::client::{Client, Method};
use crate::endpoint::Endpoint;

/// Where and how to reach the hub.
#[derive(Clone, Default)]
pub struct HubSettings {
    pub endpoint: String,
    pub token: Option<String>,
    pub offline: bool,
}

impl std::fmt::Debug for HubSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubSettings")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("offline", &self.offline)
            .finish()
    }
}

fn truthy(value: &str) -> bool {
    matches!(value.trim().to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE")
}

impl HubSettings {
    /// From an environment (`env` is the process's in production) and the
    /// resolved `HF_HOME`.
    pub fn from_env(env: impl Fn(&str) -> Option<String>, hf_home: Option<&Path>) -> Self {
        let set = |k: &str| env(k).filter(|v| !v.trim().is_empty());
        let endpoint =
            set("HF_ENDPOINT").unwrap_or_else(|| "https://huggingface.co".into()).trim_end_matches('/').to_string();
        let from_file =
            |path: PathBuf| std::fs::read_to_string(path).ok().map(|t| t.trim().to_string()).filter(|t| !t.is_empty());
        let token = set("HF_TOKEN")
            .or_else(|| set("HUGGING_FACE_HUB_TOKEN"))
            .or_else(|| set("HF_TOKEN_PATH").and_then(|p| from_file(PathBuf::from(p))))
            .or_else(|| hf_home.and_then(|home| from_file(home.join("token"))));
        let offline = set("HF_HUB_OFFLINE").is_some_and(|v| truthy(&v));
        Self { endpoint, token, offline }
    }

    /// Whether the token may go to the endpoint: HTTPS, or a loopback host,
    /// both judged on the parsed URL.
    fn may_send_token(&self) -> bool {
        Endpoint::parse_base(&self.endpoint).is_ok_and(|e| e.may_carry_credentials())
    }

    /// The parsed endpoint, or why no request may go to it. The endpoint's
    /// text is never shown: a refused one may hold a password.
    fn checked_endpoint(&self) -> Result<Endpoint, RegistryError> {
        let refuse = |message: String| RegistryError::Endpoint { name: "HF_ENDPOINT".into(), message };
        let endpoint = Endpoint::parse_base(&self.endpoint).map_err(|e| refuse(format!("the hub endpoint {e}")))?;
        if self.token.is_some() && !endpoint.may_carry_credentials() {
            return Err(refuse(format!(
                "{} is plain HTTP to a host that is not loopback; HF_TOKEN goes only over HTTPS (use https://, or unset HF_TOKEN for a public mirror)",
                endpoint.origin()
            )));
        }
        Ok(endpoint)
    }
}

/// Each `/`-separated segment of a repository id or revision becomes a URL
/// path segment: none may be empty, `.` or `..` (which would climb out of
/// `/{repo}/resolve/`). Callers check Hugging Face's own naming rules.
fn url_segments_ok(text: &str) -> bool {
    text.split('/').all(|s| !matches!(s, "" | "." | ".."))
}

/// One file of a hub repository.
#[derive(Debug, Clone)]
pub struct HubFile {
    pub body: Vec<u8>,
    /// The commit `revision` resolved to (`X-Repo-Commit`).
    pub commit: Option<String>,
}

impl Client {
    /// `file` of the model repository `repo_id` (`org/name`) at `revision`.
    pub fn hub_file(
        &self,
        hub: &HubSettings,
        repo_id: &str,
        revision: &str,
        file: &str,
    ) -> Result<HubFile, RegistryError> {
        let endpoint = hub.checked_endpoint()?;
        let name = format!("{}{}/{repo_id}", endpoint.origin(), endpoint.path().trim_end_matches('/'));
        if !url_segments_ok(repo_id) || !url_segments_ok(revision) || !url_segments_ok(file) {
            return Err(RegistryError::InvalidReference {
                reference: gpuops_manifest::text::printable(&format!("{repo_id}:{revision}")),
                problem: "a repository id or revision with an empty, `.` or `..` segment".into(),
            });
        }
        if hub.offline {
            return Err(RegistryError::Transport {
                repository: name,
                message: "HF_HUB_OFFLINE is set; not asking the hub".into(),
            });
        }
        let encode = |segment: &str| crate::client::encode(segment);
        let path: Vec<String> = repo_id.split('/').map(encode).collect();
        let url = format!("{}/{}/resolve/{}/{}", hub.endpoint, path.join("/"), encode(revision), encode(file));
        // checked_endpoint refused a token bound for plain HTTP elsewhere.
        let authorization = hub.token.as_ref().filter(|_| hub.may_send_token()).map(|t| format!("Bearer {t}"));
        let reply = self.retrying(&name, || self.call(Method::Get, &url, &[], authorization.as_deref(), None))?;
        match reply.status {
            200..=299 => Ok(HubFile {
                commit: reply.headers.get("x-repo-commit").and_then(|v| v.to_str().ok()).map(str::to_string),
                body: reply.body,
            }),
            401 | 403 => Err(RegistryError::Auth {
                repository: name,
                message: if authorization.is_some() {
                    "the hub refused HF_TOKEN (gated model: accept its licence on the model page with that account)"
                        .into()
                } else {
                    "private or gated model: set HF_TOKEN (or log in with `hf auth login`)".into()
                },
            }),
            404 => Err(RegistryError::Http {
                repository: name,
                status: 404,
                message: format!("no {file} at revision {revision} (is the model id right?)"),
            }),
            status => Err(RegistryError::Http {
                repository: name,
                status,
                message: format!("the hub answered HTTP {status}"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_follow_huggingface_hub() {
        let dir = std::env::temp_dir().join(format!("gpuops-hub-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("token"), "hf_file_token\n").unwrap();
        let none = |_: &str| None;
        let s = HubSettings::from_env(none, Some(&dir));
        assert_eq!(
            (s.endpoint.as_str(), s.token.as_deref(), s.offline),
            ("https://huggingface.co", Some("hf_file_token"), false)
        );
        let env = |k: &str| match k {
            "HF_ENDPOINT" => Some("http://127.0.0.1:8080/".to_string()),
            "HF_TOKEN" => Some("hf_env".to_string()),
            "HF_HUB_OFFLINE" => Some("1".to_string()),
            _ => None,
        };
        let s = HubSettings::from_env(env, Some(&dir));
        assert_eq!(
            (s.endpoint.as_str(), s.token.as_deref(), s.offline),
            ("http://127.0.0.1:8080", Some("hf_env"), true)
        );
        assert!(s.may_send_token(), "loopback test servers get the token");
        let plain = HubSettings { endpoint: "http://mirror.example.com".into(), ..s.clone() };
        assert!(!plain.may_send_token(), "never over plain HTTP to another host");
        assert!(!format!("{s:?}").contains("hf_env"), "Debug hides the token");
        std::fs::remove_dir_all(dir).ok();
    }

    /// The red team's `HF_ENDPOINT=http://[::1]@hub.evil.test:P`: the text
    /// after `http://` starts with a loopback address, but the host is
    /// `hub.evil.test`. Refused before any request, the token unsent and
    /// unprinted; the same for plain HTTP to any other non-loopback host.
    #[test]
    fn endpoints_are_judged_parsed_and_userinfo_is_refused() {
        let client = Client::new(crate::Options { retries: 0, ..crate::Options::default() });
        let hub =
            |endpoint: &str| HubSettings { endpoint: endpoint.into(), token: Some("hf_secret".into()), offline: false };
        for (endpoint, says) in [
            ("http://[::1]@hub.evil.test:9", "user name or password"),
            ("https://me:pw@huggingface.co", "user name or password"),
            ("http://127.0.0.1.nip.io:9", "plain HTTP to a host that is not loopback"),
            ("https://h/x?token=1", "query"),
        ] {
            assert!(!hub(endpoint).may_send_token(), "{endpoint}");
            let err = client.hub_file(&hub(endpoint), "acme/m", "main", "config.json").unwrap_err();
            let shown = err.to_string();
            assert!(matches!(err, RegistryError::Endpoint { .. }), "{endpoint}: {shown}");
            assert!(shown.starts_with("HF_ENDPOINT: ") && shown.contains(says), "{endpoint}: {shown}");
            assert!(!shown.contains("hf_secret") && !shown.contains("pw") && !shown.contains('\n'), "{shown}");
        }
        let err = client.hub_file(&hub("http://127.0.0.1:9"), "acme/..", "main", "config.json").unwrap_err();
        assert!(matches!(err, RegistryError::InvalidReference { .. }), "{err}");
    }
}
