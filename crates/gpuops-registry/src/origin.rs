//! Where a request may go and what it may carry: pagination links stay on
//! the registry, a token realm gets the login only on the registry's site.

use crate::endpoint::Endpoint;
use crate::reference::{RepositoryRef, host_without_port, is_loopback_host};

/// `scheme://authority` of a URL, for messages (never a userinfo, path or
/// query, which may carry a token).
pub(crate) fn realm_origin(url: &str) -> String {
    Endpoint::parse(url).map_or_else(|e| format!("a URL that {e}"), |e| e.origin())
}

/// The next page's URL if `link` stays on `base` (`scheme://host[:port]`):
/// a path (`/v2/…`), or an absolute URL with the same scheme and authority.
/// Anything else — another host, a userinfo trick (`@host/…`), a
/// scheme-relative `//host/…` — is refused: the request would carry this
/// registry's credentials elsewhere and bring back another host's tags.
/// (distribution's registry sends `Link: </v2/<name>/tags/list?…>`,
/// registry/handlers/tags.go.)
pub(crate) fn same_origin_link(base: &str, link: &str) -> Option<String> {
    let url = if link.starts_with('/') && !link.starts_with("//") { format!("{base}{link}") } else { link.to_string() };
    // Judged parsed, as ureq will read it: the origin must be `base`'s.
    let parsed = Endpoint::parse(&url).ok()?;
    let base = Endpoint::parse(base).ok()?;
    (parsed.origin() == base.origin() && parsed.path().starts_with('/')).then_some(url)
}

/// Whether a token realm may receive the login for `repo`: over HTTPS (or
/// plain HTTP between true loopback hosts), and on the registry's own site —
/// its host, or a host under the registry's parent domain (Docker Hub's
/// `auth.docker.io` for `registry-1.docker.io`, GitLab's `gitlab.com` for
/// `registry.gitlab.com`). Elsewhere the token is asked for anonymously.
pub(crate) fn realm_may_receive_credentials(repo: &RepositoryRef, realm: &str) -> bool {
    // Parsed: a realm with a userinfo part is refused outright.
    let Ok(realm) = Endpoint::parse(realm) else { return false };
    let registry = repo.api_host().to_ascii_lowercase();
    let registry_host = host_without_port(&registry);
    let secure = realm.is_https() || (realm.is_loopback() && is_loopback_host(repo.api_host()));
    if !secure {
        return false;
    }
    // The same service (host and port as the registry is reached)…
    if realm.authority() == registry {
        return true;
    }
    // …or a named host of the same site, on its default port.
    if realm.has_port() || registry_host.parse::<std::net::IpAddr>().is_ok() {
        return false;
    }
    let realm_host = realm.host();
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
        assert_eq!(realm_origin("https://evil.example.com/token?scope=x"), "https://evil.example.com");
        let hidden = realm_origin("https://user:pw@evil.example.com/token?scope=x");
        assert!(hidden.contains("user name or password") && !hidden.contains("pw"), "{hidden}");
        // Judged parsed: `[::1]@` is a user name, the realm's host is remote.
        assert!(!realm_may_receive_credentials(&repo("[::1]:5000"), "http://[::1]@evil.example.com:5000/token"));
    }
}
