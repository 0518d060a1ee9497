//! What Argo CD hands a plugin: settings in the environment and the
//! Application's parameters (argo-cd reposerver/repository/repository.go:
//! `newEnv` the build variables, `getPluginEnvs` `KUBE_*`,
//! `getPluginParamEnvs` `plugin.env` as `ARGOCD_ENV_<name>`; the parameters
//! as `ARGOCD_APP_PARAMETERS` JSON; cmpserver/plugin/plugin.go adds them
//! after the sidecar's own environment).
//!
//! The environment is read with `vars_os`, never `vars`: `std::env::vars`
//! panics on a variable that is not UTF-8, and the panic message would
//! carry that variable's value into Argo CD's UI and cache. [`Env`] is
//! built from any iterator of pairs, so it is pure and can be fuzzed;
//! variables the plugin does not read are dropped unseen.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};

use serde::Deserialize;

use crate::Error;
use crate::announce::Collection;

/// A setting only the sidecar's operator chooses: `<NAME>` from the
/// sidecar's own environment, never `ARGOCD_ENV_<NAME>` (an Application's
/// `plugin.env`, which whoever edits the Application writes). For what
/// decides which programs run.
pub fn sidecar_setting(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Settings an Application may set through its `plugin.env` (which Argo
/// CD hands us as `ARGOCD_ENV_<NAME>`): they change how long or in which
/// wording we render, never what runs.
pub const PER_APP: &[&str] = &["GPUOPS_DEADLINE", "KUBE_VERSION"];

/// Settings that choose what the sidecar executes: the sidecar's own
/// environment only ([`sidecar_setting`]); as `ARGOCD_ENV_<NAME>` they
/// would be silently ignored, so they are refused.
pub const SIDECAR_ONLY: &[&str] =
    &["GPUOPS_KUSTOMIZE", "GPUOPS_KUBECTL", "GPUOPS_ALLOWED_PLUGINS", "GPUOPS_KUSTOMIZE_FLAGS"];

/// Plain variables the plugin reads (besides `ARGOCD_ENV_*` and `PARAM_*`).
const READ: &[&str] = &[
    "ARGOCD_APP_PARAMETERS",
    "ARGOCD_APP_SOURCE_PATH",
    "ARGOCD_GRPC_MAX_SIZE_MB",
    "KUBE_VERSION",
    "GPUOPS_DEADLINE",
    // Argo CD's repo-server RPC timeouts, from the sidecar's env (lib.rs `deadline`).
    "ARGOCD_APPLICATION_CONTROLLER_REPO_SERVER_TIMEOUT_SECONDS",
    "ARGOCD_SERVER_REPO_SERVER_TIMEOUT_SECONDS",
];

/// The variables the plugin reads, captured once; values stay `OsString`
/// until read, so a non-UTF-8 value fails only where it is used, and the
/// error names the variable, never its value.
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: BTreeMap<String, OsString>,
}

impl Env {
    /// Keep the variables the plugin may read; names that are not UTF-8
    /// cannot be one of them and are skipped.
    pub fn from_vars_os(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Self {
        let vars = vars
            .into_iter()
            .filter_map(|(name, value)| Some((name.into_string().ok()?, value)))
            .filter(|(name, _)| {
                READ.contains(&name.as_str()) || name.starts_with("ARGOCD_ENV_") || name.starts_with("PARAM_")
            })
            .collect();
        Env { vars }
    }

    /// The process's own environment.
    pub fn current() -> Self {
        Self::from_vars_os(std::env::vars_os())
    }

    /// A variable's value as text; `Err` naming it when it is not UTF-8.
    pub fn text(&self, name: &str) -> Result<Option<&str>, Error> {
        self.vars.get(name).map(|value| utf8(name, value)).transpose()
    }

    /// A setting: `ARGOCD_ENV_<NAME>` (the Application's `plugin.env`,
    /// which Argo CD prefixes) first, then `<NAME>` from the sidecar's own
    /// environment — the order argocd-lovely-plugin and AVP use; empty
    /// counts as unset.
    pub fn setting(&self, name: &str) -> Result<Option<&str>, Error> {
        let prefixed = self.text(&format!("ARGOCD_ENV_{name}"))?.filter(|v| !v.is_empty());
        match prefixed {
            Some(value) => Ok(Some(value)),
            None => Ok(self.text(name)?.filter(|v| !v.is_empty())),
        }
    }

    /// The Application's `plugin.env` names, checked. A name that means a
    /// gpuops setting but is not one we read from there (double-prefixed,
    /// sidecar-only, misspelt `GPUOPS_*`) is an error: a warning on the
    /// stderr of a successful render is never shown by Argo CD, so the
    /// setting would be ignored without a word. Any other unknown name is
    /// probably meant for another tool: a warning (returned), no failure.
    /// Names only: values are never read or shown.
    pub fn check_app_env(&self) -> Result<Vec<String>, Error> {
        let mut warnings = Vec::new();
        for name in self.vars.keys() {
            let Some(app_name) = name.strip_prefix("ARGOCD_ENV_") else { continue };
            let shown = shown(name);
            let mut inner = app_name;
            while let Some(rest) = inner.strip_prefix("ARGOCD_ENV_") {
                inner = rest;
            }
            let ours = PER_APP.contains(&inner) || inner.starts_with("GPUOPS_");
            if inner != app_name {
                let message = format!(
                    "{shown}: Argo CD adds the ARGOCD_ENV_ prefix itself; name it {} in the Application's plugin.env",
                    gpuops_manifest::text::printable(inner)
                );
                if ours {
                    return Err(Error::Environment(message));
                }
                warnings.push(format!("warning: environment {message}"));
            } else if SIDECAR_ONLY.contains(&app_name) {
                return Err(Error::Environment(format!(
                    "{shown}: {app_name} chooses what the sidecar runs, so only the sidecar's own environment sets it, never an Application's plugin.env; remove it there"
                )));
            } else if app_name.starts_with("GPUOPS_") && !PER_APP.contains(&app_name) {
                return Err(Error::Environment(format!(
                    "{shown}: not a gpuops setting; an Application's plugin.env may set {}",
                    PER_APP.join(", ")
                )));
            } else if !PER_APP.contains(&app_name) {
                warnings.push(format!("warning: environment {shown}: not a gpuops setting; ignored"));
            }
        }
        Ok(warnings)
    }

    /// The Application's parameters: `ARGOCD_APP_PARAMETERS`, which Argo CD
    /// always sets when the Application has a `plugin:` block (`null` for
    /// none); else the `PARAM_*` variables (string parameters only: their
    /// names are upper-cased and escaped, so `gpu-count` is `PARAM_GPU_COUNT`).
    pub fn parameters(&self) -> Result<Parameters, Error> {
        if let Some(json) = self.text("ARGOCD_APP_PARAMETERS")? {
            return Parameters::from_json(json);
        }
        let mut out = BTreeMap::new();
        // PARAM_<NAME> carries only string parameters; an array or map is
        // spread over PARAM_<NAME>_<KEY>, which this fallback does not read.
        let strings = crate::announce::PARAMETERS.iter().filter(|(_, c)| *c == Collection::String);
        for (known, _) in strings {
            if let Some(value) = self.text(&format!("PARAM_{}", escape(known)))? {
                let parameter =
                    Parameter { name: known.to_string(), string: Some(value.to_string()), ..Default::default() };
                out.insert(known.to_string(), parameter);
            }
        }
        Ok(Parameters(out))
    }
}

fn utf8<'a>(name: &str, value: &'a OsStr) -> Result<&'a str, Error> {
    value.to_str().ok_or_else(|| Error::Environment(format!("{name} is not valid UTF-8 (its value is not shown)")))
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
    /// From this process's environment; see [`Env::parameters`].
    pub fn from_env() -> Result<Self, Error> {
        Env::current().parameters()
    }

    /// From any environment, as `std::env::vars_os` yields it: the entry
    /// point for fuzzing. Never panics; a variable the plugin reads that is
    /// not UTF-8 is an `Err` naming it.
    pub fn from_vars_os(vars: impl IntoIterator<Item = (OsString, OsString)>) -> Result<Self, Error> {
        Env::from_vars_os(vars).parameters()
    }

    pub fn from_json(json: &str) -> Result<Self, Error> {
        let list: Option<Vec<Parameter>> = serde_json::from_str(json.trim())
            .map_err(|e| Error::Parameters(format!("ARGOCD_APP_PARAMETERS is not a JSON array of parameters: {e}")))?;
        let mut out = BTreeMap::new();
        for p in list.unwrap_or_default() {
            if p.name.is_empty() {
                return Err(Error::Parameters("ARGOCD_APP_PARAMETERS: a parameter has no name".into()));
            }
            // Argo CD passes the list as the Application holds it, so a name
            // given twice reaches us twice; which one "wins" is nobody's choice.
            if out.contains_key(&p.name) {
                return Err(Error::Parameters(format!(
                    "parameter {}: given twice in ARGOCD_APP_PARAMETERS; give it once",
                    shown(&p.name)
                )));
            }
            out.insert(p.name.clone(), p);
        }
        Ok(Parameters(out))
    }

    /// Every parameter is one the plugin reads, carrying its declared
    /// collection (announce::PARAMETERS) and no other: `selector-kinds`
    /// sent as a string must not silently mean "every kind".
    pub fn check(&self) -> Result<(), Error> {
        if let Some(unknown) = self.unknown().first() {
            let known: Vec<&str> = crate::announce::known().collect();
            return Err(Error::Parameters(format!(
                "unknown parameter {:?}; known: {}",
                shown(unknown),
                known.join(", ")
            )));
        }
        for p in self.0.values() {
            let Some(declared) = crate::announce::collection(&p.name) else { continue };
            let mut got = Vec::new();
            if p.string.is_some() {
                got.push(Collection::String);
            }
            if p.array.is_some() {
                got.push(Collection::Array);
            }
            if p.map.is_some() {
                got.push(Collection::Map);
            }
            if got.iter().any(|c| *c != declared) {
                let got: Vec<&str> = got.iter().map(|c| c.article()).collect();
                return Err(Error::Parameters(format!(
                    "parameter {}: got {}, must be {} (Argo CD's {}:)",
                    p.name,
                    got.join(" and "),
                    declared.article(),
                    declared.field()
                )));
            }
        }
        Ok(())
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
        self.0.keys().map(String::as_str).filter(|n| crate::announce::collection(n).is_none()).collect()
    }
}

