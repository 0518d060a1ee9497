//! Where a request may go and what it may carry: pagination links stay on
//! the registry, a token realm gets the login only on the registry's site.

use crate::reference::{RepositoryRef, host_without_port, is_loopback_host};

/// `scheme://authority` of a URL, for messages (never a path or query, which
/// may carry a token).
pub(crate) fn realm_origin(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // userinfo is dropped: it is where a URL hides a credential.
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if scheme.is_empty() { host.chars().take(80).collect() } else { format!("{scheme}://{host}") }
}

/// The next page's URL if `link` stays on `base` (`scheme://host[:port]`):
/// a path (`/v2/…`), or an absolute URL with the same scheme and authority.
/// Anything else — another host, a userinfo trick (`@host/…`), a
/// scheme-relative `//host/…` — is refused: the request would carry this
/// registry's credentials elsewhere and bring back another host's tags.
/// (distribution's registry sends `Link: </v2/<name>/tags/list?…>`,
/// registry/handlers/tags.go.)
pub(crate) fn same_origin_link(base: &str, link: &str) -> Option<String> {
    if link.starts_with('/') && !link.starts_with("//") {
        return Some(format!("{base}{link}"));
    }
    let (scheme, rest) = link.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let path = &rest[authority.len()..];
    (format!("{scheme}://{authority}") == base && !authority.contains('@') && path.starts_with('/'))
        .then(|| link.to_string())
}

/// Whether a token realm may receive the login for `repo`: over HTTPS (or
/// plain HTTP between true loopback hosts), and on the registry's own site —
/// its host, or a host under the registry's parent domain (Docker Hub's
/// `auth.docker.io` for `registry-1.docker.io`, GitLab's `gitlab.com` for
/// `registry.gitlab.com`). Elsewhere the token is asked for anonymously.
pub(crate) fn realm_may_receive_credentials(repo: &RepositoryRef, realm: &str) -> bool {
    let Some((scheme, rest)) = realm.split_once("://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return false;
    }
    let registry = repo.api_host().to_ascii_lowercase();
    let registry_host = host_without_port(&registry);
    let realm_host = host_without_port(authority).to_ascii_lowercase();
    let secure = match scheme {
        "https" => true,
        "http" => is_loopback_host(authority) && is_loopback_host(repo.api_host()),
        _ => false,
    };
    if !secure {
        return false;
    }
    // The same service (host and port as the registry is reached)…
    if authority.eq_ignore_ascii_case(&registry) {
        return true;
    }
    // …or a named host of the same site, on its default port.
    if authority.contains(':') || registry_host.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    let parent = registry_host.split_once('.').map(|(_, p)| p).filter(|p| p.contains('.'));
    parent.is_some_and(|p| realm_host == p || realm_host.ends_with(&format!(".{p}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_stay_on_the_registry() {
        let base = "https://ghcr.io";
        let ok = |l: &str| same_origin_link(base, l);
        assert_eq!(ok("/v2/a/tags/list?n=2&last=b").as_deref(), Some("https://ghcr.io/v2/a/tags/list?n=2&last=b"));
        assert_eq!(
            ok("https://ghcr.io/v2/a/tags/list?last=b").as_deref(),
            Some("https://ghcr.io/v2/a/tags/list?last=b")
        );
        for hostile in [
            "https://evil.example.com/v2/a/tags/list",
            "http://ghcr.io/v2/a/tags/list",
            "//evil.example.com/v2/a/tags/list",
            "@evil.example.com/v2/a/tags/list",
            "https://ghcr.io@evil.example.com/v2/a",
            "https://ghcr.io:444/v2/a",
            "v2/a/tags/list",
        ] {
            assert_eq!(ok(hostile), None, "{hostile}");
        }
    }

    #[test]
    fn token_realms_get_the_login_only_on_the_registry_site_over_https() {
        let repo = |host: &str| RepositoryRef { host: host.into(), path: "a/b".into() };
        let hub = repo("docker.io");
        assert!(realm_may_receive_credentials(&hub, "https://auth.docker.io/token"));
        assert!(realm_may_receive_credentials(&repo("ghcr.io"), "https://ghcr.io/token"));
        assert!(realm_may_receive_credentials(&repo("registry.gitlab.com"), "https://gitlab.com/jwt/auth"));
        assert!(realm_may_receive_credentials(&repo("127.0.0.1:5000"), "http://127.0.0.1:5000/token"));
        assert!(
            !realm_may_receive_credentials(&repo("127.0.0.1:5000"), "http://127.0.0.1:5001/token"),
            "another service"
        );
        assert!(!realm_may_receive_credentials(&repo("ghcr.io"), "https://evil.example.com/token"));
        assert!(!realm_may_receive_credentials(&repo("ghcr.io"), "http://ghcr.io/token"), "plain HTTP");
        assert!(!realm_may_receive_credentials(&repo("ghcr.io"), "https://ghcr.io@evil.example.com/token"));
        assert!(!realm_may_receive_credentials(&repo("127.0.0.1:5000"), "http://127.evil.example.com/token"));
        // `io` alone is not a site.
        assert!(!realm_may_receive_credentials(&repo("ghcr.io"), "https://evil.io/token"));
        assert_eq!(realm_origin("https://user:pw@evil.example.com/token?scope=x"), "https://evil.example.com");
    }
}
