//! Ask a [`TagSource`], concurrently, what each referenced policy resolves to.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::policy::{Policy, PolicyError, Verdict};
use crate::scope::{Scope, Unusable};
use crate::{DigestReflection, Field, Latest, Reference, Scan};

/// Where tags and digests come from: the registry in the plugin
/// (`gpuops_registry`, with its credentials and plain-HTTP rules), a fake
/// in tests. Called from several threads at once.
pub trait TagSource: Sync {
    /// Every tag of `image`, in the order the registry lists them.
    fn list_tags(&self, image: &str) -> Result<Vec<String>, TagSourceError>;
    /// The manifest digest `image:tag` points at (`sha256:…`).
    fn digest(&self, image: &str, tag: &str) -> Result<String, TagSourceError>;
}

/// A tag source's own error, shown as it words it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct TagSourceError(pub Box<dyn std::error::Error + Send + Sync>);

impl TagSourceError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}

/// `namespace/name` of an ImagePolicy, as a marker names it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PolicyKey {
    pub namespace: String,
    pub name: String,
}

impl PolicyKey {
    pub fn of(reference: &Reference) -> Self {
        Self { namespace: reference.marker.namespace.clone(), name: reference.marker.policy.clone() }
    }

    fn names(&self, reference: &Reference) -> bool {
        reference.marker.namespace == self.namespace && reference.marker.policy == self.name
    }
}

impl std::fmt::Display for PolicyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

/// Why a policy gave no value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
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
pub type Resolution = Result<Latest, Failure>;

/// What a policy made of a repository's tags, in the order the registry
/// listed them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagChoice {
    pub tags: Vec<String>,
    /// One per tag.
    pub verdicts: Vec<Verdict>,
}

impl TagChoice {
    /// The policy's pick.
    pub fn latest(&self) -> Option<&str> {
        self.verdicts.iter().position(|v| *v == Verdict::Latest).map(|i| self.tags[i].as_str())
    }

    /// Tag and verdict pairs sorted by tag, for a listing a person reads;
    /// the verdicts stay those of the listing order.
    pub fn sorted(&self) -> Vec<(&str, &Verdict)> {
        let mut rows: Vec<(&str, &Verdict)> = self.tags.iter().map(String::as_str).zip(&self.verdicts).collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        rows
    }
}

/// The one place a policy judges a repository's tags, for `tags` and
/// `apply` alike: in the order the registry listed them, because Flux's
/// ties depend on it (image-reflector-controller internal/policy/semver.go
/// `Latest` keeps the first of equal precedence, `v.GreaterThan(latest)`;
/// numerical.go `Latest` skips only a strictly worse value, so the last of
/// equal numbers wins). Sorting first — as `tags` once did — picks `1.0.0`
/// where Flux picks `v1.0.0` from the listing `[v1.0.0, 1.0.0]`.
pub fn choose(policy: &Policy, listed: Vec<String>) -> Result<TagChoice, PolicyError> {
    let verdicts = policy.evaluate(&listed)?;
    Ok(TagChoice { tags: listed, verdicts })
}

/// Run `f` over `items` on at most `workers` threads, results in order.
pub fn parallel<T: Sync, R: Send>(items: &[T], workers: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
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
    references.iter().filter(|r| key.names(r)).find_map(|r| match crate::bump::plan::reference_parts(r, image)? {
        (tag, Some(digest)) => Some((tag, digest)),
        _ => None,
    })
}

/// One policy to ask the tag source about.
struct Target {
    key: PolicyKey,
    image: String,
    policy: Policy,
    wants_digest: bool,
    pinned: Option<(String, String)>,
}

/// The policies the references name, compiled and scoped, before any
/// question to the tag source: [`Lookups::images`] says how many
/// repositories will be listed (for a progress bar).
pub struct Lookups {
    targets: Vec<Target>,
    settled: BTreeMap<PolicyKey, Resolution>,
}

impl Lookups {
    /// The policies `references` name, each in `scope`; `force_digest`
    /// pins every reference to its digest (`--digest`).
    pub fn new(scan: &Scan, scope: Scope<'_>, references: &[Reference], force_digest: bool) -> Self {
        let keys: BTreeSet<PolicyKey> = references.iter().map(PolicyKey::of).collect();
        let mut targets = Vec::new();
        let mut settled = BTreeMap::new();
        for key in keys {
            let (policy, repository) = match scan.policy_in_scope(scope, &key.namespace, &key.name) {
                Ok(found) => found,
                Err(u) => {
                    settled.insert(key, Err(Failure::Unusable(u)));
                    continue;
                }
            };
            let compiled = match policy.compile(repository) {
                Ok(c) => c,
                Err(e) => {
                    settled.insert(key.clone(), Err(Failure::Error(format!("ImagePolicy {key}: {e}"))));
                    continue;
                }
            };
            let wants_digest = force_digest
                || policy.digest_reflection != DigestReflection::Never
                || references.iter().any(|r| r.marker.field == Field::Digest && key.names(r));
            let pinned = (policy.digest_reflection == DigestReflection::IfNotPresent)
                .then(|| pinned_in_git(references, &key, &repository.image))
                .flatten();
            targets.push(Target { image: repository.image.clone(), policy: compiled, wants_digest, pinned, key });
        }
        Self { targets, settled }
    }

    /// The repositories to list, each once, sorted.
    pub fn images(&self) -> Vec<String> {
        self.targets.iter().map(|t| t.image.clone()).collect::<BTreeSet<_>>().into_iter().collect()
    }

    /// Ask `source` with `workers` threads; every policy gets a resolution.
    pub fn resolve(self, source: &dyn TagSource, workers: usize) -> BTreeMap<PolicyKey, Resolution> {
        let Self { targets, mut settled } = self;
        let images = targets.iter().map(|t| t.image.clone()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>();
        let listed: BTreeMap<String, Result<Vec<String>, TagSourceError>> =
            images.iter().cloned().zip(parallel(&images, workers, |image| source.list_tags(image))).collect();
        let picked: Vec<(Target, Result<String, Failure>)> = targets
            .into_iter()
            .map(|t| {
                let tag = match &listed[&t.image] {
                    Err(e) => Err(Failure::Error(e.to_string())),
                    Ok(tags) => pick(&t, tags.clone()),
                };
                (t, tag)
            })
            .collect();
        let resolved = parallel(&picked, workers, |(t, tag)| -> Resolution {
            let tag = tag.clone()?;
            let digest = match &t.pinned {
                Some((pinned_tag, digest)) if *pinned_tag == tag => Some(digest.clone()),
                _ if t.wants_digest => Some(source.digest(&t.image, &tag).map_err(|e| Failure::Error(e.to_string()))?),
                _ => None,
            };
            Ok(Latest { image: t.image.clone(), tag, digest })
        });
        for ((t, _), resolution) in picked.into_iter().zip(resolved) {
            settled.insert(t.key, resolution);
        }
        settled
    }
}

/// The tag `t`'s policy picks from `tags` (listing order, through [`choose`]).
fn pick(t: &Target, tags: Vec<String>) -> Result<String, Failure> {
    let count = tags.len();
    match choose(&t.policy, tags) {
        Ok(choice) => choice.latest().map(str::to_string).ok_or_else(|| {
            Failure::NoTag(format!("no tag of {} satisfies ImagePolicy {} ({count} tags listed)", t.image, t.key))
        }),
        Err(e) => Err(Failure::Error(format!("ImagePolicy {}: {e}", t.key))),
    }
}
