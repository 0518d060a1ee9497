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
        let host = self.host.rsplit_once(':').map_or(self.host.as_str(), |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) { h } else { &self.host }
        });
        host == "localhost" || host.starts_with("127.") || host == "[::1]" || host == "::1"
    }
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
    }
}
