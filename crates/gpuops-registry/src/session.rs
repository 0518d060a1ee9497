//! One request to a registry with everything around it: the auth
//! handshake (a 401/403's challenge answered with a bearer token or Basic
//! auth, a refused login retried anonymously), retries of 429, 5xx and
//! transport errors, and the registry's error put in words.

use std::time::Duration;

use gpuops_manifest::text::printable;

use crate::RegistryError;
use crate::auth::{self, Challenge, Credential};
use crate::client::Client;
use crate::origin::{realm_may_receive_credentials, realm_origin};
use crate::reference::RepositoryRef;
use crate::transport::{Method, Reply, registry_message, shown_url};

/// Where the auth handshake of one request stands.
#[derive(Default)]
struct Handshake {
    /// Asking without the login (it was refused, or there is none).
    anonymous: bool,
    /// The registry refused the login from docker's config or the helper.
    login_rejected: bool,
    /// 401/403 answers so far; past 3 the request is denied.
    rounds: u32,
}

impl Client {
    /// Send one request with auth and retries; the body is read fully.
    pub(crate) fn send(
        &self,
        repo: &RepositoryRef,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
        push: bool,
    ) -> Result<Reply, RegistryError> {
        let name = repo.display();
        let scope = format!("repository:{}:{}", repo.path, if push { "pull,push" } else { "pull" });
        let mut handshake = Handshake::default();
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            let authorization = self.authorization(repo, &scope, handshake.anonymous);
            let reply = match self.call(method, url, headers, authorization.as_deref(), body) {
                Ok(reply) => reply,
                Err(e) if e.too_large => {
                    return Err(RegistryError::TooLarge { repository: name, what: shown_url(url) });
                }
                Err(message) => {
                    if let Some(refused) = message.certificate_error(&name) {
                        return Err(refused);
                    }
                    let wait = self.backoff(attempt, None);
                    if attempt < self.options.retries && self.within_budget(&mut waited, wait) {
                        tracing::info!(repository = %name, error = %message, ?wait, attempt = attempt + 1, "request failed; retrying");
                        std::thread::sleep(wait);
                        attempt += 1;
                        continue;
                    }
                    return Err(RegistryError::Transport {
                        repository: name,
                        message: format!("{message} (after {} attempts)", attempt + 1),
                    });
                }
            };
            match reply.status {
                200..=299 => return Ok(reply),
                401 | 403 => {
                    let had_auth = authorization.is_some();
                    self.answer_challenge(repo, &scope, &reply, had_auth, &mut handshake)?;
                }
                429 | 500..=599
                    if attempt < self.options.retries
                        && self.within_budget(&mut waited, self.backoff(attempt, Some(&reply.headers))) =>
                {
                    let wait = self.backoff(attempt, Some(&reply.headers));
                    tracing::info!(repository = %name, status = reply.status, ?wait, attempt = attempt + 1, "registry answered with an error; retrying");
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                status => return Err(http_error(name, status, &reply, attempt)),
            }
        }
    }

    /// A 401 or 403: get what the challenge asks for (a bearer token, or
    /// Basic auth from the login) so the next try carries it, fall back to
    /// anonymous when the login is refused (stale logins must not break
    /// public pulls), or give up with what to do.
    fn answer_challenge(
        &self,
        repo: &RepositoryRef,
        scope: &str,
        reply: &Reply,
        had_auth: bool,
        handshake: &mut Handshake,
    ) -> Result<(), RegistryError> {
        let name = repo.display();
        handshake.rounds += 1;
        if handshake.rounds > 3 {
            return Err(self.denied(&name, reply));
        }
        let challenge =
            reply.headers.get("www-authenticate").and_then(|v| v.to_str().ok()).and_then(auth::parse_challenge);
        tracing::debug!(
            repository = %name, status = reply.status, had_auth, anonymous = handshake.anonymous,
            challenge = ?challenge.as_ref().map(Challenge::scheme), "registry asks for authentication"
        );
        if had_auth && !handshake.anonymous {
            // Stale or wrong credentials break public pulls: try once without.
            if reply.status == 403 || handshake.rounds > 1 {
                tracing::info!(repository = %name, "credentials refused; retrying anonymously");
                handshake.anonymous = true;
                handshake.login_rejected = true;
                return Ok(());
            }
        } else if had_auth && handshake.anonymous {
            return Err(self.denied(&name, reply));
        }
        match challenge {
            Some(Challenge::Bearer { realm, service }) => {
                self.bearer(repo, scope, &realm, service.as_deref(), handshake)
            }
            Some(Challenge::Basic) => self.basic(repo, handshake),
            None => Err(self.denied(&name, reply)),
        }
    }

