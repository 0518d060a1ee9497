//! Setter markers and the scalar each one points at, located in the file's
//! bytes so a rewrite touches nothing else.
//!
//! Flux: `# {"$imagepolicy": "ns:policy[:tag|:name|:digest]"}` replaces the
//! whole scalar. gpuops: `# {"$modelpolicy": "ns:policy[:tag|:digest]"}`
//! replaces only the reference inside it (`oci://reg:5000/m:v1` keeps its
//! scheme, port and quotes).

use std::ops::Range;

/// Which marker convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkerKind {
    /// `$imagepolicy`: the whole scalar is replaced.
    Flux,
    /// `$modelpolicy`: only the reference inside the scalar is replaced.
    Model,
}

impl MarkerKind {
    /// The marker's key without the `$`.
    pub fn as_str(self) -> &'static str {
        match self {
            MarkerKind::Flux => "imagepolicy",
            MarkerKind::Model => "modelpolicy",
        }
    }
}

/// What part of the policy's result a marker wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// `name:tag[@digest]` (Flux bare), or the reference in place (gpuops bare).
    Ref,
    Tag,
    Name,
    Digest,
}

impl Field {
    /// The setter's suffix (`tag`, `name`, `digest`); `ref` for the bare form.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Ref => "ref",
            Field::Tag => "tag",
            Field::Name => "name",
            Field::Digest => "digest",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    Plain,
    Single,
    Double,
}

/// A marker found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub kind: MarkerKind,
    pub namespace: String,
    pub policy: String,
    pub field: Field,
    /// 1-based line of the scalar.
    pub line: usize,
    /// Byte range of the scalar's content (inside any quotes) in the file.
    pub span: Range<usize>,
    pub quote: Quote,
    /// The scalar's current value (unescaped).
    pub value: String,
}

/// A marker that could not be used, with the line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerProblem {
    pub line: usize,
    pub message: String,
}

/// Find every marker in `text`. A marker is a line comment on the scalar's
/// line, or (as kyaml also reads) a comment alone on the line above it.
pub fn find_markers(text: &str) -> (Vec<Marker>, Vec<MarkerProblem>) {
    let mut markers = Vec::new();
    let mut problems = Vec::new();
    if !text.contains("\"$imagepolicy\"") && !text.contains("\"$modelpolicy\"") {
        return (markers, problems);
    }
    let lines: Vec<(usize, &str)> = line_offsets(text);
    let mut pending_head: Option<(MarkerKind, String, usize)> = None;
    for (index, &(offset, line)) in lines.iter().enumerate() {
        let line_no = index + 1;
        let comment_at = comment_start(line);
        let parsed = comment_at.and_then(|at| parse_marker_comment(&line[at..]));
        let content_end = comment_at.unwrap_or(line.len());
        let has_content = !is_bare_entry(&line[..content_end]);
        let marker = match (parsed, has_content) {
            (Some(m), true) => Some(m),
            (Some((kind, value)), false) => {
                pending_head = Some((kind, value, line_no));
                continue;
            }
            (None, true) => pending_head.take().map(|(k, v, _)| (k, v)),
            (None, false) => continue,
        };
        let Some((kind, value)) = marker else { continue };
        pending_head = None;
        match build(kind, &value, line, offset, content_end, line_no) {
            Ok(m) => markers.push(m),
            Err(e) => problems.push(MarkerProblem { line: line_no, message: e.to_string() }),
        }
    }
    (markers, problems)
}

/// Whether a line holds no node of its own: blank, or only `-` sequence
/// indicators (`- # marker`, `- - # marker`).
///
/// Flux reads such a marker as a head comment of the next node, never as a
/// setter on the empty entry: go-yaml v3 parserc.go
/// `yaml_parser_parse_block_sequence_entry` emits the empty entry through
/// `yaml_parser_process_empty_scalar`, an event carrying no comment, so the
/// comment stays pending and becomes the next node's `HeadComment` (node_test.go
/// `"- # HA1\n  - la"` puts it on `la`); kyaml fieldmeta.go `FieldMeta.Read`
/// reads a node's LineComment and HeadComment, and image-automation-controller
/// internal/update/filter.go `SetAllCallback.visitScalar` sets the node that
/// carries it. With nothing after it, the marker sets nothing.
fn is_bare_entry(content: &str) -> bool {
    let mut rest = content.trim();
    while let Some(after) = rest.strip_prefix('-') {
        if !(after.is_empty() || after.starts_with([' ', '\t'])) {
            return false;
        }
        rest = after.trim_start();
    }
    rest.is_empty()
}

fn line_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        out.push((offset, bare));
        offset += line.len();
    }
    out
}

