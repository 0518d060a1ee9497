//! Splitting a multi-document stream while keeping each document's own text,
//! so objects that a transformation does not touch can be written back
//! byte-for-byte.

use serde_json::Value;

use super::YamlError;

/// One document of a stream: its original text and its parsed value.
#[derive(Debug, Clone)]
pub struct Document {
    /// The text between separators, exactly as read (no `---` line).
    pub text: String,
    /// The parsed value.
    pub value: Value,
    /// The 1-based line of the stream where this document starts.
    pub first_line: usize,
}

/// A document's raw text and the line where it starts.
#[derive(Debug, Clone, Copy)]
pub struct RawDocument<'a> {
    pub text: &'a str,
    pub first_line: usize,
}

/// Split a stream on `---` lines (and `...` end markers). Documents holding
/// only comments or blank lines are dropped, as kustomize and kubectl do.
pub fn split_documents(input: &str) -> Vec<RawDocument<'_>> {
    let mut docs = Vec::new();
    let mut start = 0usize;
    let mut start_line = 1usize;
    let mut offset = 0usize;
    let mut line_no = 0usize;
    fn push<'a>(docs: &mut Vec<RawDocument<'a>>, text: &'a str, first_line: usize) {
        if has_content(text) {
            docs.push(RawDocument { text, first_line });
        }
    }
    for line in input.split_inclusive('\n') {
        line_no += 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        let is_separator = bare == "---"
            || bare.starts_with("--- ")
            || bare.starts_with("---\t")
            || bare == "..."
            || bare.starts_with("... ");
        if is_separator {
            push(&mut docs, &input[start..offset], start_line);
            // `--- {a: 1}` carries content on the separator line itself.
            let rest = bare.strip_prefix("---").map_or("", str::trim_start);
            if rest.is_empty() || rest.starts_with('#') {
                start = offset + line.len();
                start_line = line_no + 1;
            } else {
                start = offset + 3 + (bare.len() - 3 - rest.len());
                start_line = line_no;
            }
        }
        offset += line.len();
    }
    push(&mut docs, &input[start..], start_line);
    docs
}

fn has_content(text: &str) -> bool {
    text.lines().any(|l| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#') && !t.starts_with('%')
    })
}

/// Parse one YAML (or JSON) document into an order-preserving value.
pub fn parse_document(text: &str, source_name: &str, first_line: usize) -> Result<Value, YamlError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // JSON is YAML, but serde_json is several times faster on large
        // ResourceLists; fall back to YAML for flow-style YAML that is not JSON.
        if let Ok(value) = serde_json::from_str(text) {
            return Ok(value);
        }
    }
    // Most documents are plain block YAML that the fast reader answers for
    // (with the value serde-saphyr would build); the rest go to serde-saphyr.
    if let Some(value) = super::simple::parse(text) {
        return Ok(value);
    }
    // `0755` is octal 493 to every Kubernetes tool (sigs.k8s.io/yaml reads
    // YAML 1.1; go-yaml v3, kustomize's and kpt's, keeps 1.1 octals "because
    // most parsers still use the old format"): read it as they do.
    let options = serde_saphyr::options! {
        budget: None,
        legacy_octal_numbers: true,
    };
    let limit = super::budget::budget_for(text.len());
    let (result, exceeded) = super::budget::with_budget(limit, || {
        serde_saphyr::from_str_with_options::<super::budget::BudgetedValue>(text, options)
    });
    result.map(|v| v.0).map_err(|e| {
        let message = if exceeded {
            format!("document at line {first_line}: {}", super::budget::message(limit))
        } else {
            shift_line_numbers(&first_line_message(&e.to_string()), first_line)
        };
        YamlError { source_name: source_name.to_string(), message }
    })
}

/// serde-saphyr renders a code snippet after the message; one line is what a
/// user of kubectl expects.
fn first_line_message(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    // Advice meant for the library's caller, not for whoever wrote the file.
    first.strip_suffix(", set DuplicateKeyPolicy in Options if acceptable").unwrap_or(first).to_string()
}

/// Errors name lines relative to the document; make them relative to the
/// stream so the user can jump to them.
fn shift_line_numbers(message: &str, first_line: usize) -> String {
    if first_line <= 1 {
        return message.to_string();
    }
    let Some(pos) = message.find("line ") else {
        return message.to_string();
    };
    let digits: String = message[pos + 5..].chars().take_while(char::is_ascii_digit).collect();
    match digits.parse::<usize>() {
        Ok(n) => format!("{}line {}{}", &message[..pos], n + first_line - 1, &message[pos + 5 + digits.len()..]),
        Err(_) => message.to_string(),
    }
}

/// Decides from a document's text whether it needs parsing at all.
pub type Wanted<'a> = &'a (dyn Fn(&str) -> bool + Sync);

