//! The registry client: one request loop handling auth, retries and
//! timeouts, and the two reads modelbump needs (tags, digests).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use gpuops_manifest::text::printable;

use crate::RegistryError;
use crate::auth::{self, Challenge, Credential};
use crate::origin::{realm_may_receive_credentials, realm_origin, same_origin_link};
use crate::reference::{RepositoryRef, is_oci_digest, is_oci_tag, parse_repository};
use crate::transport;
pub(crate) use crate::transport::{Method, Reply, TransportError, encode, shown_url};

/// Client settings; the defaults suit a CI job.
#[derive(Debug, Clone)]
pub struct Options {
    /// Hosts (`host[:port]`) reached over plain HTTP besides loopback.
    pub insecure_registries: Vec<String>,
    /// Per request (connect + answer).
    pub timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx and transport errors.
    pub retries: u32,
    /// First backoff; doubles each retry, capped at `max_backoff`.
    pub backoff: Duration,
    pub max_backoff: Duration,
    /// `n` asked for per page of tags.
    pub page_size: usize,
    /// Give up (with an error) after this many pages of tags.
    pub max_pages: usize,
    /// The most a request waits in total across its retries (`Retry-After`
    /// included); past it, the last error is returned.
    pub max_total_wait: Duration,
    /// Read docker's config.json for credentials.
    pub use_docker_config: bool,
    /// Directory of docker's config.json: the binary fills it with
    /// [`crate::docker_config_dir`]; none reads no config (the library reads
    /// no environment, so `Options::default()` is anonymous everywhere).
    pub docker_config_dir: Option<std::path::PathBuf>,
    /// Registry hosts (`host[:port]`) whose login comes from a docker
    /// credential helper instead of docker's config (an
    /// `ImageRepository.spec.provider`; Flux uses nothing else for them).
    pub credential_helpers: std::collections::BTreeMap<String, crate::CredentialHelper>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            insecure_registries: Vec::new(),
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            page_size: 1000,
            max_pages: 100,
            max_total_wait: Duration::from_secs(60),
            use_docker_config: true,
            docker_config_dir: None,
            credential_helpers: std::collections::BTreeMap::new(),
        }
    }
}

/// How the client reaches a registry, and so whether a login may travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// HTTPS with verified certificates.
    Https,
    /// Plain HTTP to a loopback host: nobody on a path to read a login.
    Loopback,
    /// Plain HTTP to a host the user names insecure: a login would be read
    /// by anyone on the path, so none is sent.
    Insecure,
}

/// A blocking registry client; share it across threads.
pub struct Client {
    pub(crate) agent: ureq::Agent,
    options: Options,
    state: Mutex<HashMap<String, HostState>>,
}

#[derive(Default)]
struct HostState {
    credential: Option<Credential>,
    /// Bearer tokens per scope.
    tokens: HashMap<String, String>,
    /// The registry asked for Basic auth.
    basic: bool,
}

/// Registry errors arrive as `{"errors": [{"code", "message"}]}`.
fn registry_message(body: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct Errors {
        errors: Vec<ErrorEntry>,
    }
    #[derive(Deserialize)]
    struct ErrorEntry {
        #[serde(default)]
        code: String,
        #[serde(default)]
        message: String,
    }
    let parsed: Errors = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.first()?;
    let text =
        if first.code.is_empty() { first.message.clone() } else { format!("{} ({})", first.message, first.code) };
    Some(printable(&text))
}

fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `<url>; rel="next"` from a Link header.
fn next_link(headers: &ureq::http::HeaderMap) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(',').find(|part| part.contains("rel=\"next\"") || part.contains("rel=next")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part[start..].find('>')? + start;
        Some(part[start..end].to_string())
    })
}

pub(crate) const MANIFEST_TYPES: &str = "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json";

impl Client {
    /// One exchange through this client's agent ([`transport::call`]).
    pub(crate) fn call(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        authorization: Option<&str>,
        body: Option<&[u8]>,
    ) -> Result<Reply, TransportError> {
        transport::call(&self.agent, method, url, headers, authorization, body)
    }
}

