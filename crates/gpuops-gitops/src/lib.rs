//! A GitOps repository as modelbump sees it: Flux image objects, setter
//! markers, and the edits that bring markers up to date — planned,
//! written, committed and pushed all-or-nothing by [`bump`].

pub mod bump;
pub mod edit;
pub mod entries;
pub mod flux;
pub mod markers;
pub mod policy;
pub mod scope;
pub mod selector;
pub mod template;

use std::path::{Path, PathBuf};

pub use self::flux::{DigestReflection, ImagePolicy, ImageRepository, ImageUpdateAutomation, Source};
pub use self::markers::{Field, Marker, MarkerKind, Quote};
use gpuops_manifest::imageref::is_tag;
use gpuops_manifest::yaml;

/// A marker and the file it is in.
#[derive(Debug, Clone)]
pub struct Reference {
    pub source: Source,
    pub marker: Marker,
}

/// Something in the tree that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub source: Source,
    pub message: String,
}

/// What a scan of a directory found.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub root: PathBuf,
    pub repositories: Vec<ImageRepository>,
    pub policies: Vec<ImagePolicy>,
    pub automations: Vec<flux::ImageUpdateAutomation>,
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
    /// Files holding a marker that cannot be parsed: Flux records them as
    /// problem files and updates the rest (image-automation-controller
    /// internal/update/filereader.go `ScreeningLocalReader.Read`,
    /// `ProblemFiles`). Skipped with a warning; `--strict` makes them errors.
    pub problem_files: Vec<Problem>,
    /// `metadata.labels` of the `Namespace` objects in the tree, for
    /// `ImageRepository.spec.accessFrom`.
    pub namespace_labels: std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    pub files_scanned: usize,
}

/// Untrusted text for a one-line message: escaped and cut to 80 characters.
pub(crate) fn printable_short(s: &str) -> String {
    let p = gpuops_manifest::text::printable(s);
    if p.chars().count() > 80 { format!("{}…", p.chars().take(80).collect::<String>()) } else { p }
}

/// The marker tokens Flux screens files for (filereader.go `Token`), and ours.
fn holds_marker_token(bytes: &[u8]) -> bool {
    let has = |t: &[u8]| bytes.windows(t.len()).any(|w| w == t);
    has(b"$imagepolicy") || has(b"$modelpolicy")
}

#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct ScanError {
    pub path: String,
    pub source: std::io::Error,
}

/// The files Flux's image automation reads under `root`
/// (image-automation-controller internal/update/filereader.go
/// `ScreeningLocalReader.Read`: extension `.yaml` or `.yml`, or a file named
/// `Kustomization`; every directory but `.git`), sorted; `root` itself when
/// it is a file. Links are not followed.
pub fn yaml_files(root: &Path) -> Result<Vec<PathBuf>, ScanError> {
    let wanted =
        |p: &Path| gpuops_manifest::walk::is_manifest(p, false) || p.file_name().is_some_and(|n| n == "Kustomization");
    gpuops_manifest::walk::files_skipping(root, gpuops_manifest::walk::Skip::GitDir, wanted)
        .map_err(|e| ScanError { path: e.path.display().to_string(), source: e.source })
}

/// The `/`-separated path of `path` relative to `root`.
pub fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let text = rel.to_string_lossy().replace('\\', "/");
    if text.is_empty() { path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default() } else { text }
}

