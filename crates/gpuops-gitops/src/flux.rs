//! Flux `ImageRepository` and `ImagePolicy` objects found in a repository.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::selector::{LabelSelector, SelectorError};

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
    /// `spec.suspend`: the reflector stops scanning, so the tags Flux holds
    /// are frozen (image-reflector-controller internal/controller/
    /// imagerepository_controller.go `Reconcile`: "reconciliation is
    /// suspended for this object").
    pub suspend: bool,
    /// `spec.accessFrom.namespaceSelectors[].matchLabels` (fluxcd/pkg
    /// apis/acl); `None` when unset.
    pub access_from: Option<Vec<BTreeMap<String, String>>>,
    /// `spec.provider`, when set (`generic`, `aws`, `azure`, `gcp`; the
    /// CRD enum is checked when read).
    pub provider: Option<String>,
    /// `spec.secretRef.name`: a docker-config Secret in the cluster.
    pub secret_ref: Option<String>,
    /// `spec.certSecretRef.name`: a Secret in the cluster with the
    /// registry's CA (and a client certificate).
    pub cert_secret_ref: Option<String>,
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
    /// `spec.suspend` (imagepolicy_controller.go `Reconcile`).
    pub suspend: bool,
    /// `metadata.labels`, which `spec.policySelector` selects on.
    pub labels: BTreeMap<String, String>,
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
    /// `spec.git.push.refspec`: pushed after the branch, without force
    /// (source.go `CommitAndPush`, `buildRefspecPushConfig`).
    pub push_refspec: Option<String>,
    /// `spec.git.push.options`: `git push -o KEY=VALUE` each, sorted by key.
    pub push_options: std::collections::BTreeMap<String, String>,
    /// `spec.git.commit.signingKey.secretRef.name`: Flux signs with the
    /// OpenPGP key in that Secret (source.go `buildGitConfig`).
    pub signing_secret: Option<String>,
    /// `spec.suspend` (imageupdateautomation_controller.go `Reconcile`:
    /// a suspended automation returns before anything is done).
    pub suspend: bool,
    /// `spec.policySelector`: `None` = every policy of the namespace; an
    /// invalid selector stalls the automation (controller `getPolicies`,
    /// `errParsePolicySelector`), kept here as the message.
    pub policy_selector: Option<Result<LabelSelector, SelectorError>>,
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

/// A Flux image object that cannot be used, in the words Flux's API server
/// or controller would refuse it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FluxObjectError {
    #[error("{kind}/{name}: {field} is required")]
    MissingField { kind: &'static str, name: String, field: &'static str },
    /// A `+kubebuilder:validation:Enum` field: the API server's wording
    /// (apimachinery field.NotSupported: `Unsupported value: %q: supported
    /// values: ...`).
    #[error("{kind}/{name}: {field}: Unsupported value: {value:?}: supported values: {supported}")]
    Unsupported { kind: &'static str, name: String, field: &'static str, value: String, supported: &'static str },
    /// A CEL `x-kubernetes-validations` rule's message.
    #[error("{kind}/{name}: {message}")]
    Rule { kind: &'static str, name: String, message: &'static str },
}

/// The labels of a `v1` `Namespace` object in the tree (for `accessFrom`).
pub fn namespace_labels(obj: &Value) -> Option<(String, BTreeMap<String, String>)> {
    if obj.get("apiVersion").and_then(Value::as_str) != Some("v1")
        || obj.get("kind").and_then(Value::as_str) != Some("Namespace")
    {
        return None;
    }
    let name = obj.pointer("/metadata/name").and_then(Value::as_str)?.to_string();
    Some((name, string_map(obj.pointer("/metadata/labels"))))
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default()
}

/// Read a Flux image object, if `obj` is one. `Err` names the bad field.
pub fn read_object(obj: &Value, source: Source) -> Option<Result<FluxObject, FluxObjectError>> {
    let api_version = obj.get("apiVersion").and_then(Value::as_str)?;
    let (group, version) = api_version.split_once('/')?;
    if group != FLUX_IMAGE_GROUP || !FLUX_IMAGE_VERSIONS.contains(&version) {
        return None;
    }
    match obj.get("kind").and_then(Value::as_str)? {
        "ImageRepository" => Some(read_repository(obj, source).map(FluxObject::Repository)),
        "ImagePolicy" => Some(read_policy(obj, source).map(FluxObject::Policy)),
        "ImageUpdateAutomation" => Some(read_automation(obj, source).map(FluxObject::Automation)),
        _ => None,
    }
}

