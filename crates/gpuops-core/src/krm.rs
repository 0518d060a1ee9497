//! The KRM function wire format: `ResourceList` in, `ResourceList` out.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::yaml::{self, YamlError};

/// Result severity. Always written explicitly: the spec defaults an absent
/// severity to `error`, kyaml prints it as `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

impl ResourceRef {
    /// The reference of an item (missing fields become empty strings).
    pub fn of(obj: &Value) -> Self {
        let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("").to_string();
        let namespace = obj.pointer("/metadata/namespace").and_then(Value::as_str).map(str::to_string);
        Self { api_version: s("/apiVersion"), kind: s("/kind"), name: s("/metadata/name"), namespace }
    }
}

impl std::fmt::Display for ResourceRef {
    /// `Kind/namespace/name`, the way kustomize names objects in errors.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{}", self.kind, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldRef {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proposed_value: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileRef {
    pub path: String,
    #[serde(skip_serializing_if = "is_zero")]
    pub index: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One entry of `results`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KrmResult {
    pub message: String,
    pub severity: Severity,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_ref: Option<ResourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<FieldRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<FileRef>,
}

impl KrmResult {
    pub fn new(severity: Severity, message: impl Into<String>) -> Self {
        Self { message: message.into(), severity, resource_ref: None, field: None, file: None }
    }