/// Scan a directory (or one file) for Flux image objects and markers.
pub fn scan_tree(root: &Path) -> Result<Scan, ScanError> {
    let mut scan = Scan { root: root.to_path_buf(), ..Scan::default() };
    let base = if root.is_file() { root.parent().unwrap_or(Path::new("")) } else { root };
    for path in yaml_files(root)? {
        let bytes = std::fs::read(&path).map_err(|source| ScanError { path: path.display().to_string(), source })?;
        scan.files_scanned += 1;
        let shown = relative(base, &path);
        let text = match String::from_utf8(bytes) {
            Ok(text) => text,
            // kyaml cannot read it either: a problem file when it holds a
            // marker (filereader.go), an error as before when not.
            Err(e) if holds_marker_token(e.as_bytes()) => {
                let message = "not UTF-8 text; its markers cannot be read".to_string();
                scan.problem_files.push(Problem { source: Source { path: shown, line: 0 }, message });
                continue;
            }
            Err(e) => {
                let source = std::io::Error::new(std::io::ErrorKind::InvalidData, e.utf8_error());
                return Err(ScanError { path: path.display().to_string(), source });
            }
        };
        tracing::debug!(file = %gpuops_manifest::text::printable(&shown), bytes = text.len(), "reading file");
        scan_text(&mut scan, &shown, &text);
    }
    Ok(scan)
}

/// Add what one file holds to `scan`.
pub fn scan_text(scan: &mut Scan, path: &str, text: &str) {
    let (found, problems) = markers::find_markers(text);
    let has_flux = text.contains(flux::FLUX_IMAGE_GROUP);
    let has_markers = !found.is_empty() || !problems.is_empty();
    if !has_markers && !has_flux && !text.contains("Namespace") {
        return;
    }
    let docs = match yaml::parse_stream(text, path) {
        Ok(docs) => docs,
        Err(e) if has_markers => {
            // filereader.go: "we can record this file as problematic, and continue".
            scan.problem_files.push(Problem { source: Source { path: path.to_string(), line: 0 }, message: e.message });
            return;
        }
        Err(e) if has_flux => {
            scan.problems.push(Problem { source: Source { path: path.to_string(), line: 0 }, message: e.message });
            return;
        }
        Err(_) => return,
    };
    for marker in found {
        scan.references.push(Reference { source: Source { path: path.to_string(), line: marker.line }, marker });
    }
    for p in problems {
        scan.problems.push(Problem { source: Source { path: path.to_string(), line: p.line }, message: p.message });
    }
    for doc in docs {
        if let Some((name, labels)) = flux::namespace_labels(&doc.value) {
            scan.namespace_labels.insert(name, labels);
            continue;
        }
        let source = Source { path: path.to_string(), line: doc.first_line };
        match flux::read_object(&doc.value, source.clone()) {
            Some(Ok(flux::FluxObject::Repository(r))) => scan.repositories.push(r),
            Some(Ok(flux::FluxObject::Policy(p))) => scan.policies.push(p),
            Some(Ok(flux::FluxObject::Automation(a))) => scan.automations.push(a),
            Some(Err(e)) => scan.problems.push(Problem { source, message: e.to_string() }),
            None => {}
        }
    }
}

fn namespace_matches(object: Option<&String>, wanted: &str) -> bool {
    object.is_none_or(|ns| ns == wanted)
}

impl Scan {
    /// The policy and repository a marker names.
    pub fn resolve(&self, namespace: &str, policy: &str) -> Result<(&ImagePolicy, &ImageRepository), ResolveError> {
        let p = self
            .policies
            .iter()
            .find(|p| p.name == policy && namespace_matches(p.namespace.as_ref(), namespace))
            .ok_or_else(|| ResolveError::NoPolicy {
            namespace: namespace.to_string(),
            policy: policy.to_string(),
        })?;
        let repo_ns = p.repository_namespace.clone().unwrap_or_else(|| namespace.to_string());
        let r = self
            .repositories
            .iter()
            .find(|r| r.name == p.repository_name && namespace_matches(r.namespace.as_ref(), &repo_ns))
            .ok_or_else(|| ResolveError::NoRepository {
                namespace: namespace.to_string(),
                policy: policy.to_string(),
                repository_namespace: repo_ns.clone(),
                repository: p.repository_name.clone(),
            })?;
        Ok((p, r))
    }
}

