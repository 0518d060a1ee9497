//! Ask the registries, concurrently, what each referenced policy resolves to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use gpuops_gitops::{DigestReflection, Field, Latest, Reference, Scan};
use gpuops_registry::Client;

/// `(namespace, policy)` as a marker names it.
pub(crate) type PolicyKey = (String, String);

/// What a policy resolved to, or why it could not.
pub(crate) type Resolution = Result<Latest, String>;

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

/// Resolve every policy the references name.
pub(crate) fn resolve(
    scan: &Scan,
    references: &[Reference],
    client: &Client,
    workers: usize,
    force_digest: bool,
) -> BTreeMap<PolicyKey, Resolution> {
    let keys: BTreeSet<PolicyKey> =
        references.iter().map(|r| (r.marker.namespace.clone(), r.marker.policy.clone())).collect();
    let mut out = BTreeMap::new();
    // (key, image, compiled policy, wants digest)
    let mut targets = Vec::new();
    for key in keys {
        let compiled = scan.resolve(&key.0, &key.1).map_err(|e| e.to_string()).and_then(|(policy, repository)| {
            let compiled = policy.compile(repository).map_err(|e| format!("ImagePolicy {}/{}: {e}", key.0, key.1))?;
            let wants_digest = force_digest
                || policy.digest_reflection != DigestReflection::Never
                || references.iter().any(|r| {
                    r.marker.field == Field::Digest && r.marker.policy == key.1 && r.marker.namespace == key.0
                });
            Ok((repository.image.clone(), compiled, wants_digest))
        });
        match compiled {
            Ok((image, policy, digest)) => targets.push((key, image, policy, digest)),
            Err(message) => {
                out.insert(key, Err(message));
            }
        }
    }
    let images: Vec<String> = targets.iter().map(|t| t.1.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let progress = gpuops_cli::progress::Progress::bar(images.len() as u64, "repositories listed");
    let listed: BTreeMap<String, Result<Vec<String>, String>> = images
        .iter()
        .cloned()
        .zip(parallel(&images, workers, |image| {
            let tags = client.list_tags(image).map_err(|e| e.to_string());
            progress.inc();
            tags
        }))
        .collect();
    drop(progress);
    let picked: Vec<(PolicyKey, String, Result<String, String>, bool)> = targets
        .into_iter()
        .map(|(key, image, policy, digest)| {
            let tag = match &listed[&image] {
                Err(e) => Err(e.clone()),
                Ok(tags) => match policy.latest(tags) {
                    Ok(Some(tag)) => Ok(tag.to_string()),
                    Ok(None) => Err(format!(
                        "no tag of {image} satisfies ImagePolicy {}/{} ({} tags listed)",
                        key.0,
                        key.1,
                        tags.len()
                    )),
                    Err(e) => Err(format!("ImagePolicy {}/{}: {e}", key.0, key.1)),
                },
            };
            (key, image, tag, digest)
        })
        .collect();
    let resolved = parallel(&picked, workers, |(_, image, tag, digest)| -> Resolution {
        let tag = tag.clone()?;
        let digest = if *digest { Some(client.digest(image, &tag).map_err(|e| e.to_string())?) } else { None };
        Ok(Latest { image: image.clone(), tag, digest })
    });
    for ((key, ..), resolution) in picked.into_iter().zip(resolved) {
        out.insert(key, resolution);
    }
    out
}