    /// A `Bearer` challenge: a token from `realm`, with the login only where
    /// it may go ([`realm_may_receive_credentials`]), kept for the next try.
    fn bearer(
        &self,
        repo: &RepositoryRef,
        scope: &str,
        realm: &str,
        service: Option<&str>,
        handshake: &mut Handshake,
    ) -> Result<(), RegistryError> {
        let name = repo.display();
        let mut credential = if handshake.anonymous { Credential::Anonymous } else { self.credential(repo)? };
        if credential != Credential::Anonymous && !realm_may_receive_credentials(repo, realm) {
            tracing::warn!(
                repository = %name, realm = %realm_origin(realm),
                "not sending the login for {} to a token realm on another site or over plain HTTP; asking anonymously",
                repo.host
            );
            credential = Credential::Anonymous;
        }
        tracing::debug!(repository = %name, realm = %printable(realm), credential = credential.kind(), "requesting a bearer token");
        let token = match self.fetch_token(&name, realm, service, scope, &credential) {
            Ok(token) => token,
            // A stale login must not block a public repository.
            Err(_) if credential != Credential::Anonymous => {
                handshake.anonymous = true;
                handshake.login_rejected = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        };
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.entry(repo.host.clone()).or_default().tokens.insert(format!("{}|{scope}", handshake.anonymous), token);
        Ok(())
    }

    /// A `Basic` challenge: the login's username and password on the next
    /// try, or why there is none to send.
    fn basic(&self, repo: &RepositoryRef, handshake: &Handshake) -> Result<(), RegistryError> {
        let name = repo.display();
        let credential = self.credential(repo)?;
        if handshake.login_rejected {
            let (source, renew) = self.login_source(repo);
            return Err(RegistryError::Auth {
                repository: name,
                message: format!(
                    "access denied: the registry rejected the login for {} from {source}; {renew}",
                    repo.host
                ),
            });
        }
        if handshake.anonymous || credential.basic_header().is_none() {
            let message = match self.options.credential_helpers.get(&repo.host) {
                Some(h) if !handshake.anonymous => format!(
                    "the registry wants a username and password, and {} (spec.provider: {}) gave an identity token",
                    h.provider.helper(),
                    h.provider
                ),
                _ => format!(
                    "the registry wants a username and password; run `docker login {}` (or set DOCKER_CONFIG)",
                    repo.host
                ),
            };
            return Err(RegistryError::Auth { repository: name, message });
        }
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.entry(repo.host.clone()).or_default().basic = true;
        Ok(())
    }

    fn denied(&self, name: &str, reply: &Reply) -> RegistryError {
        let detail = registry_message(&reply.body).unwrap_or_else(|| format!("HTTP {}", reply.status));
        let host = name.split('/').next().unwrap_or(name);
        RegistryError::Auth {
            repository: name.to_string(),
            message: format!(
                "access denied: {detail}; for a private repository, run `docker login {host}` (or set DOCKER_CONFIG)"
            ),
        }
    }

    /// GET `url` as a stream, with the authorization an earlier [`send`]
    /// to the same repository negotiated.
    ///
    /// [`send`]: Client::send
    pub(crate) fn stream(
        &self,
        repo: &RepositoryRef,
        url: &str,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let scope = format!("repository:{}:pull", repo.path);
        let authorization = self.authorization(repo, &scope, false).or_else(|| self.authorization(repo, &scope, true));
        let mut request = self.agent.get(url);
        if let Some(a) = authorization {
            request = request.header("Authorization", a);
        }
        request.call()
    }
}

/// An answer that ends the request: the registry's own error message when
/// it sent one, else the start of the body.
fn http_error(repository: String, status: u16, reply: &Reply, attempt: u32) -> RegistryError {
    let detail = registry_message(&reply.body)
        .unwrap_or_else(|| gpuops_manifest::text::printable_prefix(String::from_utf8_lossy(&reply.body).trim(), 200));
    let what = match status {
        404 => "not found".to_string(),
        429 => format!("rate limited (HTTP 429) after {} attempts", attempt + 1),
        500..=599 => format!("registry error HTTP {status} after {} attempts", attempt + 1),
        _ => format!("HTTP {status}"),
    };
    let message = if detail.is_empty() { what } else { format!("{what}: {detail}") };
    RegistryError::Http { repository, status, message }
}
