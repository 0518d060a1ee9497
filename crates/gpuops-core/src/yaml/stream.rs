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
            let rest = if bare.starts_with("---") { bare[3..].trim_start() } else { "" };
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
    let options = serde_saphyr::options! {
        budget: None,
    };
    serde_saphyr::from_str_with_options::<Value>(text, options).map_err(|e| YamlError {
        source_name: source_name.to_string(),
        message: shift_line_numbers(&first_line_message(&e.to_string()), first_line),
    })
}

/// serde-saphyr renders a code snippet after the message; one line is what a
/// user of kubectl expects.
fn first_line_message(message: &str) -> String {
    message.lines().next().unwrap_or(message).trim().to_string()
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
        Ok(n) => format!(
            "{}line {}{}",
            &message[..pos],
            n + first_line - 1,
            &message[pos + 5 + digits.len()..]
        ),
        Err(_) => message.to_string(),
    }
}

/// Parse every document of a stream, keeping its text.
pub fn parse_stream(input: &str, source_name: &str) -> Result<Vec<Document>, YamlError> {
    split_documents(input)
        .into_iter()
        .map(|raw| {
            let value = parse_document(raw.text, source_name, raw.first_line)?;
            Ok(Document { text: raw.text.to_string(), value, first_line: raw.first_line })
        })
        .filter(|doc| !matches!(doc, Ok(Document { value: Value::Null, .. })))
        .collect()
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
    fn keeps_key_order() {
        let docs = parse_stream("z: 1\na: 2\nm: 3\n", "x").unwrap();
        let keys: Vec<_> = docs[0].value.as_object().unwrap().keys().cloned().collect();
        assert_eq!(keys, ["z", "a", "m"]);
    }
}
