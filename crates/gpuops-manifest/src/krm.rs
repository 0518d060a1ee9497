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
        // `get`, not `pointer`: a pointer allocates each of its segments, and
        // this runs for every object a function reports on.
        let metadata = obj.get("metadata");
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or("").to_string();
        let namespace = metadata.and_then(|m| m.get("namespace")).and_then(Value::as_str).map(str::to_string);
        Self {
            api_version: s(obj.get("apiVersion")),
            kind: s(obj.get("kind")),
            name: s(metadata.and_then(|m| m.get("name"))),
            namespace,
        }
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

    /// Attach the same object and file as `subject` (computed once per
    /// object with [`KrmResult::on`]).
    pub fn about(mut self, subject: &Subject) -> Self {
        self.resource_ref = Some(subject.resource_ref.clone());
        self.file = subject.file.clone();
        self
    }

    /// Attach the object (and the file it came from, when the orchestrator
    /// annotated it) to the result.
    pub fn on(mut self, obj: &Value) -> Self {
        self.resource_ref = Some(ResourceRef::of(obj));
        let annotations = obj.get("metadata").and_then(|m| m.get("annotations"));
        let annotation = |key: &str| annotations.and_then(|a| a.get(key)).and_then(Value::as_str).map(str::to_string);
        if let Some(path) =
            annotation("internal.config.kubernetes.io/path").or_else(|| annotation("config.kubernetes.io/path"))
        {
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

/// What a result is about: an object and the file it came from.
#[derive(Debug, Clone)]
pub struct Subject {
    pub resource_ref: ResourceRef,
    pub file: Option<FileRef>,
}

impl Subject {
    pub fn of(obj: &Value) -> Self {
        let template = KrmResult::new(Severity::Info, "").on(obj);
        Self { resource_ref: template.resource_ref.unwrap_or_else(|| ResourceRef::of(obj)), file: template.file }
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
    /// For block-style YAML: each item's original text (dedented), so items
    /// a function leaves alone are written back exactly as they came.
    pub item_texts: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Yaml(#[from] YamlError),
    #[error("{0}")]
    Shape(String),
}

/// A ResourceList's text without its `items`: the lines kept, each with its
/// index in the stream.
struct EnvelopeText<'a> {
    lines: Vec<(usize, &'a str)>,
}

impl EnvelopeText<'_> {
    /// The kept lines, one after the other: what is parsed.
    fn compact(&self) -> String {
        self.lines.iter().map(|(_, line)| *line).collect()
    }

    /// Every kept line where it was (cut lines become blank), so a YAML
    /// error in functionConfig names its line in the stream. Built only for
    /// an error: 10,000 items leave some 300,000 blank lines to parse.
    fn in_place(&self) -> String {
        let mut text = String::new();
        let mut count = 0;
        for (index, line) in &self.lines {
            while count < *index {
                text.push('\n');
                count += 1;
            }
            text.push_str(line);
            count += 1;
        }
        text
    }
}

/// The items of a block-style ResourceList, cut out of the text: the
/// envelope without `items`, and each item dedented to a document of its own
/// with the stream line it starts on. `None` for layouts it does not handle
/// (flow-style items, several documents): the caller parses the whole text.
fn split_items(text: &str) -> Option<(EnvelopeText<'_>, Vec<(String, usize)>)> {
    let mut envelope = EnvelopeText { lines: Vec::new() };
    let mut items: Vec<(String, usize)> = Vec::new();
    let mut in_items = false;
    let mut item_indent: Option<usize> = None;
    let mut seen_items = false;
    for (line_index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare == "---" || bare == "..." || bare.starts_with("--- ") {
            if line_index == 0 || (bare == "..." && in_items) {
                continue;
            }
            return None;
        }
        if !in_items {
            if bare == "items:" || bare.starts_with("items: #") || bare.trim_end() == "items:" {
                in_items = true;
                seen_items = true;
            } else if let Some(rest) = bare.strip_prefix("items:") {
                if rest.trim() != "[]" {
                    return None;
                }
                seen_items = true;
            } else {
                envelope.lines.push((line_index, line));
            }
            continue;
        }
        let content = bare.trim_start_matches(' ');
        let indent = bare.len() - content.len();
        let is_entry = content == "-" || content.starts_with("- ");
        if content.is_empty() || content.starts_with('#') {
            if let Some((item, _)) = items.last_mut() {
                item.push_str(&line[indent.min(item_indent.map_or(0, |i| i + 2))..]);
            }
            continue;
        }
        if indent == 0 && !is_entry {
            in_items = false;
            envelope.lines.push((line_index, line));
            continue;
        }
        match item_indent {
            None if is_entry => item_indent = Some(indent),
            Some(i) if is_entry && indent == i => {}
            Some(i) if indent >= i + 2 => {
                let (item, _) = items.last_mut()?;
                item.push_str(&line[i + 2..]);
                continue;
            }
            _ => return None,
        }
        // A new item: its first line is what follows `- `.
        let mut first = String::from(content.strip_prefix('-').unwrap_or(content).strip_prefix(' ').unwrap_or(""));
        first.push_str(&line[bare.len()..]);
        items.push((first, line_index + 1));
    }
    seen_items.then_some((envelope, items))
}

fn take_string(map: &mut Map<String, Value>, key: &str) -> Option<String> {
    map.shift_remove(key).and_then(|v| v.as_str().map(str::to_string))
}

impl ResourceList {
    /// Read a ResourceList written as YAML or JSON. Like kyaml, any
    /// apiVersion is accepted, and `kind: List` too.
    pub fn read(text: &str, source_name: &str) -> Result<Self, ReadError> {
        Self::read_filtered(text, source_name, |_| |_: &str| true)
    }

    /// Like [`ResourceList::read`], but block-style items the filter rejects
    /// are not parsed: they stay `Value::Null` and are written back from
    /// their text. `choose` builds the filter from the `functionConfig`
    /// (read first), so a function can skip what its config cannot touch.
    pub fn read_filtered<F>(
        text: &str,
        source_name: &str,
        choose: impl FnOnce(Option<&Value>) -> F,
    ) -> Result<Self, ReadError>
    where
        F: Fn(&str) -> bool + Sync,
    {
        let trimmed = text.trim_start();
        let encoding = if trimmed.starts_with('{') { Encoding::Json } else { Encoding::Yaml };
        let split = if encoding == Encoding::Yaml { split_items(text) } else { None };
        let (mut map, items, item_texts) = match split {
            Some((envelope, chunks)) => {
                let map = match Self::parse_envelope(&envelope.compact(), source_name) {
                    Ok(map) => map,
                    Err(_) => Self::parse_envelope(&envelope.in_place(), source_name)?,
                };
                let wanted = choose(map.get("functionConfig"));
                let raw: Vec<yaml::RawDocument<'_>> =
                    chunks.iter().map(|(t, line)| yaml::RawDocument { text: t.as_str(), first_line: *line }).collect();
                let items = yaml::parse_many(&raw, source_name, &wanted)?;
                // A parsed item that is null (`- ~`) is not a KRM object.
                if let Some(i) = items.iter().zip(&raw).position(|(v, r)| v.is_null() && wanted(r.text)) {
                    return Err(ReadError::Shape(format!("{source_name}: items[{i}] is not a KRM object")));
                }
                (map, items, Some(chunks.into_iter().map(|(t, _)| t).collect()))
            }
            None => {
                let mut map = Self::parse_envelope(text, source_name)?;
                let items = match map.shift_remove("items") {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(items)) => items,
                    Some(_) => return Err(ReadError::Shape(format!("{source_name}: items must be a sequence"))),
                };
                if let Some(i) = items.iter().position(Value::is_null) {
                    return Err(ReadError::Shape(format!("{source_name}: items[{i}] is not a KRM object")));
                }
                (map, items, None)
            }
        };
        if let Some(i) = items.iter().position(|i| !i.is_object() && !i.is_null()) {
            return Err(ReadError::Shape(format!("{source_name}: items[{i}] is not a KRM object")));
        }
        let kind = map.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        if kind != "ResourceList" && kind != "List" {
            return Err(ReadError::Shape(format!("{source_name}: expected kind ResourceList or List, found {kind:?}")));
        }
        map.shift_remove("kind");
        let api_version = take_string(&mut map, "apiVersion").unwrap_or_else(|| "config.kubernetes.io/v1".to_string());
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
        Ok(Self { api_version, kind, items, function_config, results, extra: map, encoding, item_texts })
    }

    fn parse_envelope(text: &str, source_name: &str) -> Result<Map<String, Value>, ReadError> {
        let docs = yaml::split_documents(text);
        let [doc] = docs.as_slice() else {
            return Err(ReadError::Shape(format!(
                "{source_name}: expected one ResourceList document, found {}",
                docs.len()
            )));
        };
        match yaml::parse_document(doc.text, source_name, doc.first_line)? {
            Value::Object(map) => Ok(map),
            _ => Err(ReadError::Shape(format!("{source_name}: a ResourceList must be a mapping"))),
        }
    }

    /// Append our results.
    pub fn push_results(&mut self, results: &[KrmResult]) {
        self.results.extend(results.iter().map(|r| serde_json::to_value(r).unwrap_or(Value::Null)));
    }

    /// Serialize in the input's encoding. Items whose `changed` flag is
    /// false are written from their original text where it is known.
    pub fn write(&self, changed: &[bool]) -> String {
        match self.encoding {
            Encoding::Json => self.write_json(),
            Encoding::Yaml => self.write_yaml(changed),
        }
    }

    fn write_json(&self) -> String {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Envelope<'a> {
            api_version: &'a str,
            kind: &'a str,
            items: &'a [Value],
            #[serde(skip_serializing_if = "Option::is_none")]
            function_config: Option<&'a Value>,
            #[serde(skip_serializing_if = "<[Value]>::is_empty")]
            results: &'a [Value],
            #[serde(flatten)]
            extra: &'a Map<String, Value>,
        }
        let envelope = Envelope {
            api_version: &self.api_version,
            kind: &self.kind,
            items: &self.items,
            function_config: self.function_config.as_ref(),
            results: &self.results,
            extra: &self.extra,
        };
        let mut text = serde_json::to_string_pretty(&envelope).unwrap_or_default();
        text.push('\n');
        text
    }

    fn write_yaml(&self, changed: &[bool]) -> String {
        let original_len: usize = self.item_texts.as_ref().map_or(0, |t| t.iter().map(|s| s.len() + 64).sum());
        let mut out = String::with_capacity(original_len + 4096);
        yaml::write_entry(&mut out, "apiVersion", &Value::String(self.api_version.clone()));
        yaml::write_entry(&mut out, "kind", &Value::String(self.kind.clone()));
        if self.items.is_empty() {
            out.push_str("items: []\n");
        } else {
            out.push_str("items:\n");
        }
        self.write_yaml_items(&mut out, changed);
        if let Some(config) = &self.function_config {
            yaml::write_entry(&mut out, "functionConfig", config);
        }
        if !self.results.is_empty() {
            yaml::write_entry(&mut out, "results", &Value::Array(self.results.clone()));
        }
        for (key, value) in &self.extra {
            yaml::write_entry(&mut out, key, value);
        }
        out
    }

    /// The `items:` entries, on all cores when there are many: re-emitting
    /// the objects a function changed is the largest cost after parsing
    /// (each part is written on its own, then joined in order).
    fn write_yaml_items(&self, out: &mut String, changed: &[bool]) {
        const MIN_PER_THREAD: usize = 256;
        let count = self.items.len();
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(count / MIN_PER_THREAD).max(1);
        let chunk = count.div_ceil(threads).max(1);
        let write_part = |out: &mut String, from: usize| {
            for i in from..(from + chunk).min(count) {
                self.write_yaml_item(out, i, changed);
            }
        };
        std::thread::scope(|scope| {
            let rest: Vec<_> = (chunk..count)
                .step_by(chunk)
                .map(|from| {
                    scope.spawn(move || {
                        let mut part = String::with_capacity(self.text_len(from..(from + chunk).min(count)));
                        write_part(&mut part, from);
                        part
                    })
                })
                .collect();
            write_part(out, 0);
            for handle in rest {
                out.push_str(&handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic)));
            }
        });
    }

    /// About how long the items in `range` will be once written.
    fn text_len(&self, range: std::ops::Range<usize>) -> usize {
        self.item_texts.as_ref().and_then(|t| t.get(range)).map_or(0, |t| t.iter().map(|s| s.len() + 64).sum())
    }

    fn write_yaml_item(&self, out: &mut String, i: usize, changed: &[bool]) {
        let item = &self.items[i];
        match self.item_texts.as_ref().and_then(|t| t.get(i)) {
            Some(text) if !changed.get(i).copied().unwrap_or(true) => write_original_item(out, text),
            Some(text) if yaml::may_hold_octal_forms(text) => {
                let mut emitted = String::new();
                yaml::write_sequence_item(&mut emitted, item);
                out.push_str(&yaml::restore_octal_forms(text, &emitted));
            }
            _ => yaml::write_sequence_item(out, item),
        }
    }
}