/// Where a `#` comment starts on a line (outside quotes, after whitespace).
fn comment_start(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let (mut in_single, mut in_double) = (false, false);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if in_double => i += 1,
            b'"' if !in_single => in_double = !in_double,
            b'\'' if !in_double => in_single = !in_single,
            b'#' if !in_single && !in_double && (i == 0 || bytes[i - 1] == b' ' || bytes[i - 1] == b'\t') => {
                return Some(i);
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// `# {"$imagepolicy": "ns:name:tag"}` → (kind, "ns:name:tag").
fn parse_marker_comment(comment: &str) -> Option<(MarkerKind, String)> {
    let json = comment.trim_start_matches('#').trim();
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).ok()?;
    for (key, kind) in [("$imagepolicy", MarkerKind::Flux), ("$modelpolicy", MarkerKind::Model)] {
        if let Some(value) = map.get(key).and_then(serde_json::Value::as_str) {
            return Some((kind, value.to_string()));
        }
    }
    None
}

/// A setter comment that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MarkerError {
    #[error("marker value {value:?} is not NAMESPACE:POLICY{allowed}")]
    Value { value: String, allowed: &'static str },
    #[error("marker value {0:?} needs both namespace and policy name")]
    Incomplete(String),
    #[error("no scalar on the marker's line")]
    NoScalar,
    #[error("cannot read the double-quoted scalar")]
    DoubleQuoted,
    #[error("markers work on plain or quoted scalars, not block, flow, anchored or tagged nodes")]
    NotAScalar,
}

fn build(
    kind: MarkerKind,
    value: &str,
    line: &str,
    offset: usize,
    content_end: usize,
    line_no: usize,
) -> Result<Marker, MarkerError> {
    let parts: Vec<&str> = value.split(':').collect();
    let (namespace, policy, field) = match parts.as_slice() {
        [ns, name] => (ns, name, Field::Ref),
        [ns, name, "tag"] => (ns, name, Field::Tag),
        [ns, name, "name"] if kind == MarkerKind::Flux => (ns, name, Field::Name),
        [ns, name, "digest"] => (ns, name, Field::Digest),
        _ => {
            let allowed = if kind == MarkerKind::Flux { "[:tag|:name|:digest]" } else { "[:tag|:digest]" };
            return Err(MarkerError::Value { value: value.to_string(), allowed });
        }
    };
    if namespace.is_empty() || policy.is_empty() {
        return Err(MarkerError::Incomplete(value.to_string()));
    }
    let (start, end, quote) = scalar_span(&line[..content_end]).ok_or(MarkerError::NoScalar)?;
    let raw = &line[start..end];
    let value_text = match quote {
        Quote::Plain => raw.to_string(),
        Quote::Single => raw.replace("''", "'"),
        Quote::Double => {
            serde_json::from_str::<String>(&format!("\"{raw}\"")).map_err(|_| MarkerError::DoubleQuoted)?
        }
    };
    if quote == Quote::Plain && (raw.starts_with(['|', '>', '&', '*', '!', '{', '['])) {
        return Err(MarkerError::NotAScalar);
    }
    Ok(Marker {
        kind,
        namespace: (*namespace).to_string(),
        policy: (*policy).to_string(),
        field,
        line: line_no,
        span: offset + start..offset + end,
        quote,
        value: value_text,
    })
}

/// Byte range of a scalar value in `key: value`, `- value` or `- key: value`,
/// without its quotes.
fn scalar_span(content: &str) -> Option<(usize, usize, Quote)> {
    // Every offset below is into `content` cut at its trailing blanks, so
    // no slice can start past its end (`- ` alone once did: issue 18).
    let content = content.trim_end();
    let trimmed_end = content.len();
    let skip_blanks = |from: usize| trimmed_end - content[from..].trim_start().len();
    let mut start = skip_blanks(0);
    while content[start..].starts_with("- ") || content[start..].starts_with("-\t") {
        start = skip_blanks(start + 2);
    }
    if let Some(colon) = key_separator(&content[start..]) {
        start = skip_blanks(start + colon + 1);
    }
    if start >= trimmed_end || &content[start..] == "-" {
        return None;
    }
    let value = &content[start..];
    match value.as_bytes()[0] {
        b'"' if value.len() >= 2 && value.ends_with('"') => Some((start + 1, trimmed_end - 1, Quote::Double)),
        b'\'' if value.len() >= 2 && value.ends_with('\'') => Some((start + 1, trimmed_end - 1, Quote::Single)),
        b'"' | b'\'' => None,
        _ => Some((start, trimmed_end, Quote::Plain)),
    }
}

/// Position of the `:` ending a mapping key, if the text starts with one.
fn key_separator(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    if let Some(&q @ (b'"' | b'\'')) = bytes.first() {
        let close = text[1..].find(q as char)? + 1;
        return (bytes.get(close + 1) == Some(&b':') && bytes.get(close + 2).is_none_or(|c| *c == b' '))
            .then_some(close + 1);
    }
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b':' && (i + 1 == bytes.len() || bytes[i + 1] == b' ' || bytes[i + 1] == b'\t') {
            return Some(i);
        }
        i += 1;
    }
    None
}

