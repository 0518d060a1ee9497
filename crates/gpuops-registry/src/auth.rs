//! Credentials from docker's config.json and the bearer-token exchange.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use base64::Engine;

/// What to send for a registry.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Credential {
    Anonymous,
    Basic {
        username: String,
        password: String,
    },
    /// An identity token (refresh token) from `docker login` with OAuth.
    Identity(String),
}

impl Credential {
    /// What kind of credential this is, never its value (for logs).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Credential::Anonymous => "anonymous",
            Credential::Basic { .. } => "basic",
            Credential::Identity(_) => "identity-token",
        }
    }
}

impl std::fmt::Debug for Credential {
    /// Never print a secret, even in debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::Basic { username, .. } => write!(f, "Basic({username}, ***)"),
            Self::Identity(_) => f.write_str("Identity(***)"),
        }
    }
}

impl Credential {
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Self::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
            _ => None,
        }
    }
}

/// Where docker keeps `config.json`, as the docker CLI finds it
/// (docker/cli cli/config/config.go `Dir`: `$DOCKER_CONFIG` when set and
/// not empty, else `$HOME/.docker`), with the environment read through
/// `env`: the binary passes `std::env::var_os` and fills
/// [`crate::Options::docker_config_dir`] with the answer; the library reads
/// no variable itself.
pub fn docker_config_dir(env: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |key: &str| env(key).filter(|v| !v.is_empty());
    set("DOCKER_CONFIG").map(PathBuf::from).or_else(|| set("HOME").map(|h| PathBuf::from(h).join(".docker")))
}

/// Look the registry up in docker's config (`dir/config.json`; no
/// directory, no credentials), including credential helpers and stores.
pub(crate) fn lookup(key: &str, dir: Option<&Path>) -> Credential {
    let Some(file) = dir.and_then(|d| std::fs::File::open(d.join("config.json")).ok()) else {
        return Credential::Anonymous;
    };
    match docker_credential::get_credential_from_reader(std::io::BufReader::new(file), key) {
        Ok(docker_credential::DockerCredential::UsernamePassword(username, password)) => {
            Credential::Basic { username, password }
        }
        Ok(docker_credential::DockerCredential::IdentityToken(token)) => Credential::Identity(token),
        Err(_) => Credential::Anonymous,
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Bearer { realm: String, service: Option<String> },
    Basic,
}

impl Challenge {
    /// The scheme alone, for logs (a realm URL is not a secret, but keep logs short).
    pub(crate) fn scheme(&self) -> &'static str {
        match self {
            Challenge::Bearer { .. } => "Bearer",
            Challenge::Basic => "Basic",
        }
    }
}

pub(crate) fn parse_challenge(header: &str) -> Option<Challenge> {
    let (scheme, params) = header.trim().split_once(' ').unwrap_or((header.trim(), ""));
    if scheme.eq_ignore_ascii_case("basic") {
        return Some(Challenge::Basic);
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let mut realm = None;
    let mut service = None;
    for (key, value) in split_params(params) {
        match key.as_str() {
            "realm" => realm = Some(value),
            "service" => service = Some(value),
            _ => {}
        }
    }
    Some(Challenge::Bearer { realm: realm?, service })
}

/// `a="x",b="y, z"` → pairs (commas inside quotes kept).
fn split_params(params: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = params.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else { break };
        let key = key.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
            match quoted.find('"') {
                Some(end) => (&quoted[..end], &quoted[end + 1..]),
                None => (quoted, ""),
            }
        } else {
            match after.find(',') {
                Some(end) => (&after[..end], &after[end..]),
                None => (after, ""),
            }
        };
        out.push((key, value.to_string()));
        rest = remaining.trim_start().trim_start_matches(',').trim_start();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into())
            })
        );
        assert_eq!(parse_challenge(r#"Basic realm="Registry Realm""#), Some(Challenge::Basic));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credential::Basic { username: "u".into(), password: "hunter2".into() };
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(!format!("{:?}", Credential::Identity("tok".into())).contains("tok"));
    }

    #[test]
    fn the_docker_config_dir_is_found_as_the_docker_cli_finds_it() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| OsString::from(v))
        };
        let both = env(&[("DOCKER_CONFIG", "/etc/docker-ci"), ("HOME", "/home/me")]);
        assert_eq!(docker_config_dir(both), Some(PathBuf::from("/etc/docker-ci")));
        let empty = env(&[("DOCKER_CONFIG", ""), ("HOME", "/home/me")]);
        assert_eq!(docker_config_dir(empty), Some(PathBuf::from("/home/me/.docker")));
        assert_eq!(docker_config_dir(env(&[])), None);
    }
}
