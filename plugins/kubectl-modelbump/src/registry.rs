//! The OCI registries behind `gpuops_gitops::bump::TagSource`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use gpuops_gitops::Scan;
use gpuops_gitops::bump::{TagSource, TagSourceError};
use gpuops_manifest::text::printable;
use gpuops_registry::{Client, CloudProvider, CredentialHelper, Options, RegistryError};

/// Registry clients: credentials never travel over plain HTTP except to a
/// loopback registry, so hosts reached over plain HTTP by name
/// (`ImageRepository.spec.insecure`, `--insecure-registry`) get a client
/// that sends none. Hosts of an `ImageRepository.spec.provider` log in
/// through that cloud's docker credential helper, or fail with what to
/// install.
pub(crate) struct Clients {
    secure: Client,
    plain: Client,
    plain_hosts: BTreeSet<String>,
    /// Hosts whose provider login cannot be had: why, for every request.
    refused: BTreeMap<String, String>,
    /// What the cluster-side fields of the ImageRepositories mean here.
    pub(crate) warnings: Vec<String>,
}

/// `program` on `PATH`, as a shell finds it (an executable file).
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

/// Where each cloud's helper is published, for the "install it" line.
fn helper_home(provider: CloudProvider) -> &'static str {
    match provider {
        CloudProvider::Aws => "https://github.com/awslabs/amazon-ecr-credential-helper",
        CloudProvider::Azure => "https://github.com/chrismellard/docker-credential-acr-env",
        CloudProvider::Gcp => "https://github.com/GoogleCloudPlatform/docker-credential-gcr",
    }
}

impl Clients {
    /// `spec.insecure: true` = plain HTTP to that registry only
    /// (image-reflector-controller api/v1/imagerepository_types.go `Insecure`).
    /// `find` locates a credential helper program ([`on_path`]).
    pub(crate) fn new(mut options: Options, scan: &Scan, find: impl Fn(&str) -> Option<PathBuf>) -> Self {
        let mut plain_hosts: BTreeSet<String> = options.insecure_registries.iter().cloned().collect();
        for r in scan.repositories.iter().filter(|r| r.insecure) {
            if let Some(repo) = gpuops_registry::parse_repository(&r.image) {
                plain_hosts.insert(repo.host);
            }
        }
        plain_hosts.retain(|h| !gpuops_registry::parse_repository(&format!("{h}/x")).is_some_and(|r| r.is_loopback()));
        let (refused, warnings) = credential_sources(&mut options, scan, &find);
        let plain = Client::new(Options {
            insecure_registries: plain_hosts.iter().cloned().collect(),
            use_docker_config: false,
            credential_helpers: BTreeMap::new(),
            ..options.clone()
        });
        let secure = Client::new(Options { insecure_registries: Vec::new(), ..options });
        Self { secure, plain, plain_hosts, refused, warnings }
    }

    pub(crate) fn for_image(&self, image: &str) -> Result<&Client, String> {
        let host = gpuops_registry::parse_repository(image).map(|r| r.host).unwrap_or_default();
        if let Some(why) = self.refused.get(&host) {
            return Err(format!("{}: {why}", printable(image)));
        }
        Ok(if self.plain_hosts.contains(&host) { &self.plain } else { &self.secure })
    }
}

/// The credential helper of each `spec.provider` host (into `options`),
/// the hosts that cannot log in (helper missing, a host the provider does
/// not serve: fluxcd/pkg auth `ParseArtifactRepository`), and a warning
/// for each `secretRef`/`certSecretRef`: Secrets in the cluster, which a
/// run here cannot read — never silently ignored.
fn credential_sources(
    options: &mut Options,
    scan: &Scan,
    find: &dyn Fn(&str) -> Option<PathBuf>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut refused = BTreeMap::new();
    let mut warnings = Vec::new();
    for r in &scan.repositories {
        let Some(repo) = gpuops_registry::parse_repository(&r.image) else { continue };
        let who = format!(
            "ImageRepository {}/{} ({}:{})",
            printable(r.namespace.as_deref().unwrap_or("")),
            printable(&r.name),
            printable(&r.source.path),
            r.source.line
        );
        let host = printable(&repo.host);
        let provider = CloudProvider::from_spec(r.provider.as_deref());
        if let Some(secret) = &r.secret_ref {
            warnings.push(match provider {
                // options.go:148: with a provider the pull secret is not read.
                Some(p) => format!("{who}: spec.secretRef {:?} is not used with spec.provider: {p}, as Flux does not use it", printable(secret)),
                None => format!(
                    "{who}: spec.secretRef {:?} is a Secret in the cluster, which modelbump cannot read; here the login for {host} comes from docker's config: run `docker login {host}` (or set DOCKER_CONFIG to a directory whose config.json has it)",
                    printable(secret)
                ),
            });
        }
        if let Some(secret) = &r.cert_secret_ref {
            warnings.push(format!(
                "{who}: spec.certSecretRef {:?} is a Secret in the cluster, which modelbump cannot read; here {host}'s certificate must chain to the built-in web PKI roots, the system's CA store or $SSL_CERT_FILE: for a private CA, pass its ca.crt with --certificate-authority FILE",
                printable(secret)
            ));
        }
        let Some(provider) = provider else { continue };
        // Every host, loopback too, as Flux checks it: a port-forward of
        // the cloud registry keeps its name with --resolve.
        if let Err(e) = provider.check_registry(&repo.host) {
            refused.insert(repo.host.clone(), format!("{who}: {e}"));
            continue;
        }
        match find(provider.helper()) {
            Some(program) => {
                options.credential_helpers.insert(repo.host.clone(), CredentialHelper { program, provider });
            }
            None => {
                refused.insert(
                    repo.host.clone(),
                    format!(
                        "{who} has spec.provider: {provider}, whose login comes from {helper}, which is not on PATH; install {helper} ({home}) with the {provider} identity it reads, or use docker's config by removing spec.provider",
                        helper = provider.helper(),
                        home = helper_home(provider)
                    ),
                );
            }
        }
    }
    (refused, warnings)
}

