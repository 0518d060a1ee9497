//! `parameters`: what the Argo CD UI's Parameters tab shows.
//!
//! Runs on every UI open with a reduced environment (no revision, no
//! namespace, no `KUBE_*`: reference §2.2), so it reads only the app
//! directory: its YAML and the local directories its kustomizations name,
//! without running kustomize. Every default is a string (§4: a number in an
//! announcement fails the UI's decoding).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use gpuops_manifest::imageref::ImageRef;
use gpuops_manifest::locator;
use gpuops_manifest::resources::is_gpu;

use crate::root::Repo;

/// How Argo CD carries a parameter: its `collectionType` in the
/// announcement and the one field of `ARGOCD_APP_PARAMETERS` it may set
/// (argo-cd pkg/apis/application/v1alpha1/types.go,
/// `ApplicationSourcePluginParameter` and its `MarshalJSON`: `string`,
/// `map` or `array`, each present only when set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collection {
    String,
    Array,
    Map,
}

impl Collection {
    /// The field name, as Argo CD writes it.
    pub fn field(self) -> &'static str {
        match self {
            Collection::String => "string",
            Collection::Array => "array",
            Collection::Map => "map",
        }
    }

    /// "a string", "an array", "a map".
    pub fn article(self) -> &'static str {
        match self {
            Collection::String => "a string",
            Collection::Array => "an array",
            Collection::Map => "a map",
        }
    }
}

/// Every parameter the plugin reads and its shape: one table for the
/// announcement and for checking what an Application sends, so the two
/// cannot drift.
pub const PARAMETERS: &[(&str, Collection)] = &[
    ("gpu-count", Collection::String),
    ("gpu-resource", Collection::String),
    ("gpu-product", Collection::String),
    ("model-tags", Collection::Map),
    ("selector-kinds", Collection::Array),
    ("selector-names", Collection::Array),
    ("selector-namespaces", Collection::Array),
    ("selector-labels", Collection::Map),
    ("fit-gate", Collection::String),
    ("capacity", Collection::String),
    ("kube-version", Collection::String),
    ("allow-empty", Collection::String),
    ("directory-recurse", Collection::String),
    ("directory-include", Collection::String),
    ("directory-exclude", Collection::String),
];

/// The declared shape of a parameter; `None` for a name the plugin does not read.
pub fn collection(name: &str) -> Option<Collection> {
    PARAMETERS.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

/// Every parameter name, in table order.
pub fn known() -> impl Iterator<Item = &'static str> {
    PARAMETERS.iter().map(|(n, _)| *n)
}

/// What the app directory holds today.
#[derive(Debug, Default)]
pub struct Detected {
    /// Image/model repository → current tag.
    pub tags: BTreeMap<String, String>,
    /// `Kind/name` → GPUs per pod.
    pub gpus: BTreeMap<String, String>,
}

/// The kustomization file of `dir`, under any of the names kustomize accepts.
pub(crate) fn kustomization_in(dir: &Path) -> Option<PathBuf> {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"].iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

/// YAML files of a directory, following a kustomization's local
/// `resources` and `components` (remote ones are skipped). Nothing outside
/// `repo` is read: an entry leaving it (`../../../other-repo`, an absolute
/// path, a symbolic link out) is skipped, as is a linked file pointing out.
fn manifest_files(repo: &Repo, dir: &Path, seen: &mut Vec<PathBuf>, out: &mut Vec<PathBuf>) {
    let Ok(canonical) = dir.canonicalize() else { return };
    if !canonical.starts_with(repo.root()) || seen.contains(&canonical) || seen.len() > 64 {
        return;
    }
    seen.push(canonical);
    let Some(kustomization) = kustomization_in(dir).filter(|k| repo.contains(k)) else {
        if let Ok(files) = gpuops_manifest::walk::files(dir, |p| gpuops_manifest::walk::is_manifest(p, true)) {
            out.extend(files.into_iter().filter(|f| repo.contains(f)));
        }
        return;
    };
    let Ok(text) = std::fs::read_to_string(&kustomization) else { return };
    let Ok(docs) = gpuops_manifest::yaml::parse_stream(&text, "kustomization") else { return };
    let Some(k) = docs.first().map(|d| &d.value) else { return };
    for key in ["resources", "components", "bases"] {
        for entry in k.get(key).and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
            if entry.contains("://") || entry.starts_with("github.com/") {
                continue;
            }
            let Ok(path) = repo.resolve(dir, entry) else { continue };
            if path.is_dir() {
                manifest_files(repo, &path, seen, out);
            } else if path.is_file() {
                out.push(path);
            }
        }
    }
}

/// Models/images and GPU counts in the app directory (files in `repo` only).
pub fn detect(dir: &Path, repo: &Repo) -> Detected {
    let mut files = Vec::new();
    manifest_files(repo, dir, &mut Vec::new(), &mut files);
    let mut detected = Detected::default();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let Ok(docs) = gpuops_manifest::yaml::parse_stream(&text, &file.display().to_string()) else { continue };
        for obj in docs.iter().map(|d| &d.value).filter(|o| locator::is_workload(o)) {
            let name = format!(
                "{}/{}",
                locator::kind(obj),
                obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("")
            );
            for site in locator::pod_sites(obj) {
                for slot in locator::containers(obj, &site) {
                    let Some(container) = slot.path.get(obj) else { continue };
                    if let Some(image) = container.get("image").and_then(Value::as_str).and_then(ImageRef::parse)
                        && let Some(tag) = image.tag
                    {
                        detected.tags.entry(image.name).or_insert(tag);
                    }
                    // KServe OCI models: `storageUri: oci://REGISTRY/REPO:TAG`.
                    if let Some(image) = container
                        .get("storageUri")
                        .and_then(Value::as_str)
                        .and_then(|u| u.strip_prefix("oci://"))
                        .and_then(ImageRef::parse)
                        && let Some(tag) = image.tag
                    {
                        detected.tags.entry(image.name).or_insert(tag);
                    }
                    let limits = container.pointer("/resources/limits").and_then(Value::as_object);
                    if let Some((_, count)) = limits.into_iter().flatten().find(|(k, _)| is_gpu(k)) {
                        let count = count.as_str().map_or_else(|| count.to_string(), str::to_string);
                        detected.gpus.entry(name.clone()).or_insert(count);
                    }
                }
            }
        }
    }
    detected
}

