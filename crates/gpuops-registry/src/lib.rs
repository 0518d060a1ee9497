//! OCI Distribution API access for gpuops.
//!
//! Blocking HTTP (ureq) so the kubectl plugins need no async runtime;
//! concurrency across repositories is the caller's, with threads.
//!
//! * tags are paginated (`n`, then `Link: <…>; rel="next"`) until the
//!   registry stops sending `Link` or a page brings nothing new (distribution
//!   2.x ignores `n`), with a page cap;
//! * auth: docker `config.json` from the directory the caller names
//!   ([`docker_config_dir`] finds docker's; auths, credHelpers, credsStore), then the anonymous bearer-token flow; a `denied` with
//!   credentials is retried anonymously (public repositories, stale logins);
//!   hosts of an `ImageRepository.spec.provider` log in through that
//!   cloud's docker credential helper instead ([`provider`], [`CredentialHelper`]);
//! * 429 and 5xx, timeouts and cut connections are retried with exponential
//!   backoff, honouring `Retry-After`;
//! * HTTPS with verified certificates (the built-in web PKI roots plus the
//!   CAs the caller adds, [`TrustedRoots`]; an untrusted certificate is
//!   [`RegistryError::Certificate`], never retried), plain HTTP only for
//!   loopback hosts and hosts the user names as insecure.
//!
//! * a login goes only where it belongs: never along a redirect, a `Link`
//!   to another origin is an error, a token realm gets it only over HTTPS
//!   (or loopback to loopback) on the registry's own site; "loopback" is
//!   `localhost` or a parsed loopback IP, never a name like `127.x.example`;
//! * only names in the OCI tag grammar are tags; a `Retry-After` is capped
//!   at the backoff cap and all waits of one request at `max_total_wait`.
//!
//! Credentials and tokens never appear in errors.

mod auth;
mod client;
mod endpoint;
mod helper;
pub mod hub;
mod login;
pub mod model;
pub mod models;
mod origin;
pub mod provider;
pub mod push;
mod reference;
mod resolve;
mod retry;
mod session;
mod tags;
mod tls;
mod token;
mod transport;

pub use auth::docker_config_dir;
pub use client::{Client, Options};
pub use endpoint::{Endpoint, EndpointError};
pub use helper::CredentialHelper;
pub use provider::{CloudProvider, ProviderHostError};
pub use reference::{
    ManifestRef, OciReference, RepositoryRef, is_oci_digest, is_oci_repository_path, is_oci_tag, is_registry_host,
    parse_oci_reference, parse_repository,
};
pub use tls::{CertificateError, TrustedRoots};

/// The most a JSON document read from the network may weigh — hub files,
/// manifests, indexes, tag lists, token answers, config.json blobs and
/// config.json entries in tar layers alike. A model's config.json is a few
/// KiB; a manifest of thousands of layers is well under 1 MiB. Past it the
/// read stops (memory stays at the cap plus a buffer) with
/// [`RegistryError::TooLarge`].
pub const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// What went wrong talking to a registry. Messages name the registry and
/// repository, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{repository}: {message}")]
    Http { repository: String, status: u16, message: String },
    #[error("{repository}: {message}")]
    Transport { repository: String, message: String },
    #[error("{repository}: authentication failed: {message}")]
    Auth { repository: String, message: String },
    #[error(
        "{repository}: stopped after {pages} pages of tags ({tags} tags so far); raise --max-tag-pages to read more"
    )]
    TooManyPages { repository: String, pages: usize, tags: usize },
    #[error("{repository}: malformed answer from the registry: {message}")]
    Malformed { repository: String, message: String },
    #[error("{0:?} is not a repository reference")]
    Reference(String),
    /// A reference refused by the OCI grammar before any request.
    #[error("{reference}: {problem}")]
    InvalidReference { reference: String, problem: String },
    /// A document larger than [`MAX_DOCUMENT_BYTES`]; `what` names it (a URL
    /// without its query, or a file in a layer).
    #[error("{repository}: {what} is larger than {} MiB, the limit for a document read from the network; refusing to read it", MAX_DOCUMENT_BYTES >> 20)]
    TooLarge { repository: String, what: String },
    /// The registry's TLS certificate was refused (an unknown CA, a name
    /// it is not valid for, expired): not retried. `unknown_issuer` when
    /// it chains to no trusted CA — what a private CA looks like.
    #[error("{repository}: the TLS certificate of {host} is not trusted: {message}")]
    Certificate { repository: String, host: String, message: String, unknown_issuer: bool },
    /// An endpoint URL refused before any request (`HF_ENDPOINT`, a token realm).
    #[error("{name}: {message}")]
    Endpoint { name: String, message: String },
}
