//! Which plugin kinds may run, and the names kustomize turns into a path.
//!
//! kustomize (v5.5, api v0.18.0) finds a legacy exec plugin at
//! `<plugin home>/<group>/<version>/<lowercase kind>/<Kind>`
//! (api/internal/plugins/loader/loader.go, `AbsolutePluginPath` and
//! `relativePluginPath`, a `filepath.Join` of the config's own strings)
//! where group and version come from splitting `apiVersion` at its FIRST
//! `/` (kyaml/resid/gvk.go, `ParseGroupVersion`): `x/../../bin/x` is group
//! `x`, version `../../bin/x`. So every name that reaches kustomize with
//! plugins enabled must be one path component made of a strict charset.

use serde_json::Value;

/// A plugin kind: `group/version/Kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginKind {
    pub group: String,
    pub version: String,
    pub kind: String,
}

impl PluginKind {
    /// `group/version/Kind`, as the operator writes it in
    /// `GPUOPS_ALLOWED_PLUGINS`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = text.trim().split('/');
        let (Some(group), Some(version), Some(kind), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("{:?} is not group/version/Kind", printable(text)));
        };
        let parsed = PluginKind { group: group.into(), version: version.into(), kind: kind.into() };
        if !parsed.is_valid() {
            return Err(format!(
                "{:?}: group must be a DNS name, version and Kind letters and digits",
                printable(text)
            ));
        }
        Ok(parsed)
    }

    /// Whether kustomize would build a path inside the plugin home from
    /// it: each part one component of `[a-z0-9.-]` (group), `[a-z0-9]`
    /// (version), `[A-Za-z0-9]` (Kind), no empty part and no `.`/`..`.
    pub fn is_valid(&self) -> bool {
        // kustomize takes the group as one path component: a DNS-1123
        // subdomain has no `/` and no `..` (dots only between labels).
        let group_ok = gpuops_manifest::labels::is_dns1123_subdomain(&self.group);
        let version_ok = !self.version.is_empty()
            && self.version.len() <= 63
            && self.version.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        let kind_ok = self.kind.len() <= 63
            && self.kind.starts_with(|c: char| c.is_ascii_alphabetic())
            && self.kind.bytes().all(|b| b.is_ascii_alphanumeric());
        group_ok && version_ok && kind_ok
    }
}

impl std::fmt::Display for PluginKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.group, self.version, self.kind)
    }
}

/// What the operator lets run, besides kustomize's builtins.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Kinds from the sidecar's own `GPUOPS_ALLOWED_PLUGINS`.
    pub allowed: Vec<PluginKind>,
}

impl Policy {
    /// From `GPUOPS_ALLOWED_PLUGINS`: `group/version/Kind` separated by
    /// commas or whitespace.
    pub fn parse(list: &str) -> Result<Self, String> {
        let allowed = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(PluginKind::parse)
            .collect::<Result<_, _>>()?;
        Ok(Policy { allowed })
    }

    /// gpuops' own kinds (installed by `gpuops-inject install-plugin`),
    /// then the operator's.
    pub fn allows(&self, kind: &PluginKind) -> bool {
        let ours = format!("{}/{}", kind.group, kind.version) == gpuops_inject::PLUGIN_GROUP_VERSION
            && gpuops_inject::PLUGIN_KINDS.iter().any(|(_, k)| *k == kind.kind);
        ours || self.allowed.contains(kind)
    }
}

/// kustomize's builtin rule (api/internal/plugins/loader/loader.go,
/// `isBuiltinPlugin`): group empty and version `builtin`
/// (`konfig.BuiltinPluginApiVersion`). Builtins are linked into kustomize
/// (`BploUseStaticallyLinked`, `makeBuiltinPlugin`): no file is looked up,
/// and a function annotation is not read.
pub(super) fn is_builtin(api_version: &str) -> bool {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    group.is_empty() && version == "builtin"
}

/// Keys that turn a config into an exec or container function
/// (kyaml/fn/runtime/runtimeutil/functiontypes.go, `GetFunctionSpec`:
/// the annotations `config.kubernetes.io/function`,
/// `config.k8s.io/function`, legacy `config.kubernetes.io/container`, and
/// `metadata.configFn`). The loader checks them before the legacy plugin
/// path (loader.go, `loadPlugin`).
pub(super) fn function_key(object: &Value) -> Option<&'static str> {
    const ANNOTATIONS: [&str; 3] =
        ["config.kubernetes.io/function", "config.k8s.io/function", "config.kubernetes.io/container"];
    let metadata = object.get("metadata")?;
    if let Some(annotations) = metadata.get("annotations").and_then(Value::as_object)
        && let Some(key) = ANNOTATIONS.into_iter().find(|k| annotations.contains_key(*k))
    {
        return Some(key);
    }
    metadata.get("configFn").map(|_| "metadata.configFn")
}

/// Repository text made safe for a terminal, and short.
pub(super) fn printable(text: &str) -> String {
    let short: String = text.chars().take(120).collect();
    let mut out = gpuops_manifest::text::printable(&short);
    if short.len() < text.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(g: &str, v: &str, k: &str) -> PluginKind {
        PluginKind { group: g.into(), version: v.into(), kind: k.into() }
    }

    #[test]
    fn only_single_components_of_a_strict_charset_are_names() {
        assert!(kind("gpuops.dev", "v1alpha1", "GpuProfile").is_valid());
        assert!(kind("viaduct.ai", "v1", "ksops").is_valid());
        for bad in [
            kind("x", "../../bin/x", "sh"),
            kind("x", "v1", "../sh"),
            kind("..", "v1", "Sh"),
            kind("a..b", "v1", "Sh"),
            kind("", "v1", "Sh"),
            kind("x", "", "Sh"),
            kind("x", "v1", ""),
            kind("x", "v1", "S h"),
            kind("x/y", "v1", "Sh"),
            kind("X.dev", "v1", "Sh"),
        ] {
            assert!(!bad.is_valid(), "{bad}");
        }
    }

    #[test]
    fn the_operator_list_is_group_version_kind() {
        let p = Policy::parse("viaduct.ai/v1/ksops, example.com/v2/Foo").unwrap();
        assert!(p.allows(&kind("viaduct.ai", "v1", "ksops")));
        assert!(p.allows(&kind("gpuops.dev", "v1alpha1", "ModelTags")));
        assert!(!p.allows(&kind("gpuops.dev", "v1alpha1", "Other")));
        assert!(!p.allows(&kind("example.com", "v1", "Foo")));
        assert!(Policy::parse("x/../../bin/sh").is_err());
        assert!(Policy::parse("viaduct.ai/v1").is_err());
    }

    #[test]
    fn builtin_is_the_empty_group_at_version_builtin() {
        assert!(is_builtin("builtin"));
        assert!(is_builtin("/builtin"));
        assert!(!is_builtin("x/builtin"));
        assert!(!is_builtin("builtin/v1"));
    }
}