/// One announcement; `collectionType` and the default's field come from
/// [`PARAMETERS`].
fn announce(name: &str, title: &str, tooltip: &str, default: Value) -> Value {
    let field = collection(name).expect("every announced parameter is in PARAMETERS").field();
    json!({"name": name, "title": title, "tooltip": tooltip, "collectionType": field, field: default})
}

fn string(name: &str, title: &str, tooltip: &str, default: &str) -> Value {
    announce(name, title, tooltip, json!(default))
}

/// The tooltip's list of what the app holds today, capped: Argo CD sends
/// the announcements on every UI open.
fn listing(entries: impl Iterator<Item = String>, none: &str) -> String {
    let entries: Vec<String> = entries.collect();
    match entries.len() {
        0 => none.to_string(),
        n if n > 20 => format!("{} … and {} more", entries[..20].join(", "), n - 20),
        _ => entries.join(", "),
    }
}

/// The announcements, every value a string. A default is what the UI shows
/// in the field and may save with the Application; a default that restates
/// the repository would then pin it (a later Git change of that value is
/// overridden). So a default is empty ("as in the repo") unless it changes
/// nothing: `model-tags` is announced empty with today's tags in the
/// tooltip; `gpu-count` is the count only when every GPU workload has it.
/// Every parameter the plugin accepts is announced ([`PARAMETERS`], checked
/// by the test `every_accepted_parameter_is_announced`).
pub fn announcements(dir: &Path, repo: &Repo) -> Value {
    let detected = detect(dir, repo);
    let per_workload = listing(detected.gpus.iter().map(|(w, n)| format!("{w}: {n}")), "no GPU workload found");
    let mut counts = detected.gpus.values();
    let first = counts.next().cloned().unwrap_or_default();
    let current_count = if counts.all(|c| *c == first) { first } else { String::new() };
    let tags = listing(detected.tags.iter().map(|(r, t)| format!("{r}: {t}")), "no model reference found");
    json!([
        string(
            "gpu-count",
            "GPUs per pod",
            &format!(
                "Set the GPU count of every selected workload (0 removes GPU requests; auto: the smallest count at which its model fits gpu-product; empty: as in the repo). Now: {per_workload}"
            ),
            &current_count
        ),
        string(
            "gpu-resource",
            "GPU resource",
            "Extended resource to request (nvidia.com/gpu, nvidia.com/mig-1g.10gb, amd.com/gpu); empty: nvidia.com/gpu",
            ""
        ),
        string(
            "gpu-product",
            "GPU product",
            "nodeSelector nvidia.com/gpu.product (e.g. NVIDIA-H100-80GB-HBM3); empty: any",
            ""
        ),
        announce(
            "model-tags",
            "Model tags",
            &format!(
                "Repository → tag to deploy (ModelTags), only for the models you pin here; the others follow Git. Now: {tags}"
            ),
            json!({})
        ),
        announce(
            "selector-kinds",
            "Only these kinds",
            "Workload kinds the GPU settings apply to; empty: all",
            json!([])
        ),
        announce(
            "selector-names",
            "Only these names",
            "Workload names (globs) the GPU settings apply to; empty: all",
            json!([])
        ),
        announce(
            "selector-namespaces",
            "Only these namespaces",
            "Namespaces of the workloads the GPU settings apply to; empty: all",
            json!([])
        ),
        announce(
            "selector-labels",
            "Only these labels",
            "Labels (key → value) the workloads the GPU settings apply to must all carry; empty: any",
            json!({})
        ),
        string(
            "fit-gate",
            "Fit gate",
            "off | warn | enforce: check that the render fits `capacity` the way the scheduler would (warn: the gpuops.dev/fit annotation on what does not fit)",
            "off"
        ),
        string(
            "capacity",
            "Capacity",
            "A node-pool/cluster dump file in the repo (relative to the app) or pools like 2*8xH100-80GB",
            ""
        ),
        string(
            "kube-version",
            "Kubernetes version",
            "Version whose scheduler messages to use; default: KUBE_VERSION from Argo CD",
            ""
        ),
        string(
            "allow-empty",
            "Allow empty output",
            "true lets an empty render through (with prune it deletes every resource)",
            "false"
        ),
        string(
            "directory-recurse",
            "Read subdirectories",
            "Plain-directory apps only (no kustomization): true reads subdirectories, as Argo CD's directory.recurse; empty: false",
            ""
        ),
        string(
            "directory-include",
            "Include (glob)",
            "Plain-directory apps only: read only files whose path in the app matches, as Argo CD's directory.include",
            ""
        ),
        string(
            "directory-exclude",
            "Exclude (glob)",
            "Plain-directory apps only: skip files whose path in the app matches, as Argo CD's directory.exclude",
            ""
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parameter `generate` accepts is announced, in the shape it
    /// checks (before: selector-labels and selector-namespaces were accepted
    /// but not announced).
    #[test]
    fn every_accepted_parameter_is_announced() {
        let dir = tempfile::tempdir().unwrap();
        let announced = announcements(dir.path(), &Repo::at(dir.path()));
        let names: Vec<&str> = announced.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(names, known().collect::<Vec<_>>());
    }
}