    /// Attach the object (and the file it came from, when the orchestrator
    /// annotated it) to the result.
    pub fn on(mut self, obj: &Value) -> Self {
        self.resource_ref = Some(ResourceRef::of(obj));
        let annotation = |key: &str| {
            obj.pointer("/metadata/annotations")
                .and_then(|a| a.get(key))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        if let Some(path) = annotation("internal.config.kubernetes.io/path").or_else(|| annotation("config.kubernetes.io/path")) {
            let index = annotation("internal.config.kubernetes.io/index")
                .or_else(|| annotation("config.kubernetes.io/index"))
                .and_then(|i| i.parse().ok())
                .unwrap_or(0);
            self.file = Some(FileRef { path, index });
        }
        self
    }

    pub fn at(mut self, path: impl Into<String>, current: Option<Value>, proposed: Option<Value>) -> Self {
        self.field = Some(FieldRef { path: path.into(), current_value: current, proposed_value: proposed });
        self
    }

    /// One line for stderr: `error: Deployment/ns/x: spec…: message`.
    pub fn to_line(&self) -> String {
        let severity = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        let mut line = format!("{severity}: ");
        if let Some(r) = &self.resource_ref {
            line.push_str(&format!("{r}: "));
        }
        if let Some(f) = &self.field {
            line.push_str(&format!("{}: ", f.path));
        }
        line.push_str(&self.message);
        line
    }
}

/// Whether any result is an error (KRM exit code 1).
pub fn has_errors(results: &[KrmResult]) -> bool {
    results.iter().any(|r| r.severity == Severity::Error)
}

/// How the input was written, so the output can answer in kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Yaml,
    Json,
}

/// A `ResourceList` (or `List`) envelope.
#[derive(Debug, Clone)]
pub struct ResourceList {
    pub api_version: String,
    pub kind: String,
    pub items: Vec<Value>,
    pub function_config: Option<Value>,
    /// Results already present (earlier functions of a pipeline) plus ours.
    pub results: Vec<Value>,
    /// Any other top-level field, passed through.
    pub extra: Map<String, Value>,
    pub encoding: Encoding,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{0}")]
    Shape(String),
}

impl ResourceList {
    /// Read a ResourceList written as YAML or JSON. Like kyaml, any
    /// apiVersion is accepted, and `kind: List` too.
    pub fn read(text: &str, source_name: &str) -> Result<Self, ReadError> {
        let trimmed = text.trim_start();
        let encoding = if trimmed.starts_with('{') { Encoding::Json } else { Encoding::Yaml };
        let docs = yaml::split_documents(text);
        let [doc] = docs.as_slice() else {
            return Err(ReadError::Shape(format!(
                "{source_name}: expected one ResourceList document, found {}",
                docs.len()
            )));
        };
        let value = yaml::parse_document(doc.text, source_name, doc.first_line)?;
        let Value::Object(mut map) = value else {
            return Err(ReadError::Shape(format!("{source_name}: a ResourceList must be a mapping")));
        };
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        if kind != "ResourceList" && kind != "List" {
            return Err(ReadError::Shape(format!(
                "{source_name}: expected kind ResourceList or List, found {:?}",
                kind
            )));
        }
        let api_version = map
            .shift_remove("apiVersion")
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_else(|| "config.kubernetes.io/v1".to_string());
        map.shift_remove("kind");
        let items = match map.shift_remove("items") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ReadError::Shape(format!("{source_name}: items must be a sequence"))),
        };
        if let Some(i) = items.iter().position(|i| !i.is_object()) {
            return Err(ReadError::Shape(format!("{source_name}: items[{i}] is not a KRM object")));
        }
        let function_config = map.shift_remove("functionConfig").filter(|v| !v.is_null());
        let results = match map.shift_remove("results") {
            Some(Value::Array(r)) => r,
            // kyaml <= 0.10 wrote `results: {name, items}`.
            Some(Value::Object(mut legacy)) => match legacy.shift_remove("items") {
                Some(Value::Array(r)) => r,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok(Self { api_version, kind, items, function_config, results, extra: map, encoding })
    }

    /// Append our results.
    pub fn push_results(&mut self, results: &[KrmResult]) {
        self.results.extend(results.iter().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)));
    }

    /// The envelope as a value, fields in the conventional order.
    pub fn to_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        map.insert("kind".into(), Value::String(self.kind.clone()));
        map.insert("items".into(), Value::Array(self.items.clone()));
        if let Some(config) = &self.function_config {
            map.insert("functionConfig".into(), config.clone());
        }
        if !self.results.is_empty() {
            map.insert("results".into(), Value::Array(self.results.clone()));
        }
        for (k, v) in &self.extra {
            map.insert(k.clone(), v.clone());
        }
        Value::Object(map)
    }

    /// Serialize in the input's encoding.
    pub fn write(&self) -> String {
        match self.encoding {
            Encoding::Json => {
                let mut text = serde_json::to_string_pretty(&self.to_value()).unwrap_or_default();
                text.push('\n');
                text
            }
            Encoding::Yaml => yaml::to_yaml_string(&self.to_value()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_and_json_lists() {
        let rl = ResourceList::read("apiVersion: config.kubernetes.io/v1beta1\nkind: ResourceList\nitems:\n- kind: A\n  metadata: {name: a}\n", "t").unwrap();
        assert_eq!(rl.api_version, "config.kubernetes.io/v1beta1");
        assert_eq!(rl.items.len(), 1);
        let rl = ResourceList::read(r#"{"apiVersion":"v1","kind":"List","items":[]}"#, "t").unwrap();
        assert_eq!((rl.kind.as_str(), rl.encoding), ("List", Encoding::Json));
        assert!(ResourceList::read("kind: Deployment\n", "t").unwrap_err().to_string().contains("expected kind ResourceList"));
        assert!(ResourceList::read("kind: ResourceList\nitems: [1]\n", "t").is_err());
    }

    #[test]
    fn writes_severity_and_keeps_earlier_results() {
        let mut rl = ResourceList::read("kind: ResourceList\nitems: []\nresults:\n- message: earlier\n  severity: info\n", "t").unwrap();
        rl.push_results(&[KrmResult::new(Severity::Warning, "w")]);
        let out = rl.write();
        assert!(out.contains("- message: earlier"), "{out}");
        assert!(out.contains("- message: w\n  severity: warning\n"), "{out}");
        assert!(out.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"), "{out}");
    }
}
