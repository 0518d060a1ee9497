//! One HTTP exchange: a request sent, its answer read under the document
//! cap ([`MAX_DOCUMENT_BYTES`]), transport failures put in words without
//! URLs' queries. Retries, auth and the registry protocol are
//! [`Client::send`](crate::client::Client::send)'s.

use gpuops_manifest::text::printable;

use serde::Deserialize;

use crate::{MAX_DOCUMENT_BYTES, RegistryError};

/// A fully read answer.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: ureq::http::HeaderMap,
    pub(crate) body: Vec<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Method {
    Get,
    Head,
    Post,
    Put,
}

/// Send one request through `agent` and read its answer. A free function
/// over the agent, not a `Client` method: the client builds on the
/// transport, never the other way round (the module-cycle check).
pub(crate) fn call(
    agent: &ureq::Agent,
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    authorization: Option<&str>,
    body: Option<&[u8]>,
) -> Result<Reply, TransportError> {
    macro_rules! with_headers {
        ($req:expr) => {{
            let mut req = $req;
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(a) = authorization {
                req = req.header("Authorization", a);
            }
            req
        }};
    }
    let started = std::time::Instant::now();
    let response = match method {
        Method::Get => with_headers!(agent.get(url)).call(),
        Method::Head => with_headers!(agent.head(url)).call(),
        Method::Post => with_headers!(agent.post(url)).send(body.unwrap_or_default()),
        Method::Put => with_headers!(agent.put(url)).send(body.unwrap_or_default()),
    };
    let mut response = response.map_err(|e| describe(&e, url))?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = if method == Method::Head { Vec::new() } else { read_document(&mut response, url)? };
    // The URL is logged without its query: a token realm's query names
    // the scope, and nothing in it is a secret, but keep the habit.
    tracing::debug!(
        method = ?method, url = url.split('?').next().unwrap_or(url), status,
        bytes = body.len(), elapsed = ?started.elapsed(), authorized = authorization.is_some(), "registry request"
    );
    Ok(Reply { status, headers, body })
}

/// A URL for messages: without its query (tokens), escaped for terminals.
pub(crate) fn shown_url(url: &str) -> String {
    printable(url.split(['?', '#']).next().unwrap_or(url))
}

/// Read a whole answer, at most [`MAX_DOCUMENT_BYTES`]: a `Content-Length`
/// over the cap is refused unread, and a body without one is read through a
/// limited reader, so memory stays at the cap plus a buffer whatever the
/// server sends.
fn read_document(response: &mut ureq::http::Response<ureq::Body>, url: &str) -> Result<Vec<u8>, TransportError> {
    use std::io::Read;
    let too_large = || TransportError { message: shown_url(url), too_large: true, untrusted: None };
    let declared = response.headers().get("content-length").and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_DOCUMENT_BYTES) {
        return Err(too_large());
    }
    let reader = response.body_mut().with_config().limit(u64::MAX).reader();
    // Reserved up front (address space; pages become memory as they fill),
    // so the growth of a body without a length never copies it.
    let mut body = Vec::with_capacity(declared.unwrap_or(MAX_DOCUMENT_BYTES + 1) as usize);
    reader.take(MAX_DOCUMENT_BYTES + 1).read_to_end(&mut body).map_err(|e| describe_io(&e))?;
    if body.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(too_large());
    }
    body.shrink_to_fit();
    Ok(body)
}

fn describe_io(error: &std::io::Error) -> TransportError {
    TransportError::from(format!("connection error: {error}"))
}

/// A transport error in words, without URLs' query strings (tokens).
fn describe(error: &ureq::Error, url: &str) -> TransportError {
    if let Some(problem) = certificate_problem(error) {
        let host = url.parse::<ureq::http::Uri>().ok().and_then(|u| u.authority().map(|a| a.to_string()));
        let unknown_issuer = matches!(problem, rustls::CertificateError::UnknownIssuer);
        let message = if unknown_issuer {
            "it chains to no certificate authority trusted here (unknown issuer)".to_string()
        } else {
            format!("invalid peer certificate: {problem}")
        };
        return TransportError {
            message,
            too_large: false,
            untrusted: Some(Untrusted { host: printable(&host.unwrap_or_else(|| shown_url(url))), unknown_issuer }),
        };
    }
    TransportError::from(match error {
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::Io(e) => format!("connection error: {e}"),
        other => other.to_string(),
    })
}

/// The certificate rustls refused, if that is what failed: ureq hands a
/// handshake error over as the `io::Error` rustls made of it
/// (`complete_io`), other TLS errors as its own `Rustls` variant.
fn certificate_problem(error: &ureq::Error) -> Option<&rustls::CertificateError> {
    let tls = match error {
        ureq::Error::Rustls(e) => Some(e),
        ureq::Error::Io(e) => e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    match tls {
        rustls::Error::InvalidCertificate(problem) => Some(problem),
        _ => None,
    }
}

/// Characters a query value keeps: RFC 3986 unreserved.
const QUERY_VALUE: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// Percent-encode a query value.
pub(crate) fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, QUERY_VALUE).to_string()
}

/// A request that got no HTTP answer (connection, TLS, timeout), in words;
/// or an answer over [`MAX_DOCUMENT_BYTES`] (`too_large`, `message` the URL
/// shown); or a TLS certificate refused (`untrusted`). The last two are
/// never retried: asking again gets the same answer.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct TransportError {
    pub(crate) message: String,
    pub(crate) too_large: bool,
    pub(crate) untrusted: Option<Untrusted>,
}

/// Whose certificate was refused, and whether for want of a trusted CA.
#[derive(Debug, Clone)]
pub(crate) struct Untrusted {
    /// `host[:port]` of the URL asked, escaped for terminals.
    pub(crate) host: String,
    pub(crate) unknown_issuer: bool,
}

impl TransportError {
    /// The [`RegistryError`] of a refused certificate, if this is one.
    pub(crate) fn certificate_error(&self, repository: &str) -> Option<RegistryError> {
        let untrusted = self.untrusted.as_ref()?;
        Some(RegistryError::Certificate {
            repository: repository.to_string(),
            host: untrusted.host.clone(),
            message: self.message.clone(),
            unknown_issuer: untrusted.unknown_issuer,
        })
    }
}

impl From<String> for TransportError {
    fn from(message: String) -> Self {
        Self { message, too_large: false, untrusted: None }
    }
}

/// Registry errors arrive as `{"errors": [{"code", "message"}]}`.
pub(crate) fn registry_message(body: &[u8]) -> Option<String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies() {
        let body = br#"{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}"#;
        assert_eq!(registry_message(body).unwrap(), "repository name not known to registry (NAME_UNKNOWN)");
        // A hostile registry's escape sequences are shown, not run.
        let body = br#"{"errors":[{"code":"DENIED","message":"\u001b[2J\u001b]0;pwned\u0007denied"}]}"#;
        assert_eq!(registry_message(body).unwrap(), "\\u{1b}[2J\\u{1b}]0;pwned\\u{7}denied (DENIED)");
    }
}