/// Write `value` back in the scalar's quote style; a plain scalar that would
/// stop reading as a string (`1.10`, `2`) is double-quoted instead.
pub fn render(value: &str, quote: Quote) -> (String, Quote) {
    match quote {
        Quote::Plain if gpuops_manifest::yaml::is_plain_safe(value) => (value.to_string(), Quote::Plain),
        Quote::Plain => (value.to_string(), Quote::Double),
        Quote::Single => (value.replace('\'', "''"), Quote::Single),
        Quote::Double => {
            let json = serde_json::to_string(value).unwrap_or_default();
            (json[1..json.len() - 1].to_string(), Quote::Double)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_line_and_head_markers_with_exact_spans() {
        let text = "spec:\n  values:\n    byo:\n      tag: v1.0.0 # {\"$imagepolicy\": \"flux-system:foundry:tag\"}\n      # {\"$modelpolicy\": \"ml:qwen\"}\n      uri: \"oci://reg:5000/m/qwen:v1.2.0\"\n    list:\n    - 'img:1' # {\"$imagepolicy\": \"ns:p\"}\n";
        let (markers, problems) = find_markers(text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(markers.len(), 3);
        assert_eq!((markers[0].field, &text[markers[0].span.clone()]), (Field::Tag, "v1.0.0"));
        assert_eq!(markers[0].line, 4);
        assert_eq!((markers[1].kind, markers[1].quote), (MarkerKind::Model, Quote::Double));
        assert_eq!(&text[markers[1].span.clone()], "oci://reg:5000/m/qwen:v1.2.0");
        assert_eq!((markers[2].quote, markers[2].value.as_str()), (Quote::Single, "img:1"));
    }

    #[test]
    fn bad_markers_are_reported_with_their_line() {
        let (markers, problems) =
            find_markers("a: b # {\"$imagepolicy\": \"just-a-name\"}\nc: | # {\"$imagepolicy\": \"ns:p\"}\n");
        assert!(markers.is_empty());
        assert_eq!(problems.iter().map(|p| p.line).collect::<Vec<_>>(), [1, 2]);
    }

    #[test]
    fn hash_inside_quotes_is_not_a_comment() {
        let (markers, _) = find_markers("a: \"x # y\" # {\"$imagepolicy\": \"ns:p:tag\"}\n");
        assert_eq!(markers[0].value, "x # y");
    }

    /// Issue 18 (found by cargo-fuzz): a marker after a bare `- ` sliced
    /// `content[2..1]` and panicked scan, apply and TAB completion.
    #[test]
    fn a_marker_on_a_bare_sequence_entry_sets_nothing_and_does_not_panic() {
        // The line, and the input cargo-fuzz minimized from the
        // seed helmrelease.yaml (fuzz/README.md) on the old reader.
        for text in ["- # {\"$imagepolicy\": \"ns:p\"}", "\n -  # {\"$imagepolicy\": \"fn: :tag\"}  "] {
            let (markers, problems) = find_markers(text);
            assert!(markers.is_empty() && problems.is_empty(), "{text:?}: {markers:?} {problems:?}");
        }
        // As go-yaml reads it: the head comment of the next node.
        let text =
            "list:\n- # {\"$imagepolicy\": \"ns:p:tag\"}\n  - v1.0.0\n-\t# {\"$imagepolicy\": \"ns:q\"}\n- img:1\n";
        let (markers, problems) = find_markers(text);
        assert!(problems.is_empty(), "{problems:?}");
        let found: Vec<_> = markers.iter().map(|m| (m.policy.as_str(), m.line, &text[m.span.clone()])).collect();
        assert_eq!(found, [("p", 3, "v1.0.0"), ("q", 5, "img:1")]);
    }

    #[test]
    fn lines_without_a_scalar_are_problems_not_panics() {
        let marker = "# {\"$imagepolicy\": \"ns:p\"}";
        // (line before the marker, markers found, problems found)
        for (line, found, problems_found) in [
            ("- - ", 0, 0),
            ("key: ", 0, 1),
            ("- key: ", 0, 1),
            ("'a': ", 0, 1),
            ("\"a\": ", 0, 1),
            ("- -x ", 1, 0),
            ("-- ", 1, 0),
            // An unterminated quote swallows the `#`: no comment at all.
            ("'", 0, 0),
            ("k: \"", 0, 0),
        ] {
            let text = format!("{line}{marker}\n");
            let (markers, problems) = find_markers(&text);
            assert_eq!((markers.len(), problems.len()), (found, problems_found), "{line:?}: {markers:?} {problems:?}");
            for m in markers {
                assert!(m.span.end <= text.len() && !text[m.span].contains('#'), "{line:?}");
            }
        }
    }

    #[test]
    fn render_keeps_strings_strings() {
        assert_eq!(render("v2.0.0", Quote::Plain), ("v2.0.0".to_string(), Quote::Plain));
        assert_eq!(render("1.10", Quote::Plain), ("1.10".to_string(), Quote::Double));
        assert_eq!(render("it's", Quote::Single).0, "it''s");
    }
}
