//! The registry client: its settings, its agent and what it remembers per
//! registry host. The work is spread by responsibility, each an `impl
//! Client` of its own module: the request loop with the auth handshake
//! (`session`), logins (`login`), bearer tokens (`token`), retries and
//! backoff (`retry`), and the reads modelbump needs (`tags`: tags, digests).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::RegistryError;
use crate::auth::Credential;
use crate::reference::{RepositoryRef, parse_repository};
use crate::transport;
pub(crate) use crate::transport::{Method, Reply, TransportError, encode};

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
    /// Certificate authorities trusted besides the built-in web PKI roots
    /// (the system store, `SSL_CERT_FILE`, a CA file: the binary reads them).
    pub trusted_roots: crate::TrustedRoots,
    /// `host:port` → the address to connect to instead of asking DNS
    /// (curl's `--resolve`); the host keeps its name for everything else
    /// (TLS, logins, `spec.provider`). Keys are lower case.
    pub resolve: std::collections::BTreeMap<String, std::net::SocketAddr>,
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
            trusted_roots: crate::TrustedRoots::default(),
            resolve: std::collections::BTreeMap::new(),
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
    pub(crate) options: Options,
    pub(crate) state: Mutex<HashMap<String, HostState>>,
}

/// What the client learnt about one registry host.
#[derive(Default)]
pub(crate) struct HostState {
    pub(crate) credential: Option<Credential>,
    /// Bearer tokens per `anonymous|scope`.
    pub(crate) tokens: HashMap<String, String>,
    /// The registry asked for Basic auth.
    pub(crate) basic: bool,
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
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(options.timeout))
            .user_agent(concat!("gpuops/", env!("CARGO_PKG_VERSION")))
            .max_redirects(5)
            // Blob downloads redirect to storage on other hosts (S3, a CDN):
            // the registry's Authorization never follows a redirect.
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .tls_config(ureq::tls::TlsConfig::builder().root_certs(options.trusted_roots.root_certs()).build())
            .build();
        let agent = if options.resolve.is_empty() {
            config.new_agent()
        } else {
            let pins = crate::resolve::Pinned { pins: options.resolve.clone() };
            ureq::Agent::with_parts(config, ureq::unversioned::transport::DefaultConnector::new(), pins)
        };
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_only_for_loopback_and_named_hosts() {
        let c = Client::new(Options { insecure_registries: vec!["reg.lan:5000".into()], ..Options::default() });
        let url = |i: &str| c.base_url(&parse_repository(i).unwrap());
        assert_eq!(url("localhost:5000/m"), "http://localhost:5000");
        assert_eq!(url("reg.lan:5000/m"), "http://reg.lan:5000");
        assert_eq!(url("ghcr.io/a/b"), "https://ghcr.io");
        assert_eq!(url("nginx"), "https://registry-1.docker.io");
    }
}
