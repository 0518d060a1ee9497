//! Ask the registries, concurrently, what each referenced policy resolves to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gpuops_gitops::scope::{Scope, Unusable};
use gpuops_gitops::{DigestReflection, Field, Latest, Reference, Scan};
use gpuops_registry::{Client, Options};

/// `(namespace, policy)` as a marker names it.
pub(crate) type PolicyKey = (String, String);

/// Why a policy gave no value.
#[derive(Debug, Clone)]
pub(crate) enum Failure {
    /// Flux would not use the policy here (scope, suspension, readiness).
    Unusable(Unusable),
    /// No tag satisfies the policy: Flux's policy has no latest image and
    /// the automation skips it (imageupdateautomation_controller.go
    /// `getPolicies`: "Ignore the policies that don't have a latest image").
    NoTag(String),
    /// Anything else (registry, policy syntax): the run fails.
    Error(String),
}

/// What a policy resolved to, or why it could not.
pub(crate) type Resolution = Result<Latest, Failure>;

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

/// Run `f` over `items` on at most `workers` threads, results in order.
pub(crate) fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new((0..items.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    results.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[i] = Some(r);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner).into_iter().flatten().collect()
}

/// The digest already pinned in Git for `key`'s image: Flux's
/// `IfNotPresent` keeps the digest it holds while the tag stays
/// (image-reflector-controller internal/controller/imagepolicy_controller.go:
/// `shouldFetch` is true only when LatestRef is nil, or its name or tag
/// differ, or its digest is empty). Git is what modelbump holds.
fn pinned_in_git(references: &[Reference], key: &PolicyKey, image: &str) -> Option<(String, String)> {
    references.iter().filter(|r| r.marker.namespace == key.0 && r.marker.policy == key.1).find_map(|r| {
        match crate::apply::reference_parts(r, image)? {
            (tag, Some(digest)) => Some((tag, digest)),
            _ => None,
        }
    })
}

/// One policy to ask the registry about.
struct Target {
    key: PolicyKey,
    image: String,
    policy: gpuops_gitops::policy::Policy,
    wants_digest: bool,
    pinned: Option<(String, String)>,
}

/// The policies the references name, compiled, each in `scope`.
fn targets(
    scan: &Scan,
    scope: Scope<'_>,
    references: &[Reference],
    force_digest: bool,
    out: &mut BTreeMap<PolicyKey, Resolution>,
) -> Vec<Target> {
    let keys: BTreeSet<PolicyKey> =
        references.iter().map(|r| (r.marker.namespace.clone(), r.marker.policy.clone())).collect();
    let mut targets = Vec::new();
    for key in keys {
        let (policy, repository) = match scan.policy_in_scope(scope, &key.0, &key.1) {
            Ok(found) => found,
            Err(u) => {
                out.insert(key, Err(Failure::Unusable(u)));
                continue;
            }
        };
        let compiled = match policy.compile(repository) {
            Ok(c) => c,
            Err(e) => {
                out.insert(key.clone(), Err(Failure::Error(format!("ImagePolicy {}/{}: {e}", key.0, key.1))));
                continue;
            }
        };
        let wants_digest = force_digest
            || policy.digest_reflection != DigestReflection::Never
            || references
                .iter()
                .any(|r| r.marker.field == Field::Digest && r.marker.policy == key.1 && r.marker.namespace == key.0);
        let pinned = (policy.digest_reflection == DigestReflection::IfNotPresent)
            .then(|| pinned_in_git(references, &key, &repository.image))
            .flatten();
        targets.push(Target { image: repository.image.clone(), policy: compiled, wants_digest, pinned, key });
    }
    targets
}

/// Resolve every policy the references name.
pub(crate) fn resolve(
    scan: &Scan,
    scope: Scope<'_>,
    references: &[Reference],
    clients: &Clients,
    workers: usize,
    force_digest: bool,
) -> BTreeMap<PolicyKey, Resolution> {
    let mut out = BTreeMap::new();
    let targets = targets(scan, scope, references, force_digest, &mut out);
    let images: Vec<String> = targets.iter().map(|t| t.image.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let progress = gpuops_cli::progress::Progress::bar(images.len() as u64, "repositories listed");
    let listed: BTreeMap<String, Result<Vec<String>, String>> = images
        .iter()
        .cloned()
        .zip(parallel(&images, workers, |image| {
            let tags = clients.for_image(image).list_tags(image).map_err(|e| e.to_string());
            progress.inc();
            tags
        }))
        .collect();
    drop(progress);
    let picked: Vec<(Target, Result<String, Failure>)> = targets
        .into_iter()
        .map(|t| {
            let (ns, name) = (&t.key.0, &t.key.1);
            let tag = match &listed[&t.image] {
                Err(e) => Err(Failure::Error(e.clone())),
                Ok(tags) => match t.policy.latest(tags) {
                    Ok(Some(tag)) => Ok(tag.to_string()),
                    Ok(None) => Err(Failure::NoTag(format!(
                        "no tag of {} satisfies ImagePolicy {ns}/{name} ({} tags listed)",
                        t.image,
                        tags.len()
                    ))),
                    Err(e) => Err(Failure::Error(format!("ImagePolicy {ns}/{name}: {e}"))),
                },
            };
            (t, tag)
        })
        .collect();
    let resolved = parallel(&picked, workers, |(t, tag)| -> Resolution {
        let tag = tag.clone()?;
        let digest = match &t.pinned {
            Some((pinned_tag, digest)) if *pinned_tag == tag => Some(digest.clone()),
            _ if t.wants_digest => {
                Some(clients.for_image(&t.image).digest(&t.image, &tag).map_err(|e| Failure::Error(e.to_string()))?)
            }
            _ => None,
        };
        Ok(Latest { image: t.image.clone(), tag, digest })
    });
    for ((t, _), resolution) in picked.into_iter().zip(resolved) {
        out.insert(t.key, resolution);
    }
    out
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
