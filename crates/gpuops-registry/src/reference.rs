//! `host[:port]/path[:tag|@digest]` → registry host, repository path and
//! manifest reference, each checked against the grammar of the OCI
//! distribution spec before it reaches a URL or a file name.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

use gpuops_manifest::imageref;
use gpuops_manifest::text::printable;

use crate::RegistryError;

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
/// never written into a file and never spliced into a URL. One grammar
/// for modelbump's tags and gpufit's `oci://` references: the kernel's.
/// Source: opencontainers/distribution-spec spec.md:160 ("Pulling
/// manifests", `<reference>` as a tag).
pub fn is_oci_tag(tag: &str) -> bool {
    imageref::is_tag(tag)
}

/// A digest as the OCI image spec writes it (descriptor.md, "Digests"):
/// `algorithm:encoded`, algorithm `[a-z0-9]+([+._-][a-z0-9]+)*`, encoded
/// `[a-zA-Z0-9=_-]+`, with sha256 = 64 and sha512 = 128 lowercase hex
/// digits (distribution/reference regexp.go `digestPat`). A "digest" from a
/// manifest that is not one (`sha256:../../x`) never reaches a URL.
pub fn is_oci_digest(digest: &str) -> bool {
    let Some((algorithm, _)) = digest.split_once(':') else { return false };
    let components_ok = algorithm
        .split(['+', '.', '_', '-'])
        .all(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    digest.len() <= 256 && components_ok && imageref::is_digest(digest)
}

/// A repository path in the OCI name grammar (distribution-spec spec.md:151):
/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`.
pub fn is_oci_repository_path(path: &str) -> bool {
    // distribution/reference regexp.go: `alphanumeric`, `separator` =
    // `(?:[._]|__|[-]+)`; a component starts and ends alphanumeric.
    fn component(c: &str) -> bool {
        let bytes = c.as_bytes();
        let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
        if bytes.is_empty() || !alnum(&bytes[0]) || !alnum(&bytes[bytes.len() - 1]) {
            return false;
        }
        let mut run = String::new();
        for &b in bytes {
            if alnum(&b) {
                if !(run.is_empty() || run == "." || run == "_" || run == "__" || run.bytes().all(|r| r == b'-')) {
                    return false;
                }
                run.clear();
            } else if matches!(b, b'.' | b'_' | b'-') {
                run.push(b as char);
            } else {
                return false;
            }
        }
        true
    }
    path.len() <= 255 && path.split('/').all(component)
}

/// A registry host as distribution/reference regexp.go `domainAndPort`
/// accepts it: DNS labels (`[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?` joined
/// by dots) or a bracketed IPv6 address, then an optional `:port`. No
/// `user@` part: `[::1]@evil.example:5000` is not a host.
pub fn is_registry_host(authority: &str) -> bool {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((ip, port)) => {
                if ip.parse::<std::net::Ipv6Addr>().is_err() {
                    return false;
                }
                (None, port)
            }
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((host, _)) => (Some(host), &authority[host.len()..]),
            None => (Some(authority), ""),
        },
    };
    let port_ok = port.is_empty()
        || port
            .strip_prefix(':')
            .is_some_and(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let label = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b.len() <= 63
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    port_ok && host.is_none_or(|h| h.len() <= 253 && h.split('.').all(label))
}

/// What a manifest is asked for by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ManifestRef {
    Tag(String),
    Digest(String),
}

impl ManifestRef {
    /// The `<reference>` path segment of `/v2/<name>/manifests/<reference>`.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Tag(t) | Self::Digest(t) => t,
        }
    }
}

/// An image or artifact reference whose every part passed the grammar.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OciReference {
    pub repository: RepositoryRef,
    pub manifest: ManifestRef,
}

impl OciReference {
    /// `host/path:tag` or `host/path@digest`.
    pub fn display(&self) -> String {
        let separator = if matches!(self.manifest, ManifestRef::Tag(_)) { ':' } else { '@' };
        format!("{}{separator}{}", self.repository.display(), self.manifest.as_str())
    }

    /// A file name for this reference, built only from checked parts: the
    /// readable reference with `/` and `:` as `_`, then a hash of it, so
    /// `reg/a_b` and `reg/a/b` never share a cache file.
    pub fn cache_file_stem(&self) -> String {
        let shown = self.display();
        let readable: String =
            shown.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
        let mut hash = String::new();
        for byte in &Sha256::digest(shown.as_bytes())[..8] {
            let _ = write!(hash, "{byte:02x}");
        }
        format!("{}-{hash}", readable.chars().take(120).collect::<String>())
    }
}

/// Parse `[oci://]host/path[:tag][@digest]` (tag `latest` when neither),
/// refusing — before any request — a host, path, tag or digest outside the
/// OCI grammar. A digest wins over a tag, as docker resolves `name:tag@digest`.
pub fn parse_oci_reference(text: &str) -> Result<OciReference, RegistryError> {
    let image = text.strip_prefix("oci://").unwrap_or(text);
    let refuse =
        |problem: &str| RegistryError::InvalidReference { reference: printable(text), problem: problem.into() };
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    let repository = parse_repository(name)
        .ok_or_else(|| refuse("not a repository (host/path in lowercase letters, digits and . _ __ - separators)"))?;
    if tag.is_some_and(|t| !is_oci_tag(t)) {
        return Err(refuse("the tag is not an OCI tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})"));
    }
    let manifest = match digest {
        Some(d) if is_oci_digest(d) => ManifestRef::Digest(d.to_string()),
        Some(_) => return Err(refuse("the digest is not an OCI digest (algorithm:encoded, sha256 = 64 hex digits)")),
        None => ManifestRef::Tag(tag.unwrap_or("latest").to_string()),
    };
    Ok(OciReference { repository, manifest })
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
    let path = if first == "docker.io" && !rest.contains('/') { format!("library/{rest}") } else { rest.to_string() };
    // Both parts in the grammar, so neither can smuggle a `user@`, a `..`
    // segment or a query into the URLs built from them.
    (is_registry_host(first) && is_oci_repository_path(&path)).then(|| RepositoryRef { host: first.to_string(), path })
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
    fn oci_references_pass_the_grammar_before_any_url() {
        let d = format!("sha256:{}", "a".repeat(64));
        let r = parse_oci_reference(&format!("oci://127.0.0.1:5000/models/qwen@{d}")).unwrap();
        assert_eq!(r.manifest, ManifestRef::Digest(d.clone()));
        let r = parse_oci_reference("reg.example.com:5000/models/qwen_2-5__x:1.0").unwrap();
        assert_eq!((r.repository.path.as_str(), r.manifest.as_str()), ("models/qwen_2-5__x", "1.0"));
        assert_eq!(parse_oci_reference("localhost:5000/m").unwrap().manifest.as_str(), "latest");
        for hostile in [
            "oci://127.0.0.1:5000/m@../../../v2/_catalog?n=1",
            "127.0.0.1:5000/m@sha256:../../x",
            "127.0.0.1:5000/m:../../x",
            "127.0.0.1:5000/../../v2/_catalog",
            "127.0.0.1:5000/m/..",
            "127.0.0.1:5000/M",
            "[::1]@evil.example:5000/m:1",
            "127.0.0.1:5000@evil.example/m",
            "127.0.0.1:5000/m?n=1",
            "127.0.0.1:5000/m:1\u{1b}[2J",
            "127.0.0.1:5000/m@SHA256:abc",
        ] {
            let err = parse_oci_reference(hostile).unwrap_err();
            assert!(matches!(err, RegistryError::InvalidReference { .. }), "{hostile}: {err}");
            assert!(!err.to_string().contains('\u{1b}'), "escaped for terminals: {err}");
        }
        assert!(is_oci_digest(&d) && is_oci_digest("sha256+b64u:LCa0a2j_xo_5m0U8HTBBNBNCLXBkg7-g-YpeiGJm564"));
        for bad in ["sha256:../../x", "sha256:abc", "sha256::", ".sha256:ab", "a..b:ab", "sha256", ""] {
            assert!(!is_oci_digest(bad), "{bad:?}");
        }
        for path in ["a", "library/nginx", "a.b_c__d---e/f9"] {
            assert!(is_oci_repository_path(path), "{path}");
        }
        for path in ["", "a//b", "/a", "a/", "A", "a___b", "a.-b", "-a", "a_", "..", "a/../b"] {
            assert!(!is_oci_repository_path(path), "{path:?}");
        }
        for host in ["ghcr.io", "localhost:5000", "[::1]:5000", "127.0.0.1", "my-reg.example.com:443"] {
            assert!(is_registry_host(host), "{host}");
        }
        for host in ["[::1]@evil.example", "a@b", "-a.com", "a..b", "h:", "h:1:2", "[zz]:1", "h:123456", "h/x"] {
            assert!(!is_registry_host(host), "{host:?}");
        }
        // Different references never share a cache file.
        let stem = |s: &str| parse_oci_reference(s).unwrap().cache_file_stem();
        assert_ne!(stem("reg.io/a_b:1"), stem("reg.io/a/b:1"));
        assert!(stem("reg.io:5000/a/b:1").starts_with("reg.io_5000_a_b_1-"));
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