/// An item's original (dedented) text as an entry of the column-0 `items:`
/// sequence: every line shifted by the same two columns keeps its meaning.
fn write_original_item(out: &mut String, text: &str) {
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if i == 0 {
            out.push_str(if line.trim().is_empty() { "-" } else { "- " });
        } else if !line.trim_end_matches(['\n', '\r']).is_empty() {
            out.push_str("  ");
        }
        out.push_str(line);
    }
    if !text.ends_with('\n') {
        out.push('\n');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_yaml_and_json_lists() {
        let rl = ResourceList::read(
            "apiVersion: config.kubernetes.io/v1beta1\nkind: ResourceList\nitems:\n- kind: A\n  metadata: {name: a}\n",
            "t",
        )
        .unwrap();
        assert_eq!(rl.api_version, "config.kubernetes.io/v1beta1");
        assert_eq!(rl.items.len(), 1);
        let rl = ResourceList::read(r#"{"apiVersion":"v1","kind":"List","items":[]}"#, "t").unwrap();
        assert_eq!((rl.kind.as_str(), rl.encoding), ("List", Encoding::Json));
        assert!(
            ResourceList::read("kind: Deployment\n", "t")
                .unwrap_err()
                .to_string()
                .contains("expected kind ResourceList")
        );
        assert!(ResourceList::read("kind: ResourceList\nitems: [1]\n", "t").is_err());
    }

    #[test]
    fn unchanged_items_keep_their_text_in_any_indentation() {
        for input in [
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- kind: A  # comment\n  metadata: {name: a}\n  data:\n    x: |\n      one\n\n      two\n- kind: B\n  v: 1.10\nfunctionConfig:\n  kind: X\n",
            "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - kind: A  # comment\n    metadata: {name: a}\n    data:\n      x: |\n        one\n\n        two\n  - kind: B\n    v: 1.10\nfunctionConfig:\n  kind: X\n",
        ] {
            let rl = ResourceList::read(input, "t").unwrap();
            assert_eq!(rl.items.len(), 2);
            assert_eq!(rl.items[0]["data"]["x"], "one\n\ntwo\n");
            assert_eq!(rl.function_config.as_ref().unwrap()["kind"], "X");
            let out = rl.write(&[false, false]);
            assert!(out.contains("- kind: A  # comment\n  metadata: {name: a}\n"), "{out}");
            assert!(out.contains("- kind: B\n  v: 1.10\n"), "{out}");
            let again = ResourceList::read(&out, "t").unwrap();
            assert_eq!(again.items, rl.items);
        }
    }

    #[test]
    fn a_broken_function_config_names_its_stream_line() {
        let text = "kind: ResourceList\nitems:\n- kind: A\n  metadata: {name: a}\n- kind: B\n  v: 1\nfunctionConfig:\n  kind: X\n  spec: [\n";
        let err = ResourceList::read(text, "<stdin>").unwrap_err().to_string();
        assert!(err.contains("line 9") || err.contains("line 10"), "{err}");
        let fine = ResourceList::read(&text.replace("spec: [", "spec: []"), "<stdin>").unwrap();
        assert_eq!(fine.function_config.unwrap()["kind"], "X");
    }

    #[test]
    fn flow_style_items_fall_back_to_a_whole_parse() {
        let rl = ResourceList::read("kind: ResourceList\nitems: [{kind: A}, {kind: B}]\n", "t").unwrap();
        assert_eq!(rl.items.len(), 2);
        assert!(rl.item_texts.is_none());
    }

    #[test]
    fn writes_severity_and_keeps_earlier_results() {
        let mut rl =
            ResourceList::read("kind: ResourceList\nitems: []\nresults:\n- message: earlier\n  severity: info\n", "t")
                .unwrap();
        rl.push_results(&[KrmResult::new(Severity::Warning, "w")]);
        let out = rl.write(&[]);
        assert!(out.contains("- message: earlier"), "{out}");
        assert!(out.contains("- message: w\n  severity: warning\n"), "{out}");
        assert!(out.starts_with("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"), "{out}");
    }
}
