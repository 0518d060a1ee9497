//! What Argo CD hands a plugin: settings in the environment and the
//! Application's parameters (`../shared/reference/argocd-cmp.md` §2).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Error;

/// A setting: `ARGOCD_ENV_<NAME>` (the Application's `plugin.env`, which
/// Argo CD prefixes) first, then `<NAME>` from the sidecar's own
/// environment — the order argocd-lovely-plugin and AVP use.
pub fn setting(name: &str) -> Option<String> {
    std::env::var(format!("ARGOCD_ENV_{name}")).ok().or_else(|| std::env::var(name).ok()).filter(|v| !v.is_empty())
}

/// A setting only the sidecar's operator chooses: `<NAME>` from the
/// sidecar's own environment, never `ARGOCD_ENV_<NAME>` (an Application's
/// `plugin.env`, which whoever edits the Application writes). For what
/// decides which programs run.
pub fn sidecar_setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// One parameter as `ARGOCD_APP_PARAMETERS` carries it
/// (argo-cd: pkg/apis/application/v1alpha1/types.go,
/// `ApplicationSourcePluginParameter.MarshalJSON`: keys sorted, `string`
/// only when set, values always strings).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub name: String,
    #[serde(default)]
    pub string: Option<String>,
    #[serde(default)]
    pub array: Option<Vec<String>>,
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
}

/// The Application's parameters by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parameters(pub BTreeMap<String, Parameter>);

impl Parameters {
    /// From `ARGOCD_APP_PARAMETERS`, which Argo CD always sets when the
    /// Application has a `plugin:` block (`null` for none); else from the
    /// `PARAM_*` variables (string parameters only: their names are
    /// upper-cased and escaped, so `gpu-count` is `PARAM_GPU_COUNT`).
    pub fn from_env() -> Result<Self, Error> {
        match std::env::var("ARGOCD_APP_PARAMETERS") {
            Ok(json) => Self::from_json(&json),
            Err(_) => Ok(Self::from_param_vars(std::env::vars())),
        }
    }

    pub fn from_json(json: &str) -> Result<Self, Error> {
        let list: Option<Vec<Parameter>> = serde_json::from_str(json.trim())
            .map_err(|e| Error::Parameters(format!("ARGOCD_APP_PARAMETERS is not a JSON array of parameters: {e}")))?;
        let mut out = BTreeMap::new();
        for p in list.unwrap_or_default() {
            if p.name.is_empty() {
                return Err(Error::Parameters("ARGOCD_APP_PARAMETERS: a parameter has no name".into()));
            }
            out.insert(p.name.clone(), p);
        }
        Ok(Parameters(out))
    }

    /// `PARAM_<ESC(name)>` for every known string parameter.
    pub fn from_param_vars(vars: impl IntoIterator<Item = (String, String)>) -> Self {
        let vars: BTreeMap<String, String> = vars.into_iter().collect();
        let mut out = BTreeMap::new();
        for known in crate::announce::KNOWN {
            if let Some(value) = vars.get(&format!("PARAM_{}", escape(known))) {
                out.insert(
                    known.to_string(),
                    Parameter { name: known.to_string(), string: Some(value.clone()), ..Default::default() },
                );
            }
        }
        Parameters(out)
    }

    /// A string parameter's value (empty counts as unset).
    pub fn string(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|p| p.string.as_deref()).filter(|s| !s.is_empty())
    }

    pub fn map(&self, name: &str) -> Option<&BTreeMap<String, String>> {
        self.0.get(name).and_then(|p| p.map.as_ref()).filter(|m| !m.is_empty())
    }

    pub fn array(&self, name: &str) -> Option<&[String]> {
        self.0.get(name).and_then(|p| p.array.as_deref()).filter(|a| !a.is_empty())
    }

    /// Names that are not parameters of this plugin.
    pub fn unknown(&self) -> Vec<&str> {
        self.0.keys().map(String::as_str).filter(|n| !crate::announce::KNOWN.contains(n)).collect()
    }
}

/// Argo CD's `ESC`: upper-case, every character outside `[A-Z0-9_]` → `_`.
pub fn escape(name: &str) -> String {
    name.to_ascii_uppercase().chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_in_every_form_argo_cd_sends() {
        assert_eq!(Parameters::from_json("null").unwrap(), Parameters::default());
        assert_eq!(Parameters::from_json("[]").unwrap(), Parameters::default());
        let p = Parameters::from_json(
            r#"[{"name":"gpu-count","string":"2"},{"map":{"ghcr.io/acme/qwen":"v2"},"name":"model-tags"},{"array":["Deployment"],"name":"selector-kinds"}]"#,
        )
        .unwrap();
        assert_eq!(p.string("gpu-count"), Some("2"));
        assert_eq!(p.map("model-tags").unwrap()["ghcr.io/acme/qwen"], "v2");
        assert_eq!(p.array("selector-kinds").unwrap(), ["Deployment"]);
        for bad in ["{", r#"{"name":"x"}"#, r#"[{"name":"x","string":2}]"#, r#"[{"string":"2"}]"#] {
            assert!(Parameters::from_json(bad).is_err(), "{bad}");
        }
        let vars = [("PARAM_GPU_COUNT".to_string(), "4".to_string()), ("PARAM_OTHER".into(), "x".into())];
        assert_eq!(Parameters::from_param_vars(vars).string("gpu-count"), Some("4"));
        assert_eq!(escape("image.tag"), "IMAGE_TAG");
    }
}