/// Parse independent documents, on all cores when there are many: YAML
/// parsing dominates a large ResourceList's cost. Documents `wanted`
/// rejects are not parsed and come back as `Value::Null`.
pub fn parse_many(docs: &[RawDocument<'_>], source_name: &str, wanted: Wanted<'_>) -> Result<Vec<Value>, YamlError> {
    const MIN_PER_THREAD: usize = 256;
    let threads = std::thread::available_parallelism().map_or(1, usize::from).min(docs.len() / MIN_PER_THREAD).max(1);
    let parse_part = |part: &[RawDocument<'_>]| {
        part.iter()
            .map(|d| if wanted(d.text) { parse_document(d.text, source_name, d.first_line) } else { Ok(Value::Null) })
            .collect::<Result<Vec<_>, _>>()
    };
    if threads == 1 {
        return parse_part(docs);
    }
    let chunk = docs.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = docs.chunks(chunk).map(|part| scope.spawn(move || parse_part(part))).collect();
        let mut values = Vec::with_capacity(docs.len());
        for handle in handles {
            values.extend(handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?);
        }
        Ok(values)
    })
}

/// Parse every document of a stream, keeping its text.
pub fn parse_stream(input: &str, source_name: &str) -> Result<Vec<Document>, YamlError> {
    let mut docs = parse_stream_filtered(input, source_name, &|_| true)?;
    docs.retain(|d| !d.value.is_null());
    Ok(docs)
}

/// Like [`parse_stream`], but documents `wanted` rejects stay unparsed
/// (`Value::Null`, text kept).
pub fn parse_stream_filtered(input: &str, source_name: &str, wanted: Wanted<'_>) -> Result<Vec<Document>, YamlError> {
    let raw = split_documents(input);
    let values = parse_many(&raw, source_name, wanted)?;
    Ok(raw
        .into_iter()
        .zip(values)
        .map(|(raw, value)| Document { text: raw.text.to_string(), value, first_line: raw.first_line })
        .collect())
}

/// `apiVersion` and `kind` of a block-style document, read from its
/// column-0 lines without parsing it. `None` when either is not there in
/// plain form (flow style, anchors, quotes spanning lines): parse instead.
pub fn header_of(text: &str) -> Option<(&str, &str)> {
    let (mut api_version, mut kind) = (None, None);
    for line in text.lines() {
        let value = |key: &str| {
            line.strip_prefix(key).and_then(|rest| rest.strip_prefix(':')).map(|v| {
                let v = v.split(" #").next().unwrap_or(v).trim();
                v.trim_matches(|c| c == '"' || c == '\'')
            })
        };
        if let Some(v) = value("apiVersion") {
            api_version = Some(v);
        } else if let Some(v) = value("kind") {
            kind = Some(v);
        }
        if let (Some(a), Some(k)) = (api_version, kind) {
            let plain = |s: &str| !s.is_empty() && !s.starts_with(['&', '*', '!', '{', '[']);
            return (plain(a) && plain(k)).then_some((a, k));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_separators_and_keeps_text() {
        let input = "# header\n---\na: 1\n---\n# only a comment\n---\nb: [1, 2]\n...\n";
        let docs = split_documents(input);
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].text, "# header\n---\na: 1\n".split("---\n").nth(1).unwrap());
        assert_eq!(docs[0].first_line, 3);
        assert_eq!(docs[1].text, "b: [1, 2]\n");
        assert_eq!(docs[1].first_line, 7);
    }

    #[test]
    fn content_on_the_separator_line_is_kept() {
        let docs = split_documents("--- {a: 1}\n--- # c\nb: 2\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].text, "{a: 1}\n");
        assert_eq!(docs[1].text, "b: 2\n");
    }

    #[test]
    fn separator_inside_a_block_scalar_is_not_a_separator() {
        let docs = split_documents("a: |\n  ---\n  x\n");
        assert_eq!(docs.len(), 1);
    }

    #[test]
    fn parse_errors_name_the_stream_line() {
        let err = parse_stream("a: 1\n---\nb: [\n", "f.yaml").unwrap_err();
        assert!(err.to_string().starts_with("f.yaml: "), "{err}");
        assert!(!err.to_string().contains('\n'), "{err}");
    }

    #[test]
    fn header_is_read_without_parsing() {
        assert_eq!(
            header_of("kind: Deployment # x\nmetadata: {}\napiVersion: \"apps/v1\"\n"),
            Some(("apps/v1", "Deployment"))
        );
        assert_eq!(header_of("{apiVersion: v1, kind: Pod}\n"), None);
        assert_eq!(header_of("spec:\n  kind: Deployment\napiVersion: v1\n"), None);
        assert_eq!(header_of("apiVersion: v1\nkind: &k Pod\n"), None);
    }

    #[test]
    fn keeps_key_order() {
        let docs = parse_stream("z: 1\na: 2\nm: 3\n", "x").unwrap();
        let keys: Vec<_> = docs[0].value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }
}
