//! The envelope of every `-o json` / `-o yaml` document the gpuops tools
//! print: `apiVersion: gpuops.dev/v1alpha1`, a `kind` naming the payload's
//! schema, then the payload's own fields — the way Kubernetes objects and
//! kubectl's own `-o json` lists are shaped, so `jq .kind` or a YAML
//! decoder tells one answer from another. The kinds and their fields are
//! documented in `docs/output.md`; a field is added, never renamed or
//! removed, within one apiVersion.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::OutputFormat;

/// The apiVersion of every document; bumped with a schema change that is
/// not an addition.
pub const API_VERSION: &str = "gpuops.dev/v1alpha1";

/// What a document holds: one kind per answer, named as in `docs/output.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Kind {
    /// `kubectl gpufit check` against one cluster.
    FitReport,
    /// `kubectl gpufit check` against several clusters (a fleet): `items`.
    FitReportList,
    /// `kubectl gpufit nodes`: GPU inventory rows in `items`.
    NodeList,
    /// `kubectl gpufit nodes -g ...`: allocation rows by group in `items`.
    AllocationList,
    /// `kubectl gpufit model`: the memory calculation.
    ModelFit,
    /// `kubectl gpufit local`: this machine's GPUs in `items`.
    LocalGpuList,
    /// `kubectl modelbump scan` (and `apply`'s plan): `items`.
    ReferenceList,
    /// `kubectl modelbump tags`: a repository's tags and the policy's pick.
    TagList,
    /// `kubectl modelbump apply -o json|yaml`: every change, `items`.
    ChangeList,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::FitReport => "FitReport",
            Kind::FitReportList => "FitReportList",
            Kind::NodeList => "NodeList",
            Kind::AllocationList => "AllocationList",
            Kind::ModelFit => "ModelFit",
            Kind::LocalGpuList => "LocalGpuList",
            Kind::ReferenceList => "ReferenceList",
            Kind::TagList => "TagList",
            Kind::ChangeList => "ChangeList",
        }
    }
}

/// A payload that cannot be enveloped.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    #[error("{kind}: the payload does not serialize: {source}")]
    Serialize {
        kind: &'static str,
        #[source]
        source: serde_json::Error,
    },
    /// The envelope's fields go first; a payload that is a list or a
    /// scalar has no fields to follow them (wrap it: `items`).
    #[error("{kind}: the payload is not an object (put a list under `items`)")]
    NotAnObject { kind: &'static str },
    /// The envelope's own fields belong to the envelope.
    #[error("{kind}: the payload has its own {field:?} field")]
    Reserved { kind: &'static str, field: &'static str },
}

/// A payload in the envelope: `apiVersion`, `kind`, then the payload's
/// fields in their order.
#[derive(Debug, Clone)]
pub struct Document<T> {
    pub kind: Kind,
    pub payload: T,
}

impl<T: Serialize> Document<T> {
    pub fn new(kind: Kind, payload: T) -> Self {
        Self { kind, payload }
    }

    /// The document as one JSON object.
    pub fn to_value(&self) -> Result<Value, DocumentError> {
        let kind = self.kind.as_str();
        let payload =
            serde_json::to_value(&self.payload).map_err(|source| DocumentError::Serialize { kind, source })?;
        let Value::Object(fields) = payload else { return Err(DocumentError::NotAnObject { kind }) };
        let mut object = Map::with_capacity(fields.len() + 2);
        object.insert("apiVersion".into(), Value::from(API_VERSION));
        object.insert("kind".into(), Value::from(kind));
        for (name, value) in fields {
            if let Some(field) = ["apiVersion", "kind"].into_iter().find(|f| *f == name) {
                return Err(DocumentError::Reserved { kind, field });
            }
            object.insert(name, value);
        }
        Ok(Value::Object(object))
    }

    /// The document as `-o json` or `-o yaml` prints it (table formats
    /// print JSON: they have no document form).
    pub fn render(&self, format: OutputFormat) -> Result<String, DocumentError> {
        Ok(crate::render_value(&self.to_value()?, format))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Tags {
        repository: String,
        latest: Option<String>,
    }

    #[test]
    fn the_envelope_comes_first_then_the_payload_in_its_order() {
        let doc = Document::new(Kind::TagList, Tags { repository: "r".into(), latest: None });
        assert_eq!(
            doc.render(OutputFormat::Json).unwrap(),
            "{\n  \"apiVersion\": \"gpuops.dev/v1alpha1\",\n  \"kind\": \"TagList\",\n  \"repository\": \"r\",\n  \"latest\": null\n}\n"
        );
        let yaml = doc.render(OutputFormat::Yaml).unwrap();
        assert!(yaml.starts_with("apiVersion: gpuops.dev/v1alpha1\nkind: TagList\nrepository: r\n"), "{yaml}");
    }

    #[test]
    fn a_list_goes_under_items_and_the_envelope_is_not_overridden() {
        let err = Document::new(Kind::NodeList, json!([1, 2])).to_value().unwrap_err();
        assert!(matches!(err, DocumentError::NotAnObject { kind: "NodeList" }), "{err}");
        let err = Document::new(Kind::NodeList, json!({"kind": "Other", "items": []})).to_value().unwrap_err();
        assert_eq!(err.to_string(), "NodeList: the payload has its own \"kind\" field");
        let ok = Document::new(Kind::NodeList, json!({"items": []})).to_value().unwrap();
        assert_eq!(ok, json!({"apiVersion": API_VERSION, "kind": "NodeList", "items": []}));
    }

    /// The serialized kind is the documented name.
    #[test]
    fn kinds_serialize_as_their_names() {
        for kind in [
            Kind::FitReport,
            Kind::FitReportList,
            Kind::NodeList,
            Kind::ModelFit,
            Kind::LocalGpuList,
            Kind::ReferenceList,
            Kind::TagList,
        ] {
            assert_eq!(serde_json::to_value(kind).unwrap(), json!(kind.as_str()));
        }
    }
}