fn text(obj: &Value, p: &str) -> Option<String> {
    obj.pointer(p).and_then(Value::as_str).map(str::to_string)
}

fn suspended(obj: &Value) -> bool {
    obj.pointer("/spec/suspend").and_then(Value::as_bool).unwrap_or(false)
}

fn read_repository(obj: &Value, source: Source) -> Result<ImageRepository, FluxObjectError> {
    let name = text(obj, "/metadata/name").unwrap_or_default();
    let Some(image) = text(obj, "/spec/image").filter(|i| !i.is_empty()) else {
        return Err(FluxObjectError::MissingField { kind: "ImageRepository", name, field: "spec.image" });
    };
    // image-reflector-controller api/v1/imagerepository_types.go `Provider`:
    // +kubebuilder:validation:Enum=generic;aws;azure;gcp.
    if let Some(provider) = text(obj, "/spec/provider")
        && !["generic", "aws", "azure", "gcp"].contains(&provider.as_str())
    {
        return Err(FluxObjectError::Unsupported {
            kind: "ImageRepository",
            name,
            field: "spec.provider",
            value: provider,
            supported: "\"generic\", \"aws\", \"azure\", \"gcp\"",
        });
    }
    Ok(ImageRepository {
        namespace: text(obj, "/metadata/namespace"),
        image,
        exclusion_list: obj
            .pointer("/spec/exclusionList")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        insecure: obj.pointer("/spec/insecure").and_then(Value::as_bool).unwrap_or(false),
        suspend: suspended(obj),
        access_from: obj.pointer("/spec/accessFrom").map(|acl| {
            acl.get("namespaceSelectors")
                .and_then(Value::as_array)
                .map(|sels| sels.iter().map(|s| string_map(s.get("matchLabels"))).collect())
                .unwrap_or_default()
        }),
        secret_ref: text(obj, "/spec/secretRef/name"),
        cert_secret_ref: text(obj, "/spec/certSecretRef/name"),
        provider: text(obj, "/spec/provider"),
        name,
        source,
    })
}

fn read_policy(obj: &Value, source: Source) -> Result<ImagePolicy, FluxObjectError> {
    let name = text(obj, "/metadata/name").unwrap_or_default();
    let namespace = text(obj, "/metadata/namespace");
    let Some(repository_name) = text(obj, "/spec/imageRepositoryRef/name") else {
        return Err(FluxObjectError::MissingField { kind: "ImagePolicy", name, field: "spec.imageRepositoryRef.name" });
    };
    let reflection = text(obj, "/spec/digestReflectionPolicy");
    // api/v1/imagepolicy_types.go `ReflectionPolicy`: Enum=Always;IfNotPresent;Never.
    let digest_reflection = match reflection.as_deref() {
        None | Some("Never") => DigestReflection::Never,
        Some("IfNotPresent") => DigestReflection::IfNotPresent,
        Some("Always") => DigestReflection::Always,
        Some(other) => {
            return Err(FluxObjectError::Unsupported {
                kind: "ImagePolicy",
                name,
                field: "spec.digestReflectionPolicy",
                value: other.to_string(),
                supported: "\"Always\", \"IfNotPresent\", \"Never\"",
            });
        }
    };
    // api/v1/imagepolicy_types.go, the two XValidation rules on
    // ImagePolicySpec, with their messages.
    let interval = obj.pointer("/spec/interval").is_some();
    let always = digest_reflection == DigestReflection::Always;
    if interval && !always {
        let message = "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'";
        return Err(FluxObjectError::Rule { kind: "ImagePolicy", name, message });
    }
    if always && !interval {
        let message = "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'";
        return Err(FluxObjectError::Rule { kind: "ImagePolicy", name, message });
    }
    Ok(ImagePolicy {
        repository_namespace: text(obj, "/spec/imageRepositoryRef/namespace").or_else(|| namespace.clone()),
        namespace,
        name,
        repository_name,
        spec: obj.get("spec").cloned().unwrap_or(Value::Null),
        digest_reflection,
        suspend: suspended(obj),
        labels: string_map(obj.pointer("/metadata/labels")),
        source,
    })
}