/// The registries as `gpuops_gitops::bump` asks them: each image through
/// the client its host gets, a progress tick per repository listed.
pub(crate) struct Registries<'a> {
    pub(crate) clients: &'a Clients,
    pub(crate) progress: Option<&'a gpuops_cli::progress::Progress>,
}

impl TagSource for Registries<'_> {
    fn list_tags(&self, image: &str) -> Result<Vec<String>, TagSourceError> {
        let tags = match self.clients.for_image(image) {
            Ok(client) => client.list_tags(image).map_err(with_hint),
            Err(why) => Err(TagSourceError::new(Refused(why))),
        };
        if let Some(p) = self.progress {
            p.inc();
        }
        tags
    }

    fn digest(&self, image: &str, tag: &str) -> Result<String, TagSourceError> {
        let client = self.clients.for_image(image).map_err(|why| TagSourceError::new(Refused(why)))?;
        client.digest(image, tag).map_err(with_hint)
    }
}

/// A registry error, with the flag that helps when the registry's
/// certificate chains to no trusted CA (the library names no flag).
fn with_hint(error: RegistryError) -> TagSourceError {
    match &error {
        RegistryError::Certificate { host, unknown_issuer: true, .. } => TagSourceError::new(Refused(format!(
            "{error}; if {host} uses a private CA, pass its CA certificate with --certificate-authority FILE (or set SSL_CERT_FILE)"
        ))),
        _ => TagSourceError::new(error),
    }
}

/// A registry not asked: its login cannot be had.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

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
        let clients = Clients::new(Options::default(), &scan, |_| None);
        let lan = clients.for_image("reg.lan:5000/m").unwrap().options();
        assert_eq!(lan.insecure_registries, ["reg.lan:5000"], "plain HTTP to that host");
        assert!(!lan.use_docker_config, "no credentials over plain HTTP");
        for other in ["127.0.0.1:5000/m", "ghcr.io/a/m", "reg.lan:5001/m"] {
            let o = clients.for_image(other).unwrap().options();
            assert!(o.use_docker_config && o.insecure_registries.is_empty(), "{other}");
        }
    }

    /// `spec.provider` on a host that provider does not serve is refused
    /// in fluxcd/pkg's words (`ParseArtifactRepository`); a helper found
    /// for a served host is used for that host only.
    #[test]
    fn provider_hosts_are_checked_and_get_their_helper() {
        let mut scan = Scan::default();
        let repo = |name: &str, image: &str, provider: &str| {
            format!(
                "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {{name: {name}, namespace: ns}}\nspec: {{image: {image}, provider: {provider}}}\n---\n"
            )
        };
        let text = repo("ecr", "123456789012.dkr.ecr.eu-west-1.amazonaws.com/m", "aws")
            + &repo("wrong", "ghcr.io/a/m", "aws")
            + &repo("gar", "europe-docker.pkg.dev/p/m", "gcp")
            + &repo("local", "127.0.0.1:5000/m", "aws");
        gpuops_gitops::scan_text(&mut scan, "f.yaml", &text);
        let found = |name: &str| (name == "docker-credential-ecr-login").then(|| PathBuf::from("/opt/bin").join(name));
        let clients = Clients::new(Options::default(), &scan, found);
        let ecr = clients.for_image("123456789012.dkr.ecr.eu-west-1.amazonaws.com/m").unwrap().options();
        let helper = &ecr.credential_helpers["123456789012.dkr.ecr.eu-west-1.amazonaws.com"];
        assert_eq!(helper.program, Path::new("/opt/bin/docker-credential-ecr-login"));
        assert_eq!(ecr.credential_helpers.len(), 1);
        let wrong = clients.for_image("ghcr.io/a/m").err().unwrap();
        assert!(wrong.contains("ImageRepository ns/wrong (f.yaml:"), "{wrong}");
        assert!(wrong.contains("invalid AWS registry: 'ghcr.io'. must match ([0-9+]*).dkr[.-]ecr"), "{wrong}");
        // A loopback registry gets no exemption (Flux has none): --resolve gives a port-forward its name.
        let local = clients.for_image("127.0.0.1:5000/m").err().unwrap();
        assert!(local.contains("invalid AWS registry: '127.0.0.1:5000'. must match ([0-9+]*).dkr[.-]ecr"), "{local}");
        let gar = clients.for_image("europe-docker.pkg.dev/p/m").err().unwrap();
        assert!(gar.contains("docker-credential-gcr, which is not on PATH; install docker-credential-gcr (https://github.com/GoogleCloudPlatform/docker-credential-gcr)"), "{gar}");
    }
}