impl Client {
    pub fn new(options: Options) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("gpuops/", env!("CARGO_PKG_VERSION")))
            .max_redirects(5)
            // Blob downloads redirect to storage on other hosts (S3, a CDN):
            // the registry's Authorization never follows a redirect.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .build()
            .new_agent();
        Self { agent, options, state: Mutex::new(HashMap::new()) }
    }

    pub fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn repository(&self, image: &str) -> Result<RepositoryRef, RegistryError> {
        parse_repository(image).ok_or_else(|| RegistryError::Reference(image.to_string()))
    }

    /// How `repo`'s registry is reached: plain HTTP only for loopback hosts
    /// and hosts the user names insecure.
    pub(crate) fn access(&self, repo: &RepositoryRef) -> Access {
        if repo.is_loopback() {
            Access::Loopback
        } else if self.options.insecure_registries.contains(&repo.host) {
            Access::Insecure
        } else {
            Access::Https
        }
    }

    pub(crate) fn base_url(&self, repo: &RepositoryRef) -> String {
        let scheme = match self.access(repo) {
            Access::Https => "https",
            Access::Loopback | Access::Insecure => "http",
        };
        format!("{scheme}://{}", repo.api_host())
    }

    /// The login for `repo`'s registry, asked once per host: from the
    /// credential helper its `spec.provider` names, else docker's config.
    fn credential(&self, repo: &RepositoryRef) -> Result<Credential, RegistryError> {
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
    fn login_source(&self, repo: &RepositoryRef) -> (String, String) {
        match self.options.credential_helpers.get(&repo.host) {
            Some(h) => (
                format!("{} (spec.provider: {})", h.provider.helper(), h.provider),
                format!("check the {} identity {} uses", h.provider, h.provider.helper()),
            ),
            None => ("docker's config".into(), format!("run `docker login {}` again", repo.host)),
        }
    }

    fn authorization(&self, repo: &RepositoryRef, scope: &str, anonymous: bool) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let host = state.get(&repo.host)?;
        if let Some(token) = host.tokens.get(&format!("{anonymous}|{scope}")) {
            return Some(format!("Bearer {token}"));
        }
        if host.basic && !anonymous { host.credential.as_ref().and_then(Credential::basic_header) } else { None }
    }

    /// The wait before retry `attempt`: exponential, or the registry's
    /// `Retry-After`, each capped at `max_backoff` (a `Retry-After: 86400`
    /// must not park a CI job for a day; the cap is logged at `-v`).
    fn backoff(&self, attempt: u32, headers: Option<&ureq::http::HeaderMap>) -> Duration {
        let exponential = self.options.backoff.saturating_mul(1u32 << attempt.min(16)).min(self.options.max_backoff);
        match headers.and_then(retry_after) {
            Some(asked) if asked > self.options.max_backoff => {
                tracing::info!(retry_after = ?asked, waiting = ?self.options.max_backoff, "Retry-After above the backoff cap; waiting the cap");
                self.options.max_backoff
            }
            Some(asked) => asked,
            None => exponential,
        }
    }

    /// Whether a retry after `wait` stays within `max_total_wait`, given
    /// `waited` so far; says so at `-v` when it does not.
    fn within_budget(&self, waited: &mut Duration, wait: Duration) -> bool {
        if *waited + wait > self.options.max_total_wait {
            tracing::info!(waited = ?*waited, next = ?wait, budget = ?self.options.max_total_wait, "retry budget spent; giving up");
            return false;
        }
        *waited += wait;
        true
    }

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
        let mut anonymous = false;
        // Set when the registry refused the login from docker's config.
        let mut login_rejected = false;
        let mut auth_rounds = 0;
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            let authorization = self.authorization(repo, &scope, anonymous);
            let result = self.call(method, url, headers, authorization.as_deref(), body);
            let reply = match result {
                Ok(reply) => reply,
                Err(message) if message.too_large => {
                    return Err(RegistryError::TooLarge { repository: name, what: shown_url(url) });
                }
                Err(message) => {
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
                    auth_rounds += 1;
                    if auth_rounds > 3 {
                        return Err(self.denied(&name, &reply));
                    }
                    let challenge = reply
                        .headers
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .and_then(auth::parse_challenge);
                    let had_auth = authorization.is_some();
                    tracing::debug!(
                        repository = %name, status = reply.status, had_auth, anonymous,
                        challenge = ?challenge.as_ref().map(Challenge::scheme), "registry asks for authentication"
                    );
                    if had_auth && !anonymous {
                        // Stale or wrong credentials break public pulls: try once without.
                        if reply.status == 403 || auth_rounds > 1 {
                            tracing::info!(repository = %name, "credentials refused; retrying anonymously");
                            anonymous = true;
                            login_rejected = true;
                            continue;
                        }
                    } else if had_auth && anonymous {
                        return Err(self.denied(&name, &reply));
                    }
                    match challenge {
                        Some(Challenge::Bearer { realm, service }) => {
                            let mut credential = if anonymous { Credential::Anonymous } else { self.credential(repo)? };
                            if credential != Credential::Anonymous && !realm_may_receive_credentials(repo, &realm) {
                                tracing::warn!(
                                    repository = %name, realm = %realm_origin(&realm),
                                    "not sending the login for {} to a token realm on another site or over plain HTTP; asking anonymously",
                                    repo.host
                                );
                                credential = Credential::Anonymous;
                            }
                            tracing::debug!(repository = %name, realm = %printable(&realm), credential = credential.kind(), "requesting a bearer token");
                            let token = match self.fetch_token(&name, &realm, service.as_deref(), &scope, &credential) {
                                Ok(token) => token,
                                // A stale login must not block a public repository.
                                Err(_) if credential != Credential::Anonymous => {
                                    anonymous = true;
                                    login_rejected = true;
                                    continue;
                                }
                                Err(e) => return Err(e),
                            };
                            let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            state
                                .entry(repo.host.clone())
                                .or_default()
                                .tokens
                                .insert(format!("{anonymous}|{scope}"), token);
                        }
                        Some(Challenge::Basic) => {
                            let credential = self.credential(repo)?;
                            if login_rejected {
                                let (source, renew) = self.login_source(repo);
                                return Err(RegistryError::Auth {
                                    repository: name,
                                    message: format!(
                                        "access denied: the registry rejected the login for {} from {source}; {renew}",
                                        repo.host
                                    ),
                                });
                            }
                            if anonymous || credential.basic_header().is_none() {
                                let message = match self.options.credential_helpers.get(&repo.host) {
                                    Some(h) if !anonymous => format!(
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
                        }
                        None => return Err(self.denied(&name, &reply)),
                    }
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
                status => {
                    let detail = registry_message(&reply.body).unwrap_or_else(|| {
                        gpuops_manifest::text::printable_prefix(String::from_utf8_lossy(&reply.body).trim(), 200)
                    });
                    let what = match status {
                        404 => "not found".to_string(),
                        429 => format!("rate limited (HTTP 429) after {} attempts", attempt + 1),
                        500..=599 => format!("registry error HTTP {status} after {} attempts", attempt + 1),
                        _ => format!("HTTP {status}"),
                    };
                    let message = if detail.is_empty() { what } else { format!("{what}: {detail}") };
                    return Err(RegistryError::Http { repository: name, status, message });
                }
            }
        }
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

    /// Repeat `request` on transport errors, 429 and 5xx, with the backoff
    /// [`send`] uses (for endpoints without registry auth: the hub).
    ///
    /// [`send`]: Client::send
    pub(crate) fn retrying(
        &self,
        name: &str,
        mut request: impl FnMut() -> Result<Reply, TransportError>,
    ) -> Result<Reply, RegistryError> {
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            let wait = match request() {
                Ok(reply)
                    if matches!(reply.status, 429 | 500..=599)
                        && attempt < self.options.retries
                        && self.within_budget(&mut waited, self.backoff(attempt, Some(&reply.headers))) =>
                {
                    self.backoff(attempt, Some(&reply.headers))
                }
                Ok(reply) => return Ok(reply),
                Err(e) if e.too_large => {
                    return Err(RegistryError::TooLarge { repository: name.to_string(), what: e.message });
                }
                Err(_)
                    if attempt < self.options.retries
                        && self.within_budget(&mut waited, self.backoff(attempt, None)) =>
                {
                    self.backoff(attempt, None)
                }
                Err(e) => {
                    return Err(RegistryError::Transport {
                        repository: name.to_string(),
                        message: format!("{e} (after {} attempts)", attempt + 1),
                    });
                }
            };
            tracing::info!(endpoint = %name, ?wait, attempt = attempt + 1, "request failed; retrying");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }

    fn fetch_token(
        &self,
        name: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: &Credential,
    ) -> Result<String, RegistryError> {
        let auth_error = |message: String| RegistryError::Auth { repository: name.to_string(), message };
        // The realm is the server's text: shown, never run by the terminal.
        let realm_shown = printable(realm);
        let mut query = vec![format!("scope={}", encode(scope))];
        if let Some(s) = service {
            query.push(format!("service={}", encode(s)));
        }
        let reply = match credential {
            Credential::Identity(refresh) => {
                let form = format!("grant_type=refresh_token&refresh_token={}&{}", encode(refresh), query.join("&"));
                self.call(
                    Method::Post,
                    realm,
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    None,
                    Some(form.as_bytes()),
                )
            }
            other => {
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{separator}{}", query.join("&"));
                self.call(Method::Get, &url, &[], other.basic_header().as_deref(), None)
            }
        }
        .map_err(|e| {
            if e.too_large {
                RegistryError::TooLarge {
                    repository: name.to_string(),
                    what: format!("the token answer of {realm_shown}"),
                }
            } else {
                auth_error(format!("token request to {realm_shown} failed: {e}"))
            }
        })?;
        if !(200..300).contains(&reply.status) {
            let detail = registry_message(&reply.body).unwrap_or_else(|| format!("HTTP {}", reply.status));
            return Err(auth_error(format!("token request to {realm_shown} refused: {detail}")));
        }
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&reply.body)
            .map_err(|_| auth_error(format!("token endpoint {realm_shown} sent no JSON token")))?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_error(format!("token endpoint {realm_shown} sent an empty token")))
    }

    /// Every tag of `image` (a repository without tag), following pagination.
    pub fn list_tags(&self, image: &str) -> Result<Vec<String>, RegistryError> {
        let repo = self.repository(image)?;
        let base = self.base_url(&repo);
        let mut url = format!("{base}/v2/{}/tags/list?n={}", repo.path, self.options.page_size);
        let mut seen = HashSet::new();
        let mut tags = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > self.options.max_pages {
                return Err(RegistryError::TooManyPages {
                    repository: repo.display(),
                    pages: self.options.max_pages,
                    tags: tags.len(),
                });
            }
            let (page, next) = self.tag_page(&repo, &url)?;
            let before = tags.len();
            let mut rejected = 0usize;
            for tag in page {
                if !is_oci_tag(&tag) {
                    rejected += 1;
                    continue;
                }
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                }
            }
            if rejected > 0 {
                tracing::warn!(repository = %repo.display(), rejected, "ignoring names in the tag list that are not OCI tags");
            }
            // distribution 2.x ignores `n` and sends everything, without
            // Link: a page with nothing new also ends the listing.
            match next {
                Some(next) if tags.len() > before => {
                    url = same_origin_link(&base, &next).ok_or_else(|| RegistryError::Malformed {
                        repository: repo.display(),
                        message: format!(
                            "the tag list's next page is not on {base} ({}); refusing to follow it",
                            realm_origin(&next)
                        ),
                    })?;
                }
                _ => return Ok(tags),
            }
        }
    }

    /// One page, re-fetched when the body is cut short or not JSON.
    fn tag_page(&self, repo: &RepositoryRef, url: &str) -> Result<(Vec<String>, Option<String>), RegistryError> {
        #[derive(Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let mut attempt = 0;
        loop {
            let reply = self.send(repo, Method::Get, url, &[("Accept", "application/json")], None, false)?;
            match serde_json::from_slice::<TagList>(&reply.body) {
                Ok(list) => return Ok((list.tags.unwrap_or_default(), next_link(&reply.headers))),
                Err(e) if attempt >= self.options.retries => {
                    return Err(RegistryError::Malformed {
                        repository: repo.display(),
                        message: format!("tag list is not valid JSON ({e}) after {} attempts", attempt + 1),
                    });
                }
                Err(_) => {
                    std::thread::sleep(self.backoff(attempt, None));
                    attempt += 1;
                }
            }
        }
    }

    /// The manifest digest of `image:tag` (`sha256:…`), for pinning.
    pub fn digest(&self, image: &str, tag: &str) -> Result<String, RegistryError> {
        let repo = self.repository(image)?;
        if !is_oci_tag(tag) {
            return Err(RegistryError::Malformed {
                repository: repo.display(),
                message: format!("{:?} is not an OCI tag", tag.escape_debug().to_string()),
            });
        }
        let url = format!("{}/v2/{}/manifests/{tag}", self.base_url(&repo), repo.path);
        let head = self.send(&repo, Method::Head, &url, &[("Accept", MANIFEST_TYPES)], None, false)?;
        if let Some(d) = head.headers.get("docker-content-digest").and_then(|v| v.to_str().ok()) {
            // It is written into files when pinning: only a real digest.
            if !is_oci_digest(d) {
                return Err(RegistryError::Malformed {
                    repository: repo.display(),
                    message: format!("the Docker-Content-Digest of tag {tag} is not an OCI digest"),
                });
            }
            return Ok(d.to_string());
        }
        let get = self.send(&repo, Method::Get, &url, &[("Accept", MANIFEST_TYPES)], None, false)?;
        Ok(format!("sha256:{:x}", Sha256::digest(&get.body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_capped_and_the_total_wait_bounded() {
        let client = Client::new(Options {
            max_backoff: Duration::from_secs(2),
            max_total_wait: Duration::from_secs(5),
            ..Options::default()
        });
        let mut headers = ureq::http::HeaderMap::new();
        headers.insert("retry-after", "86400".parse().unwrap());
        assert_eq!(client.backoff(0, Some(&headers)), Duration::from_secs(2));
        headers.insert("retry-after", "1".parse().unwrap());
        assert_eq!(client.backoff(0, Some(&headers)), Duration::from_secs(1));
        let mut waited = Duration::ZERO;
        assert!(client.within_budget(&mut waited, Duration::from_secs(2)));
        assert!(client.within_budget(&mut waited, Duration::from_secs(2)));
        assert!(!client.within_budget(&mut waited, Duration::from_secs(2)), "4 s waited, 2 more would pass 5 s");
        assert_eq!(waited, Duration::from_secs(4));
    }

    #[test]
    fn link_headers() {
        let mut h = ureq::http::HeaderMap::new();
        h.insert("link", "</v2/r/tags/list?last=b&n=2>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("/v2/r/tags/list?last=b&n=2"));
        assert_eq!(next_link(&ureq::http::HeaderMap::new()), None);
    }

    #[test]
    fn registry_error_bodies() {
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        assert_eq!(registry_message(body).unwrap(), "repository name not known to registry (NAME_UNKNOWN)");
        // A hostile registry's escape sequences are shown, not run.
        let body = br#"{"errors":[{"code":"DENIED","message":"\u001b[2J\u001b]0;pwned\u0007denied"}]}"#;
        assert_eq!(registry_message(body).unwrap(), "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}denied (DENIED)");
    }

    #[test]
    fn plain_http_only_for_loopback_and_named_hosts() {
        let c = Client::new(Options { insecure_registries: vec!["reg.lan:5000".into()], ..Options::default() });
        let url = |i: &str| c.base_url(&parse_repository(i).unwrap());
        assert_eq!(url("localhost:5000/m"), "http://localhost:5000");
        assert_eq!(url("reg.lan:5000/m"), "http://reg.lan:5000");
        assert_eq!(url("ghcr.io/a/b"), "https://ghcr.io");
        assert_eq!(url("nginx"), "https://registry-1.docker.io");
    }

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
        let child = "client::tests::credentials_with_docker_config_in_the_environment";
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