/// A marker whose policy cannot be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no ImagePolicy {namespace}/{policy} in the scanned tree")]
    NoPolicy { namespace: String, policy: String },
    #[error(
        "ImagePolicy {namespace}/{policy} refers to ImageRepository {repository_namespace}/{repository}, not in the scanned tree"
    )]
    NoRepository { namespace: String, policy: String, repository_namespace: String, repository: String },
}

/// A marked scalar that cannot take the resolved value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    #[error("the marker wants a digest: set digestReflectionPolicy on the ImagePolicy or pass --digest")]
    DigestMissing,
    #[error("the scalar {scalar:?} does not contain a reference to {image}")]
    NoReference { scalar: String, image: String },
}

/// The reference a policy resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Latest {
    pub image: String,
    pub tag: String,
    pub digest: Option<String>,
}

impl Latest {
    pub fn reference(&self) -> String {
        match &self.digest {
            Some(d) => format!("{}:{}@{d}", self.image, self.tag),
            None => format!("{}:{}", self.image, self.tag),
        }
    }
}

/// The scalar's new value for `marker`, given what its policy resolved to.
pub fn new_value(marker: &Marker, latest: &Latest) -> Result<String, ValueError> {
    let current = marker.value.as_str();
    match (marker.kind, marker.field) {
        (MarkerKind::Flux, Field::Ref) => Ok(latest.reference()),
        (MarkerKind::Flux, Field::Tag) => Ok(latest.tag.clone()),
        (MarkerKind::Flux, Field::Name) => Ok(latest.image.clone()),
        (_, Field::Digest) if latest.digest.is_none() => Err(ValueError::DigestMissing),
        (MarkerKind::Flux, Field::Digest) => Ok(latest.digest.clone().unwrap_or_default()),
        (MarkerKind::Model, field) => rewrite_inside(current, latest, field),
    }
}

/// Rewrite the reference to `latest.image` inside `scalar`, keeping what
/// surrounds it (`oci://`, `--model=`, a `/suffix`).
fn rewrite_inside(scalar: &str, latest: &Latest, field: Field) -> Result<String, ValueError> {
    let image = latest.image.as_str();
    if let Some(old) = gpuops_manifest::imageref::find_embedded(scalar, image) {
        let digest = match field {
            Field::Tag => latest.digest.as_deref().filter(|_| old.digest.is_some()),
            _ => latest.digest.as_deref(),
        };
        let tag = match field {
            Field::Digest => old.tag.unwrap_or(&latest.tag),
            _ => &latest.tag,
        };
        let mut new = format!("{}{image}:{tag}", &scalar[..old.start]);
        if let Some(d) = digest {
            new.push('@');
            new.push_str(d);
        }
        new.push_str(&scalar[old.end..]);
        return Ok(new);
    }
    // A scalar holding only the part itself (`tag: v1.0.0`).
    match field {
        Field::Tag if is_tag(scalar) => Ok(latest.tag.clone()),
        Field::Digest if gpuops_manifest::imageref::is_digest(scalar) => Ok(latest.digest.clone().unwrap_or_default()),
        _ => Err(ValueError::NoReference { scalar: scalar.to_string(), image: image.to_string() }),
    }
}