/// A name from the Application, safe for a terminal and one line.
fn shown(name: &str) -> String {
    gpuops_manifest::text::printable_prefix(name, 100)
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
        let vars = [("PARAM_GPU_COUNT".into(), "4".into()), ("PARAM_OTHER".into(), "x".into())];
        assert_eq!(Parameters::from_vars_os(vars).unwrap().string("gpu-count"), Some("4"));
        assert_eq!(escape("image.tag"), "IMAGE_TAG");
    }

    /// Shape from announce::PARAMETERS; a duplicate is refused before it
    /// can overwrite; a parameter with no value field at all is unset.
    #[test]
    fn shapes_duplicates_and_app_env_names() {
        let err = |json: &str| Parameters::from_json(json).and_then(|p| p.check()).unwrap_err().to_string();
        assert_eq!(
            err(r#"[{"name":"selector-kinds","string":"Deployment"}]"#),
            "parameter selector-kinds: got a string, must be an array (Argo CD's array:)"
        );
        assert!(
            err(r#"[{"name":"a\u001b[2J","string":"1"},{"name":"a\u001b[2J","string":"2"}]"#).contains("given twice")
        );
        assert!(!err(r#"[{"name":"x\u001b[2J","string":"1"}]"#).contains('\u{1b}'));
        Parameters::from_json(r#"[{"name":"model-tags"},{"name":"gpu-count","string":"1"}]"#).unwrap().check().unwrap();
        let env = |name: &str| Env::from_vars_os([(name.into(), "v".into())]).check_app_env();
        assert!(env("ARGOCD_ENV_ARGOCD_ENV_ARGOCD_ENV_KUBE_VERSION").is_err());
        assert!(env("ARGOCD_ENV_GPUOPS_KUBECTL").is_err());
        assert_eq!(env("ARGOCD_ENV_GPUOPS_DEADLINE").unwrap(), Vec::<String>::new());
        assert_eq!(env("ARGOCD_ENV_ARGOCD_ENV_FOO").unwrap().len(), 1);
        assert_eq!(env("GPUOPS_KUBECTL").unwrap(), Vec::<String>::new());
    }

    /// Not UTF-8 where the plugin reads: an error naming the variable,
    /// without its bytes; anywhere else: ignored.
    #[test]
    fn non_utf8_values_are_named_never_shown_and_unread_ones_ignored() {
        use std::os::unix::ffi::OsStringExt as _;
        let bad = || OsString::from_vec(b"secret\xff\xfevalue".to_vec());
        for name in ["ARGOCD_APP_PARAMETERS", "PARAM_GPU_COUNT"] {
            let err = Parameters::from_vars_os([(name.into(), bad())]).unwrap_err().to_string();
            assert!(err.contains(name) && !err.contains("secret") && !err.contains('\n'), "{err}");
        }
        let env = Env::from_vars_os([
            ("ARGOCD_ENV_GPUOPS_DEADLINE".into(), bad()),
            ("UNREAD".into(), bad()),
            (bad(), "x".into()),
            ("PARAM_GPU_COUNT".into(), "2".into()),
        ]);
        assert!(env.setting("GPUOPS_DEADLINE").unwrap_err().to_string().contains("ARGOCD_ENV_GPUOPS_DEADLINE"));
        assert_eq!(env.parameters().unwrap().string("gpu-count"), Some("2"));
    }
}
