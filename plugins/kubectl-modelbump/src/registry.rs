//! The OCI registries behind `gpuops_gitops::bump::TagSource`.

use std::collections::BTreeSet;

use gpuops_gitops::Scan;
use gpuops_gitops::bump::{TagSource, TagSourceError};
use gpuops_registry::{Client, Options};

/// Registry clients: credentials never travel over plain HTTP except to a
/// loopback registry, so hosts reached over plain HTTP by name
/// (`ImageRepository.spec.insecure`, `--insecure-registry`) get a client
/// that sends none.
pub(crate) struct Clients {
    secure: Client,
    plain: Client,
    plain_hosts: BTreeSet<String>,
}

impl Clients {
    /// `spec.insecure: true` = plain HTTP to that registry only
    /// (image-reflector-controller api/v1/imagerepository_types.go `Insecure`).
    pub(crate) fn new(options: Options, scan: &Scan) -> Self {
        let mut plain_hosts: BTreeSet<String> = options.insecure_registries.iter().cloned().collect();
        for r in scan.repositories.iter().filter(|r| r.insecure) {
            if let Some(repo) = gpuops_registry::parse_repository(&r.image) {
                plain_hosts.insert(repo.host);
            }
        }
        plain_hosts.retain(|h| !gpuops_registry::parse_repository(&format!("{h}/x")).is_some_and(|r| r.is_loopback()));
        let plain = Client::new(Options {
            insecure_registries: plain_hosts.iter().cloned().collect(),
            use_docker_config: false,
            ..options.clone()
        });
        let secure = Client::new(Options { insecure_registries: Vec::new(), ..options });
        Self { secure, plain, plain_hosts }
    }

    pub(crate) fn for_image(&self, image: &str) -> &Client {
        let host = gpuops_registry::parse_repository(image).map(|r| r.host).unwrap_or_default();
        if self.plain_hosts.contains(&host) { &self.plain } else { &self.secure }
    }
}

/// The registries as `gpuops_gitops::bump` asks them: each image through
/// the client its host gets, a progress tick per repository listed.
pub(crate) struct Registries<'a> {
    pub(crate) clients: &'a Clients,
    pub(crate) progress: Option<&'a gpuops_cli::progress::Progress>,
}

impl TagSource for Registries<'_> {
    fn list_tags(&self, image: &str) -> Result<Vec<String>, TagSourceError> {
        let tags = self.clients.for_image(image).list_tags(image).map_err(TagSourceError::new);
        if let Some(p) = self.progress {
            p.inc();
        }
        tags
    }

    fn digest(&self, image: &str, tag: &str) -> Result<String, TagSourceError> {
        self.clients.for_image(image).digest(image, tag).map_err(TagSourceError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ImageRepository.spec.insecure: true` = plain HTTP to that registry
    /// only, and without docker's credentials unless it is loopback.
    #[test]
    fn insecure_repositories_get_plain_http_without_credentials() {
        let mut scan = Scan::default();
        let repo = |name: &str, image: &str, insecure: bool| {
            format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {{name: {name}}}\nspec: {{image: {image}, insecure: {insecure}}}\n---\n"
            )
        };
        let text = repo("lan", "reg.lan:5000/m", true)
            + &repo("local", "127.0.0.1:5000/m", true)
            + &repo("hub", "ghcr.io/a/m", false);
        gpuops_gitops::scan_text(&mut scan, "f.yaml", &text);
        assert_eq!(scan.repositories.len(), 3);
        let clients = Clients::new(Options::default(), &scan);
        let lan = clients.for_image("reg.lan:5000/m").options();
        assert_eq!(lan.insecure_registries, ["reg.lan:5000"], "plain HTTP to that host");
        assert!(!lan.use_docker_config, "no credentials over plain HTTP");
        for other in ["127.0.0.1:5000/m", "ghcr.io/a/m", "reg.lan:5001/m"] {
            let o = clients.for_image(other).options();
            assert!(o.use_docker_config && o.insecure_registries.is_empty(), "{other}");
        }
    }
}