fn read_automation(obj: &Value, source: Source) -> Result<ImageUpdateAutomation, FluxObjectError> {
    let name = text(obj, "/metadata/name").unwrap_or_default();
    // api/v1/imageupdateautomation_types.go: `update` defaults to
    // {"strategy":"Setters"}, and UpdateStrategyName is Enum=Setters;
    // internal/policy/applier.go `ApplyPolicies` refuses any other
    // (ErrUnsupportedUpdateStrategy).
    if let Some(strategy) = text(obj, "/spec/update/strategy")
        && strategy != "Setters"
    {
        return Err(FluxObjectError::Unsupported {
            kind: "ImageUpdateAutomation",
            name,
            field: "spec.update.strategy",
            value: strategy,
            supported: "\"Setters\"",
        });
    }
    Ok(ImageUpdateAutomation {
        update_path: text(obj, "/spec/update/path"),
        message_template: text(obj, "/spec/git/commit/messageTemplate"),
        message_values: string_map(obj.pointer("/spec/git/commit/messageTemplateValues")),
        author_name: text(obj, "/spec/git/commit/author/name"),
        author_email: text(obj, "/spec/git/commit/author/email"),
        push_branch: text(obj, "/spec/git/push/branch"),
        push_refspec: text(obj, "/spec/git/push/refspec"),
        push_options: string_map(obj.pointer("/spec/git/push/options")),
        signing_secret: obj
            .pointer("/spec/git/commit/signingKey")
            .filter(|v| !v.is_null())
            .map(|v| v.pointer("/secretRef/name").and_then(Value::as_str).unwrap_or("").to_string()),
        suspend: suspended(obj),
        policy_selector: obj
            .pointer("/spec/policySelector")
            .filter(|v| !v.is_null())
            .map(|v| LabelSelector::from_json(v, "spec.policySelector")),
        namespace: text(obj, "/metadata/namespace"),
        name,
        source,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<FluxObject, FluxObjectError> {
        let value = gpuops_manifest::yaml::parse_stream(yaml, "t.yaml").unwrap().remove(0).value;
        read_object(&value, Source { path: "t.yaml".into(), line: 1 }).unwrap()
    }

    const POLICY: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: p}\nspec:\n  imageRepositoryRef: {name: r}\n  policy: {semver: {range: '>=1'}}\n";

    /// The CEL rules of api/v1/imagepolicy_types.go, as the reflector's
    /// internal/controller/imagepolicy_controller_test.go
    /// `TestImagePolicyReconciler_apiServerValidation` (interval without
    /// Always; Always without interval; both set is accepted) and
    /// `TestImagePolicyReconciler_intervalNotConfigured` exercise them.
    #[test]
    fn image_policy_cel_rules_refuse_with_flux_wording() {
        let e = read(&format!("{POLICY}  digestReflectionPolicy: Always\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ImagePolicy/p: spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'"
        );
        let e = read(&format!("{POLICY}  digestReflectionPolicy: IfNotPresent\n  interval: 5m\n")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "ImagePolicy/p: spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'"
        );
        assert!(read(&format!("{POLICY}  interval: 5m\n")).is_err(), "interval without a policy");
        assert!(read(&format!("{POLICY}  digestReflectionPolicy: Always\n  interval: 5m\n")).is_ok());
        let e = read(&format!("{POLICY}  digestReflectionPolicy: Sometimes\n")).unwrap_err();
        assert!(e.to_string().contains("spec.digestReflectionPolicy: Unsupported value: \"Sometimes\""), "{e}");
    }

    /// image-automation-controller internal/policy/applier_test.go
    /// `TestApplyPolicies`, case "unknown update strategy"; and the
    /// reflector's provider enum.
    #[test]
    fn unknown_strategy_and_provider_are_refused() {
        let auto = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata: {name: u, namespace: n}\nspec:\n  update: {strategy: foo}\n";
        assert_eq!(
            read(auto).unwrap_err().to_string(),
            "ImageUpdateAutomation/u: spec.update.strategy: Unsupported value: \"foo\": supported values: \"Setters\""
        );
        // Case "valid update strategy and one policy"; no update at all is the CRD default, Setters.
        assert!(read(&auto.replace("foo", "Setters")).is_ok());
        assert!(read(&auto.replace("  update: {strategy: foo}\n", "")).is_ok());
        let repo = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: r}\nspec: {image: reg/x, provider: oracle}\n";
        assert!(read(repo).unwrap_err().to_string().contains("spec.provider: Unsupported value: \"oracle\""));
        assert!(read(&repo.replace("oracle", "azure")).is_ok());
    }
}
