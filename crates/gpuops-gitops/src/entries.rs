//! Image and model pins that are not markers: kustomize `images:` entries
//! (`name`, `newName`, `newTag`, `digest` — kustomize api/types/image.go)
//! and gpuops `ModelTags` `spec.models[]` entries (same fields), found with
//! the byte span of each value so `promote` can rewrite them in place.
//!
//! Only block-style entries are edited (`- name: x` then `newTag: y` on its
//! own line); a flow-style entry is reported, never rewritten by guess.

use std::ops::Range;

use serde_json::Value;

use crate::markers::Quote;
use gpuops_manifest::yaml;

/// Where an entry lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A `Kustomization`'s `images:`.
    KustomizeImage,
    /// A `ModelTags` object's `spec.models`.
    ModelTags,
}

/// A value of an entry, located in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    pub value: String,
    /// The value's bytes (inside quotes).
    pub span: Range<usize>,
    pub quote: Quote,
    pub line: usize,
}

/// One `images:` / `models:` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub kind: EntryKind,
    /// `name`: what the entry matches.
    pub name: String,
    /// 1-based line of `name`.
    pub line: usize,
    pub new_name: Option<Located>,
    pub new_tag: Option<Located>,
    pub digest: Option<Located>,
    /// Set when the entry could not be located for editing.
    pub problem: Option<String>,
}

impl Entry {
    pub fn field(&self, key: &str) -> Option<&Located> {
        match key {
            "newName" => self.new_name.as_ref(),
            "newTag" => self.new_tag.as_ref(),
            "digest" => self.digest.as_ref(),
            _ => None,
        }
    }
}

fn kind_of(doc: &Value) -> Option<(EntryKind, &[Value])> {
    let kind = doc.get("kind").and_then(Value::as_str)?;
    let api = doc.get("apiVersion").and_then(Value::as_str).unwrap_or("");
    fn list(v: Option<&Value>) -> Option<&[Value]> {
        v.and_then(Value::as_array).map(Vec::as_slice)
    }
    match kind {
        "Kustomization" if api.starts_with("kustomize.config.k8s.io/") || api.is_empty() => {
            Some((EntryKind::KustomizeImage, list(doc.get("images"))?))
        }
        "ModelTags" if api.starts_with("gpuops.dev/") => {
            Some((EntryKind::ModelTags, list(doc.pointer("/spec/models"))?))
        }
        _ => None,
    }
}

/// Every entry of every Kustomization / ModelTags document in `text`.
pub fn find_entries(text: &str, path: &str) -> Vec<Entry> {
    if !text.contains("images:") && !text.contains("ModelTags") {
        return Vec::new();
    }
    let Ok(docs) = yaml::parse_stream(text, path) else { return Vec::new() };
    let line_starts: Vec<usize> = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
    let mut out = Vec::new();
    for doc in docs {
        let Some((kind, items)) = kind_of(&doc.value) else { continue };
        // Lines of this document in the stream.
        let first = doc.first_line.saturating_sub(1);
        let last = first + doc.text.lines().count();
        for item in items {
            let Some(name) = item.get("name").and_then(Value::as_str) else { continue };
            out.push(locate(text, &line_starts, first..last.min(line_starts.len()), kind, name, item));
        }
    }
    out
}

/// `key: value` on one line: the value's span and quoting.
fn scalar_after(line: &str, offset: usize, key: &str) -> Option<(String, Range<usize>, Quote)> {
    let body = line.trim_start();
    let body = body.strip_prefix("- ").map_or(body, str::trim_start);
    let rest = body.strip_prefix(key)?.strip_prefix(':')?;
    let value_start = line.len() - rest.len() + (rest.len() - rest.trim_start().len());
    let raw = rest.trim_start();
    let raw = raw.split(" #").next().unwrap_or(raw).trim_end();
    let (quote, inner) = match raw.chars().next() {
        Some('"') => (Quote::Double, raw.strip_prefix('"')?.strip_suffix('"')?),
        Some('\'') => (Quote::Single, raw.strip_prefix('\'')?.strip_suffix('\'')?),
        _ => (Quote::Plain, raw),
    };
    let start = offset + value_start + usize::from(quote != Quote::Plain);
    Some((inner.to_string(), start..start + inner.len(), quote))
}

