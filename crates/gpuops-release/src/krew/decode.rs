//! The manifest decoded as krew decodes it: sigs.k8s.io/yaml `Unmarshal`
//! (krew v0.4.5 internal/index/indexscanner/scanner.go:135) turns YAML into
//! JSON — a scalar bound for a string field becomes a string
//! (sigs.k8s.io/yaml yaml.go `convertToJSONableObject`, jsonTarget string
//! case) — and encoding/json then fills the Go types: an exact key first,
//! else a case-insensitive one (encoding/json decode.go `object`), `null`
//! a no-op (decode.go `literalStore`), unknown keys ignored.

use serde_json::{Map, Value};

use super::{Plugin, shown};

/// What a node of the manifest holds.
enum Shape {
    Str,
    StrMap,
    Any,
    List(&'static Shape),
    Obj(&'static [(&'static str, Shape)]),
}
use Shape::{Any, List, Obj, Str, StrMap};

const FILE_OPERATION: Shape = Obj(&[("from", Str), ("to", Str)]);
const REQUIREMENT: Shape = Obj(&[("key", Str), ("operator", Str), ("values", List(&Str))]);
const SELECTOR: Shape = Obj(&[("matchLabels", StrMap), ("matchExpressions", List(&REQUIREMENT))]);
const PLATFORM: Shape =
    Obj(&[("uri", Str), ("sha256", Str), ("selector", SELECTOR), ("files", List(&FILE_OPERATION)), ("bin", Str)]);
const SPEC: Shape = Obj(&[
    ("version", Str),
    ("shortDescription", Str),
    ("description", Str),
    ("caveats", Str),
    ("homepage", Str),
    ("platforms", List(&PLATFORM)),
]);
/// k8s.io/apimachinery pkg/apis/meta/v1/types.go `ObjectMeta` (v0.29.3).
const METADATA: Shape = Obj(&[
    ("name", Str),
    ("generateName", Str),
    ("namespace", Str),
    ("selfLink", Str),
    ("uid", Str),
    ("resourceVersion", Str),
    ("generation", Any),
    ("creationTimestamp", Str),
    ("deletionTimestamp", Str),
    ("deletionGracePeriodSeconds", Any),
    ("labels", StrMap),
    ("annotations", StrMap),
    ("ownerReferences", Any),
    ("finalizers", Any),
    ("managedFields", Any),
]);
const PLUGIN: Shape = Obj(&[("apiVersion", Str), ("kind", Str), ("metadata", METADATA), ("spec", SPEC)]);

/// The plugin, and a warning per key krew ignores; or why krew cannot
/// read the manifest at all.
pub(super) fn plugin(text: &str) -> Result<(Plugin, Vec<String>), String> {
    let value: Value = serde_saphyr::from_str(text)
        .map_err(|e| format!("not YAML krew can read: {}", shown(e.to_string().lines().next().unwrap_or(""))))?;
    let mut unknown = Vec::new();
    let value = normalise(value, &PLUGIN, "", &mut unknown)?;
    for field in ["creationTimestamp", "deletionTimestamp"] {
        let stamp = value.pointer(&format!("/metadata/{field}")).and_then(Value::as_str);
        // metav1.Time UnmarshalJSON: RFC 3339 (time.RFC3339) or null.
        if stamp.is_some_and(|s| !rfc3339(s)) {
            return Err(format!("metadata.{field}: not an RFC 3339 time"));
        }
    }
    let plugin = serde_json::from_value(value).map_err(|e| format!("does not decode: {}", shown(&e.to_string())))?;
    Ok((plugin, unknown))
}

fn rfc3339(s: &str) -> bool {
    static RE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$").expect("valid regex")
    });
    RE.is_match(s)
}

fn field(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

/// `value` shaped as krew's Go types would read it.
fn normalise(value: Value, shape: &Shape, path: &str, unknown: &mut Vec<String>) -> Result<Value, String> {
    let name = if path.is_empty() { "the manifest" } else { path };
    match (shape, value) {
        (Any, v) => Ok(v),
        (Str, Value::String(s)) => Ok(Value::String(s)),
        (Str, Value::Number(n)) => Ok(Value::String(n.to_string())),
        (Str, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (Str, _) => Err(format!("{name}: must be a string")),
        (StrMap, Value::Object(map)) => {
            let mut out = Map::new();
            for (k, v) in map {
                let v = if v.is_null() { Value::String(String::new()) } else { v };
                out.insert(k.clone(), normalise(v, &Str, &field(path, &k), unknown)?);
            }
            Ok(Value::Object(out))
        }
        (List(item), Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, v)| normalise(v, item, &format!("{path}[{i}]"), unknown))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        (Obj(fields), Value::Object(map)) => {
            let mut out = Map::new();
            for (k, v) in map {
                let known = fields
                    .iter()
                    .find(|(f, _)| *f == k)
                    .or_else(|| fields.iter().find(|(f, _)| f.eq_ignore_ascii_case(&k)));
                match known {
                    None => {
                        unknown.push(format!("warning: {}: unknown field, krew ignores it", shown(&field(path, &k))));
                    }
                    Some(_) if v.is_null() => {}
                    Some((f, s)) => {
                        out.insert((*f).to_string(), normalise(v, s, &field(path, f), unknown)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        (StrMap | Obj(_), _) => Err(format!("{name}: must be a mapping")),
        (List(_), _) => Err(format!("{name}: must be a list")),
    }
}
