//! Endpoint URLs (`HF_ENDPOINT`, token realms, pagination links) judged
//! after parsing them with the parser ureq connects with (`http::Uri`), so
//! the host that is judged is the host that is reached: in
//! `http://[::1]@hub.evil.example:8080` the host is `hub.evil.example`, and
//! the `[::1]@` in front is a user name — refused, never read as the host.

use ureq::http::Uri;

/// Why an endpoint URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("is not a URL")]
    Unparsable,
    #[error("is not an http:// or https:// URL")]
    NotHttp,
    #[error("has no host")]
    NoHost,
    #[error(
        "carries a user name or password before its host (`…@host`); a credential would go to the host after the `@`, so it is refused"
    )]
    UserInfo,
    #[error("carries a query or fragment; an endpoint is `scheme://host[:port][/path]`")]
    Query,
}

/// A parsed `http(s)://host[:port][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    https: bool,
    /// Lowercase; an IPv6 literal keeps its brackets (`[::1]`).
    host: String,
    /// `host[:port]` as written (lowercase).
    authority: String,
    path: String,
}

impl Endpoint {
    /// Parse `url`; a userinfo part, another scheme or a missing host is an error.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let uri: Uri = url.parse().map_err(|_| EndpointError::Unparsable)?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(EndpointError::NotHttp),
        };
        let authority = uri.authority().ok_or(EndpointError::NoHost)?;
        // RFC 3986 §3.2.1: userinfo ends at the last `@` of the authority.
        if authority.as_str().contains('@') {
            return Err(EndpointError::UserInfo);
        }
        if authority.host().is_empty() {
            return Err(EndpointError::NoHost);
        }
        Ok(Self {
            https,
            host: authority.host().to_ascii_lowercase(),
            authority: authority.as_str().to_ascii_lowercase(),
            path: uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default(),
        })
    }

    /// Like [`parse`](Self::parse), also refusing a query or fragment (an
    /// endpoint that requests are built under).
    pub fn parse_base(url: &str) -> Result<Self, EndpointError> {
        if url.contains(['?', '#']) {
            return Err(EndpointError::Query);
        }
        Self::parse(url)
    }

    pub fn is_https(&self) -> bool {
        self.https
    }

    /// `localhost`, or a host that parses as a loopback IP (127.0.0.0/8,
    /// `::1`) — not a *name* such as `127.0.0.1.nip.io`.
    pub fn is_loopback(&self) -> bool {
        let bare = self.host.trim_start_matches('[').trim_end_matches(']');
        bare == "localhost" || bare.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    /// Whether a token or login may travel to it: over HTTPS, or plain HTTP
    /// to a loopback host (a test server on this machine).
    pub fn may_carry_credentials(&self) -> bool {
        self.https || self.is_loopback()
    }

    /// The host, lowercase, without port.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// `host[:port]` as written, lowercase.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the URL names a port.
    pub fn has_port(&self) -> bool {
        self.authority.len() > self.host.len()
    }

    /// The path (and query, when [`parse`](Self::parse) allowed one).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// `scheme://authority`: for messages and same-origin checks (never a
    /// path or query, which may carry a token).
    pub fn origin(&self) -> String {
        format!("{}://{}", if self.https { "https" } else { "http" }, self.authority)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_judged_is_the_host_reached() {
        let e = Endpoint::parse("http://127.0.0.1:8080/mirror").unwrap();
        assert!(e.is_loopback() && e.may_carry_credentials());
        assert_eq!((e.host(), e.authority(), e.path()), ("127.0.0.1", "127.0.0.1:8080", "/mirror"));
        assert!(Endpoint::parse("http://[::1]:9/").unwrap().is_loopback());
        assert!(Endpoint::parse("http://LOCALHOST").unwrap().is_loopback());
        for remote in ["http://127.0.0.1.nip.io", "http://localhost.example.com", "http://127.evil.example.com:80"] {
            let e = Endpoint::parse(remote).unwrap();
            assert!(!e.is_loopback() && !e.may_carry_credentials(), "{remote}");
        }
        assert!(Endpoint::parse("https://huggingface.co").unwrap().may_carry_credentials());
        // The red team's endpoint: `[::1]` is the user name, the host is the evil one.
        for hidden in ["http://[::1]@hub.evil.test:8080", "https://user:pw@huggingface.co", "http://a@127.0.0.1"] {
            assert_eq!(Endpoint::parse(hidden), Err(EndpointError::UserInfo), "{hidden}");
        }
        assert_eq!(Endpoint::parse("ftp://h"), Err(EndpointError::NotHttp));
        assert_eq!(Endpoint::parse("huggingface.co"), Err(EndpointError::NotHttp));
        assert_eq!(Endpoint::parse_base("https://h/x?token=1"), Err(EndpointError::Query));
    }
}
