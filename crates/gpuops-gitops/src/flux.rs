//! Flux `ImageRepository` and `ImagePolicy` objects found in a repository.

use serde_json::Value;

use crate::policy::{self, Order, Policy, PolicyError, Rule};

pub const FLUX_IMAGE_GROUP: &str = "image.toolkit.fluxcd.io";
/// The served versions of the image API, each read alike: the fields
/// modelbump uses (`spec.image`, `exclusionList`, `insecure`,
/// `imageRepositoryRef`, `filterTags`, `policy`) have the same shape in
/// v1beta1, v1beta2 and v1 (fluxcd/image-reflector-controller api/).
pub const FLUX_IMAGE_VERSIONS: &[&str] = &["v1", "v1beta2", "v1beta1"];

/// Where an object or reference was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Path relative to the scanned root, `/`-separated.
    pub path: String,
    pub line: usize,
}

#[derive(Debug, Clone)]
pub struct ImageRepository {
    /// `None` when the manifest sets none (matched against any marker namespace).
    pub namespace: Option<String>,
    pub name: String,
    pub image: String,
    pub exclusion_list: Option<Vec<String>>,
    pub insecure: bool,
    pub source: Source,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestReflection {
    Never,
    IfNotPresent,
    Always,
}

#[derive(Debug, Clone)]
pub struct ImagePolicy {
    pub namespace: Option<String>,
    pub name: String,
    pub repository_namespace: Option<String>,
    pub repository_name: String,
    pub spec: Value,
    pub digest_reflection: DigestReflection,
    pub source: Source,
}

/// An `ImageUpdateAutomation`: what of it decides how modelbump writes and
/// commits (image-automation-controller api/v1 imageupdateautomation_types.go
/// and git.go; v1beta1/v1beta2 have the same fields).
#[derive(Debug, Clone)]
pub struct ImageUpdateAutomation {
    pub namespace: Option<String>,
    pub name: String,
    /// `spec.update.path`: only files under it (relative to the repository root).
    pub update_path: Option<String>,
    /// `spec.git.commit.messageTemplate` (Go text/template).
    pub message_template: Option<String>,
    /// `spec.git.commit.messageTemplateValues`.
    pub message_values: std::collections::BTreeMap<String, String>,
    /// `spec.git.commit.author`.
    pub author_name: Option<String>,
    pub author_email: Option<String>,
    /// `spec.git.push.branch`: where commits go (default: the checkout branch).
    pub push_branch: Option<String>,
    pub source: Source,
}

impl ImageUpdateAutomation {
    /// `namespace/name`, as Flux's `.AutomationObject` prints it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.namespace.as_deref().unwrap_or(""), self.name)
    }
}

/// A Flux object this tool reads.
#[derive(Debug, Clone)]
pub enum FluxObject {
    Repository(ImageRepository),
    Policy(ImagePolicy),
    Automation(ImageUpdateAutomation),
}

/// A Flux image object that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FluxObjectError {
    #[error("{kind}/{name}: {field} is required")]
    MissingField { kind: &'static str, name: String, field: &'static str },
    #[error("ImagePolicy/{name}: spec.digestReflectionPolicy {value:?} is not Never, IfNotPresent or Always")]
    DigestReflection { name: String, value: String },
}

/// Read a Flux image object, if `obj` is one. `Err` names the bad field.
pub fn read_object(obj: &Value, source: Source) -> Option<Result<FluxObject, FluxObjectError>> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
    let (group, version) = api_version.split_once('/')?;
    if group != FLUX_IMAGE_GROUP || !FLUX_IMAGE_VERSIONS.contains(&version) {
        return None;
    }
    let kind = obj.get("kind").and_then(Value::as_str)?;
    let text = |p: &str| obj.pointer(p).and_then(Value::as_str).map(str::to_string);
    let name = text("/metadata/name").unwrap_or_default();
    let namespace = text("/metadata/namespace");
    match kind {
        "ImageRepository" => Some(match text("/spec/image") {
            Some(image) if !image.is_empty() => Ok(FluxObject::Repository(ImageRepository {
                namespace,
                name,
                image,
                exclusion_list: obj
                    .pointer("/spec/exclusionList")
                    .and_then(Value::as_array)
                    .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect()),
                insecure: obj.pointer("/spec/insecure").and_then(Value::as_bool).unwrap_or(false),
                source,
            })),
            _ => Err(FluxObjectError::MissingField { kind: "ImageRepository", name, field: "spec.image" }),
        }),
        "ImagePolicy" => {
            let Some(repository_name) = text("/spec/imageRepositoryRef/name") else {
                return Some(Err(FluxObjectError::MissingField {
                    kind: "ImagePolicy",
                    name,
                    field: "spec.imageRepositoryRef.name",
                }));
            };
            let digest_reflection = match text("/spec/digestReflectionPolicy").as_deref() {
                None | Some("Never") => DigestReflection::Never,
                Some("IfNotPresent") => DigestReflection::IfNotPresent,
                Some("Always") => DigestReflection::Always,
                Some(other) => {
                    return Some(Err(FluxObjectError::DigestReflection { name, value: other.to_string() }));
                }
            };
            Some(Ok(FluxObject::Policy(ImagePolicy {
                repository_namespace: text("/spec/imageRepositoryRef/namespace").or_else(|| namespace.clone()),
                namespace,
                name,
                repository_name,
                spec: obj.get("spec").cloned().unwrap_or(Value::Null),
                digest_reflection,
                source,
            })))
        }
        "ImageUpdateAutomation" => Some(Ok(FluxObject::Automation(ImageUpdateAutomation {
            update_path: text("/spec/update/path"),
            message_template: text("/spec/git/commit/messageTemplate"),
            message_values: obj
                .pointer("/spec/git/commit/messageTemplateValues")
                .and_then(Value::as_object)
                .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
                .unwrap_or_default(),
            author_name: text("/spec/git/commit/author/name"),
            author_email: text("/spec/git/commit/author/email"),
            push_branch: text("/spec/git/push/branch"),
            namespace,
            name,
            source,
        }))),
        _ => None,
    }
}

impl ImagePolicy {
    /// The tag policy, with the repository's exclusion list.
    pub fn compile(&self, repository: &ImageRepository) -> Result<Policy, PolicyError> {
        let spec = &self.spec;
        let text = |p: &str| spec.pointer(p).and_then(Value::as_str);
        let order = |p: &str| {
            let o = text(p).unwrap_or("asc");
            Order::parse(o).ok_or_else(|| PolicyError::Order(o.to_string()))
        };
        let rule = if let Some(range) = text("/policy/semver/range") {
            Rule::Semver(policy::Range::parse(range)?)
        } else if spec.pointer("/policy/numerical").is_some() {
            Rule::Numerical(order("/policy/numerical/order")?)
        } else if spec.pointer("/policy/alphabetical").is_some() {
            Rule::Alphabetical(order("/policy/alphabetical/order")?)
        } else {
            return Err(PolicyError::Invalid(format!(
                "ImagePolicy/{}: spec.policy needs semver, numerical or alphabetical",
                self.name
            )));
        };
        let exclusions = match &repository.exclusion_list {
            Some(list) if !list.is_empty() => {
                list.iter().map(|p| policy::compile_regex(p)).collect::<Result<_, _>>()?
            }
            _ => policy::default_exclusions(),
        };
        let mut compiled = Policy { rule, filter: None, exclusions };
        if let Some(pattern) = text("/filterTags/pattern") {
            compiled = compiled.with_filter(pattern, text("/filterTags/extract"))?;
        }
        Ok(compiled)
    }
}