fn locate(text: &str, starts: &[usize], lines: Range<usize>, kind: EntryKind, name: &str, item: &Value) -> Entry {
    let line_text = |i: usize| {
        let end = starts.get(i + 1).map_or(text.len(), |e| e - 1);
        &text[starts[i]..end.max(starts[i])]
    };
    let mut entry =
        Entry { kind, name: name.to_string(), line: 0, new_name: None, new_tag: None, digest: None, problem: None };
    // The `name:` line of this entry: the first, after the `images:` /
    // `models:` key, whose value is the name (never `metadata.name`).
    let section = match kind {
        EntryKind::KustomizeImage => "images:",
        EntryKind::ModelTags => "models:",
    };
    let from = lines.clone().find(|&i| line_text(i).trim_start().starts_with(section)).unwrap_or(lines.start);
    let Some(name_line) = (from..lines.end).find(|&i| {
        !line_text(i).contains('{') && scalar_after(line_text(i), starts[i], "name").is_some_and(|(v, _, _)| v == name)
    }) else {
        entry.problem = Some(format!("entry {name:?} is not in block style; write it one key per line to promote it"));
        return entry;
    };
    entry.line = name_line + 1;
    let dash_indent = line_text(name_line).find("- ").filter(|i| line_text(name_line)[..*i].trim().is_empty());
    let key_indent =
        line_text(name_line).len() - line_text(name_line).trim_start().len() + dash_indent.map_or(0, |_| 2);
    // The entry's lines: from its first line to the next `- ` at the dash
    // indentation, or a line indented less than its keys.
    let item_start =
        (lines.start..=name_line).rev().find(|&i| line_text(i).trim_start().starts_with("- ")).unwrap_or(name_line);
    let mut i = item_start;
    while i < lines.end {
        let l = line_text(i);
        let indent = l.len() - l.trim_start().len();
        // The next item (`- ` at the dash's indentation) or a key of the
        // enclosing mapping ends this entry.
        if i > item_start && !l.trim().is_empty() && !l.trim_start().starts_with('#') && indent < key_indent {
            break;
        }
        for (key, slot) in
            [("newName", &mut entry.new_name), ("newTag", &mut entry.new_tag), ("digest", &mut entry.digest)]
        {
            if let Some((value, span, quote)) = scalar_after(l, starts[i], key) {
                *slot = Some(Located { value, span, quote, line: i + 1 });
            }
        }
        i += 1;
    }
    // What the parser read must be what was located.
    for key in ["newName", "newTag", "digest"] {
        let parsed = item.get(key).and_then(Value::as_str);
        if parsed != entry.field(key).map(|l| l.value.as_str()) {
            entry.problem =
                Some(format!("entry {name:?}: could not locate {key} for editing; write the entry one key per line"));
        }
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kustomize_images_and_model_tags_are_located() {
        let text = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\nimages:\n- name: vllm/vllm-openai\n  newTag: v0.8.5 # pinned\n- name: ghcr.io/acme/qwen\n  newName: reg.local/qwen\n  digest: \"sha256:abc\"\n---\napiVersion: gpuops.dev/v1alpha1\nkind: ModelTags\nmetadata: {name: m}\nspec:\n  models:\n    - name: reg.local/models/qwen\n      newTag: 'v1.2.0'\n";
        let entries = find_entries(text, "k.yaml");
        assert_eq!(entries.len(), 3, "{entries:#?}");
        let tag = entries[0].new_tag.as_ref().unwrap();
        assert_eq!((entries[0].line, tag.value.as_str(), &text[tag.span.clone()]), (5, "v0.8.5", "v0.8.5"));
        let digest = entries[1].digest.as_ref().unwrap();
        assert_eq!((&text[digest.span.clone()], digest.quote), ("sha256:abc", Quote::Double));
        assert_eq!(entries[1].new_name.as_ref().unwrap().value, "reg.local/qwen");
        assert!(entries[1].new_tag.is_none());
        assert_eq!(entries[2].kind, EntryKind::ModelTags);
        let tag = entries[2].new_tag.as_ref().unwrap();
        assert_eq!((&text[tag.span.clone()], tag.quote, tag.line), ("v1.2.0", Quote::Single, 17));
        assert!(entries.iter().all(|e| e.problem.is_none()));
    }

    #[test]
    fn flow_style_entries_are_reported() {
        let text = "kind: Kustomization\nimages: [{name: a, newTag: v1}]\n";
        let entries = find_entries(text, "k.yaml");
        assert!(entries[0].problem.as_deref().unwrap().contains("block style"), "{entries:?}");
    }
}
