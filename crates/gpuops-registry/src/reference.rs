//! `host[:port]/path` → registry host and repository path.

/// A repository on a registry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryRef {
    /// Host as written (`localhost:5000`, `ghcr.io`); Docker Hub is `docker.io`.
    pub host: String,
    /// Path on the registry (`library/nginx`, `byo-models-gpu/llama-3.2-1b-cuda`).
    pub path: String,
}

impl RepositoryRef {
    /// The host to send API requests to.
    pub fn api_host(&self) -> &str {
        if self.host == "docker.io" { "registry-1.docker.io" } else { &self.host }
    }

    /// The key docker's config.json uses for this registry.
    pub fn credential_key(&self) -> &str {
        if self.host == "docker.io" { "https://index.docker.io/v1/" } else { &self.host }
    }

    /// `host/path`, as users write it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.host, self.path)
    }

    /// Whether plain HTTP is acceptable without being asked: loopback only.
    pub fn is_loopback(&self) -> bool {
        is_loopback_host(&self.host)
    }
}

/// `host[:port]` without the port (IPv6 literals keep their brackets off).
pub(crate) fn host_without_port(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(ip, _)| ip);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.chars().all(|c| c.is_ascii_digit()) => host,
        _ => authority,
    }
}

/// True loopback: `localhost`, or an address that parses as a loopback IP
/// (127.0.0.0/8, ::1) — not a host *name* such as `127.evil.example.com`.
pub(crate) fn is_loopback_host(authority: &str) -> bool {
    let host = host_without_port(authority);
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The OCI tag grammar, `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`: only such
/// names are tags; anything else a registry lists is not a candidate, is
/// never written into a file and never spliced into a URL.
/// Source: opencontainers/distribution-spec spec.md, "Pulling manifests"
/// (`<reference>` as a tag).
pub fn is_oci_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes.iter().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// Split an image name (no tag or digest) into registry and repository,
/// with Docker's defaults (`nginx` → `docker.io/library/nginx`).
pub fn parse_repository(image: &str) -> Option<RepositoryRef> {
    if image.is_empty() || image.contains(char::is_whitespace) || image.contains('@') {
        return None;
    }
    let (first, rest) = match image.split_once('/') {
        Some((first, rest)) if first.contains(['.', ':']) || first == "localhost" => (first, rest),
        Some(_) => ("docker.io", image),
        None => ("docker.io", image),
    };
    if rest.is_empty() || rest.contains(':') {
        return None;
    }
    let path = if first == "docker.io" && !rest.contains('/') { format!("library/{rest}") } else { rest.to_string() };
    Some(RepositoryRef { host: first.to_string(), path })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_defaults_and_ports() {
        assert_eq!(parse_repository("nginx").unwrap().display(), "docker.io/library/nginx");
        let r = parse_repository("localhost:5000/models/qwen").unwrap();
        assert_eq!((r.host.as_str(), r.path.as_str()), ("localhost:5000", "models/qwen"));
        assert!(r.is_loopback());
        let r = parse_repository("foundryoci.azurecr.io/byo-models-gpu/llama-3.2-1b-cuda").unwrap();
        assert!(!r.is_loopback());
        assert!(parse_repository("repo:tag").is_none());
        assert!(parse_repository("127.0.0.1:5000/m").unwrap().is_loopback());
        assert!(parse_repository("[::1]:5000/m").unwrap().is_loopback());
        assert!(parse_repository("127.1.2.3/m").unwrap().is_loopback());
        // A name that merely starts like a loopback address is a remote host.
        assert!(!parse_repository("127.evil.example.com/m").unwrap().is_loopback());
        assert!(!parse_repository("127.0.0.1.nip.io:5000/m").unwrap().is_loopback());
        assert!(!parse_repository("localhost.example.com/m").unwrap().is_loopback());
    }

    #[test]
    fn only_oci_tags_are_tags() {
        for tag in ["v1.2.3", "latest", "_x", "1.0.0-rc.1", &"a".repeat(128)] {
            assert!(is_oci_tag(tag), "{tag}");
        }
        let long = "a".repeat(129);
        for tag in
            ["", "~/../../../../v2/_catalog", "~x?n=1#frag", ".hidden", "-x", "a b", "v1\u{202e}", "v1\n", "a/b", &long]
        {
            assert!(!is_oci_tag(tag), "{tag:?}");
        }
    }
}