/// The byte edit that sets `marker`'s scalar to `value` in its own quoting.
pub fn edit_for(marker: &Marker, value: &str) -> edit::Edit {
    let (text, quote) = markers::render(value, marker.quote);
    let (span, replacement) = if quote != marker.quote {
        // Plain became double-quoted: the quotes go around the old span.
        (marker.span.clone(), format!("\"{text}\""))
    } else {
        (marker.span.clone(), text)
    };
    edit::Edit { span, replacement, old_value: marker.value.clone(), new_value: value.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latest(tag: &str, digest: Option<&str>) -> Latest {
        Latest { image: "reg:5000/models/qwen".into(), tag: tag.into(), digest: digest.map(Into::into) }
    }

    fn model(value: &str, field: Field) -> Marker {
        Marker {
            kind: MarkerKind::Model,
            namespace: "ns".into(),
            policy: "p".into(),
            field,
            line: 1,
            span: 0..0,
            quote: Quote::Plain,
            value: value.into(),
        }
    }

    #[test]
    fn model_markers_keep_what_surrounds_the_reference() {
        let l = latest("v1.3.0", None);
        assert_eq!(
            new_value(&model("oci://reg:5000/models/qwen:v1.2.0", Field::Ref), &l).unwrap(),
            "oci://reg:5000/models/qwen:v1.3.0"
        );
        assert_eq!(
            new_value(&model("--model=reg:5000/models/qwen:v1", Field::Ref), &l).unwrap(),
            "--model=reg:5000/models/qwen:v1.3.0"
        );
        assert_eq!(
            new_value(&model("oci://reg:5000/models/qwen:v1/w", Field::Tag), &l).unwrap(),
            "oci://reg:5000/models/qwen:v1.3.0/w"
        );
        assert_eq!(new_value(&model("v1.0.0", Field::Tag), &l).unwrap(), "v1.3.0");
        assert!(new_value(&model("oci://other/qwen:v1", Field::Ref), &l).is_err());
        assert!(new_value(&model("oci://reg:5000/models/qwen-7b:v1", Field::Ref), &l).is_err());
    }

    #[test]
    fn digests_pin_and_are_required_when_asked_for() {
        let d = format!("sha256:{}", "c".repeat(64));
        let l = latest("v2", Some(&d));
        assert_eq!(
            new_value(&model("oci://reg:5000/models/qwen:v1", Field::Ref), &l).unwrap(),
            format!("oci://reg:5000/models/qwen:v2@{d}")
        );
        assert_eq!(
            new_value(&model("reg:5000/models/qwen:v1", Field::Digest), &l).unwrap(),
            format!("reg:5000/models/qwen:v1@{d}")
        );
        assert!(new_value(&model("x", Field::Digest), &latest("v2", None)).is_err());
    }

    #[test]
    fn flux_objects_of_both_api_versions_resolve() {
        let text = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageRepository\nmetadata: {name: r, namespace: flux-system}\nspec:\n  image: ghcr.io/acme/m\n  exclusionList: ['^dev-']\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: p, namespace: flux-system}\nspec:\n  imageRepositoryRef: {name: r}\n  filterTags: {pattern: '^main-(?P<ts>[0-9]+)$', extract: '$ts'}\n  policy:\n    numerical: {order: asc}\n  digestReflectionPolicy: Always\n  interval: 5m\n---\napiVersion: image.toolkit.fluxcd.io/v1alpha1\nkind: ImagePolicy\nmetadata: {name: old}\nspec: {}\n";
        let mut scan = Scan::default();
        scan_text(&mut scan, "flux.yaml", text);
        assert_eq!((scan.repositories.len(), scan.policies.len(), scan.problems.len()), (1, 1, 0));
        let (policy, repo) = scan.resolve("flux-system", "p").unwrap();
        assert_eq!(policy.digest_reflection, DigestReflection::Always);
        let compiled = policy.compile(repo).unwrap();
        let tags: Vec<String> = ["main-9", "main-10", "dev-99", "latest"].map(String::from).to_vec();
        assert_eq!(compiled.latest(&tags).unwrap(), Some("main-10"));
        assert!(scan.resolve("flux-system", "old").is_err(), "v1alpha1 is not read");
    }

    #[test]
    fn flux_markers_replace_the_whole_scalar() {
        let mut m = model("anything", Field::Ref);
        m.kind = MarkerKind::Flux;
        assert_eq!(new_value(&m, &latest("v2", None)).unwrap(), "reg:5000/models/qwen:v2");
        m.field = Field::Name;
        assert_eq!(new_value(&m, &latest("v2", None)).unwrap(), "reg:5000/models/qwen");
    }
}
