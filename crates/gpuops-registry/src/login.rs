//! Which login goes to a registry host: the credential helper of its
//! `spec.provider`, else docker's config, never one over plain HTTP to a
//! host that is not loopback; and the `Authorization` a request carries.

use gpuops_manifest::text::printable;

use crate::RegistryError;
use crate::auth::{self, Credential};
use crate::client::{Access, Client};
use crate::reference::RepositoryRef;

impl Client {
    /// The login for `repo`'s registry, asked once per host: from the
    /// credential helper its `spec.provider` names, else docker's config.
    pub(crate) fn credential(&self, repo: &RepositoryRef) -> Result<Credential, RegistryError> {
        if let Some(known) = self.known_credential(repo) {
            return Ok(known);
        }
        let credential = if !self.options.use_docker_config {
            Credential::Anonymous
        } else if self.access(repo) == Access::Insecure {
            // A registry named insecure is reached over plain HTTP, where
            // anyone on the path reads a Basic login or a token: the login
            // goes in the clear only to a loopback host (the rule the hub's
            // token and token realms follow too).
            tracing::warn!(
                registry = %printable(&repo.host),
                "plain HTTP to a host that is not loopback: not sending the login from docker's config or a credential helper"
            );
            Credential::Anonymous
        } else if let Some(helper) = self.options.credential_helpers.get(&repo.host) {
            let got = crate::helper::get(helper, repo.credential_key(), self.options.timeout)
                .map_err(|message| RegistryError::Auth { repository: repo.display(), message })?;
            tracing::debug!(registry = %printable(&repo.host), credential = got.kind(), helper = %helper.program.display(), "login from the credential helper");
            got
        } else {
            auth::lookup(repo.credential_key(), self.options.docker_config_dir.as_deref())
        };
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        Ok(state.entry(repo.host.clone()).or_default().credential.get_or_insert(credential).clone())
    }

    fn known_credential(&self, repo: &RepositoryRef) -> Option<Credential> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.get(&repo.host).and_then(|h| h.credential.clone())
    }

    /// Where a login for `repo` comes from, and how to renew it, for messages.
    pub(crate) fn login_source(&self, repo: &RepositoryRef) -> (String, String) {
        match self.options.credential_helpers.get(&repo.host) {
            Some(h) => (
                format!("{} (spec.provider: {})", h.provider.helper(), h.provider),
                format!("check the {} identity {} uses", h.provider, h.provider.helper()),
            ),
            None => ("docker's config".into(), format!("run `docker login {}` again", repo.host)),
        }
    }

    pub(crate) fn authorization(&self, repo: &RepositoryRef, scope: &str, anonymous: bool) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let host = state.get(&repo.host)?;
        if let Some(token) = host.tokens.get(&format!("{anonymous}|{scope}")) {
            return Some(format!("Bearer {token}"));
        }
        if host.basic && !anonymous { host.credential.as_ref().and_then(Credential::basic_header) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;
    use crate::reference::parse_repository;

    #[test]
    fn a_login_goes_over_plain_http_only_to_loopback() {
        let config = tempfile::tempdir().unwrap();
        // base64("u:secret")
        let auths = r#"{"auths":{"reg.lan:5000":{"auth":"dTpzZWNyZXQ="},"localhost:5000":{"auth":"dTpzZWNyZXQ="}}}"#;
        std::fs::write(config.path().join("config.json"), auths).unwrap();
        let options = |insecure: Vec<String>| Options {
            insecure_registries: insecure,
            docker_config_dir: Some(config.path().to_path_buf()),
            ..Options::default()
        };
        let insecure = Client::new(options(vec!["reg.lan:5000".into()]));
        let credential = |c: &Client, i: &str| c.credential(&parse_repository(i).unwrap()).unwrap();
        // (Credential has no Debug on purpose: a login must not reach a log.)
        assert!(credential(&insecure, "reg.lan:5000/m") == Credential::Anonymous, "never in the clear to reg.lan");
        assert!(credential(&insecure, "localhost:5000/m") != Credential::Anonymous, "loopback keeps its login");
        let secure = Client::new(options(vec![]));
        assert!(credential(&secure, "reg.lan:5000/m") != Credential::Anonymous, "over HTTPS the login goes");
        assert_eq!(insecure.access(&parse_repository("reg.lan:5000/m").unwrap()), Access::Insecure);
        assert_eq!(secure.access(&parse_repository("reg.lan:5000/m").unwrap()), Access::Https);
        assert_eq!(secure.access(&parse_repository("localhost:5000/m").unwrap()), Access::Loopback);
    }

    /// The login of a docker config the caller does not name is not read:
    /// `$DOCKER_CONFIG` and `$HOME` are the binary's to read
    /// ([`crate::docker_config_dir`]). Run in a child process of this test
    /// binary, so that setting the variables races no other test.
    #[test]
    fn a_library_call_never_reads_docker_config() {
        let config = tempfile::tempdir().unwrap();
        let docker = config.path().join(".docker");
        std::fs::create_dir_all(&docker).unwrap();
        // base64("u:secret")
        std::fs::write(docker.join("config.json"), r#"{"auths":{"reg.example":{"auth":"dTpzZWNyZXQ="}}}"#).unwrap();
        let child = "login::tests::credentials_with_docker_config_in_the_environment";
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", child, "--ignored", "--test-threads=1"])
            .env("DOCKER_CONFIG", &docker)
            .env("HOME", config.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && text.contains("1 passed"), "{text}{}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    #[ignore = "run by a_library_call_never_reads_docker_config, with DOCKER_CONFIG and HOME set"]
    #[allow(clippy::disallowed_methods, reason = "stands in for the binary, which reads the environment")]
    fn credentials_with_docker_config_in_the_environment() {
        let repo = parse_repository("reg.example/m").unwrap();
        let defaults = Client::new(Options::default());
        assert!(
            defaults.credential(&repo).unwrap() == Credential::Anonymous,
            "Options::default() reads no docker config"
        );
        let dir = crate::docker_config_dir(|k| std::env::var_os(k));
        let named = Client::new(Options { docker_config_dir: dir, ..Options::default() });
        assert!(
            named.credential(&repo).unwrap() != Credential::Anonymous,
            "the directory the binary found has the login"
        );
    }
}
