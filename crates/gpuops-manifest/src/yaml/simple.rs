//! A fast reader for the plain block YAML that kustomize, kpt and most
//! authors write: block mappings and sequences, one-line flow collections,
//! quoted and plain one-line scalars. Parsing is most of a large
//! ResourceList's cost and serde-saphyr spends ~370 instructions a byte on
//! it; this reader spends a fraction of that.
//!
//! It answers only when certain: anything else — anchors, aliases, tags,
//! block scalars, multi-line scalars, escapes, merge keys, duplicate keys,
//! tabs, a scalar whose type is not obvious — gives `None`, and the caller
//! parses the document with serde-saphyr as before. So every value it
//! returns is the one serde-saphyr would build (tested against it), and
//! every error message still comes from serde-saphyr.

use serde_json::{Map, Value};

use super::emit::{find_pair, is_plain_safe};

/// The document's value, or `None` when the document is outside this
/// reader's subset (parse it with serde-saphyr then).
pub(crate) fn parse(text: &str) -> Option<Value> {
    if text.contains('\t') || text.contains('\r') || text.starts_with('\u{feff}') {
        return None;
    }
    let mut lines = Vec::with_capacity(text.len() / 24);
    for line in text.lines() {
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        if content.starts_with("---") || content.starts_with("...") || content.starts_with('%') {
            return None;
        }
        lines.push(Line { indent: line.len() - content.len(), content: content.trim_end_matches(' ') });
    }
    let mut reader = Reader { lines, at: 0 };
    let first = reader.peek()?;
    let value = reader.block(first.indent)?;
    reader.peek().is_none().then_some(value)
}

#[derive(Clone, Copy)]
struct Line<'a> {
    indent: usize,
    content: &'a str,
}

struct Reader<'a> {
    lines: Vec<Line<'a>>,
    at: usize,
}

fn is_entry(content: &str) -> bool {
    content == "-" || content.starts_with("- ")
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<Line<'a>> {
        self.lines.get(self.at).copied()
    }

    /// A block collection whose first line is the current one, at `indent`.
    fn block(&mut self, indent: usize) -> Option<Value> {
        let line = self.peek()?;
        if line.indent != indent {
            return None;
        }
        if is_entry(line.content) { self.sequence(indent) } else { self.mapping(indent) }
    }

    fn sequence(&mut self, indent: usize) -> Option<Value> {
        let mut items = Vec::new();
        while let Some(line) = self.peek().filter(|l| l.indent == indent && is_entry(l.content)) {
            let rest = line.content[1..].trim_start_matches(' ');
            if rest.is_empty() || rest.starts_with('#') {
                return None;
            }
            let column = indent + line.content.len() - rest.len();
            if is_entry(rest) || key_of(rest).is_some() {
                // `- key: value` or `- - x`: a collection starting mid-line.
                self.lines[self.at] = Line { indent: column, content: rest };
                items.push(self.block(column)?);
            } else {
                self.at += 1;
                items.push(inline_value(rest)?);
                self.no_continuation(indent)?;
            }
        }
        // A sequence at its key's column (kyaml) ends at that key's next
        // sibling; whether that line fits is the parent's to check.
        self.peek().is_none_or(|next| next.indent <= indent).then_some(())?;
        Some(Value::Array(items))
    }

    fn mapping(&mut self, indent: usize) -> Option<Value> {
        let mut map = Map::new();
        while let Some(line) = self.peek().filter(|l| l.indent == indent && !is_entry(l.content)) {
            let (key, rest) = key_of(line.content)?;
            self.at += 1;
            let value = if rest.is_empty() || rest.starts_with('#') {
                match self.peek() {
                    Some(next) if next.indent > indent => self.block(next.indent)?,
                    // kyaml's layout: a sequence at its key's column.
                    Some(next) if next.indent == indent && is_entry(next.content) => self.sequence(indent)?,
                    _ => Value::Null,
                }
            } else {
                let value = inline_value(rest)?;
                self.no_continuation(indent)?;
                value
            };
            if map.insert(key.to_string(), value).is_some() {
                return None; // serde-saphyr refuses duplicate keys, with its message
            }
        }
        self.ends_at(indent)?;
        Some(Value::Object(map))
    }

    /// After a one-line value in a collection at `indent`, a deeper line
    /// would continue it (a multi-line scalar) or be an error.
    fn no_continuation(&self, indent: usize) -> Option<()> {
        self.peek().is_none_or(|next| next.indent <= indent).then_some(())
    }

    /// A collection at `indent` ends at a shallower line (or the end).
    fn ends_at(&self, indent: usize) -> Option<()> {
        self.peek().is_none_or(|next| next.indent < indent).then_some(())
    }
}

/// `key: rest` or `key:` with a plain key that reads as the same string
/// everywhere; `rest` may hold a comment.
fn key_of(content: &str) -> Option<(&str, &str)> {
    let (key, rest) = match find_pair(content, b':', b' ') {
        Some(at) => (&content[..at], content[at + 2..].trim_start_matches(' ')),
        None => (content.strip_suffix(':')?, ""),
    };
    (is_plain_safe(key) && key != "<<").then_some((key, rest))
}

/// A one-line value: a flow collection, a quoted or a plain scalar, with an
/// optional trailing comment.
fn inline_value(text: &str) -> Option<Value> {
    let mut flow = Flow { text: text.as_bytes(), at: 0 };
    let value = match text.as_bytes()[0] {
        b'{' | b'[' | b'"' | b'\'' => flow.value()?,
        _ => {
            let end = find_pair(text, b' ', b'#').unwrap_or(text.len());
            let scalar = text[..end].trim_end_matches(' ');
            if find_pair(scalar, b':', b' ').is_some() || scalar.ends_with(':') {
                return None;
            }
            flow.at = text.len();
            plain(scalar)?
        }
    };
    let rest = text[flow.at..].trim_start_matches(' ');
    (rest.is_empty() || (rest.starts_with('#') && flow.at < text.len() && text.as_bytes()[flow.at] == b' '))
        .then_some(value)
}

/// What a plain scalar resolves to, where every YAML reader agrees.
fn plain(s: &str) -> Option<Value> {
    match s {
        "null" | "~" => return Some(Value::Null),
        "true" => return Some(Value::Bool(true)),
        "false" => return Some(Value::Bool(false)),
        _ => {}
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        // Decimal only: `0755` (octal to YAML 1.1) and the like go to serde-saphyr.
        if digits.len() > 1 && digits.starts_with('0') {
            return None;
        }
        return if s.starts_with('-') {
            s.parse::<i64>().ok().map(Value::from)
        } else {
            s.parse::<u64>().ok().map(Value::from)
        };
    }
    is_plain_safe(s).then(|| Value::String(s.to_string()))
}

/// A flow collection or a quoted scalar on one line.
struct Flow<'a> {
    text: &'a [u8],
    at: usize,
}

impl Flow<'_> {
    fn skip_spaces(&mut self) {
        while self.text.get(self.at) == Some(&b' ') {
            self.at += 1;
        }
    }

    fn value(&mut self) -> Option<Value> {
        self.skip_spaces();
        match *self.text.get(self.at)? {
            b'{' => self.mapping(),
            b'[' => self.sequence(),
            b'\'' => self.single_quoted().map(Value::String),
            b'"' => self.double_quoted().map(Value::String),
            _ => {
                let start = self.at;
                while self.text.get(self.at).is_some_and(|b| !matches!(b, b',' | b'[' | b']' | b'{' | b'}')) {
                    self.at += 1;
                }
                let scalar = std::str::from_utf8(&self.text[start..self.at]).ok()?.trim_end_matches(' ');
                if scalar.is_empty() {
                    return None;
                }
                plain(scalar)
            }
        }
    }

    fn sequence(&mut self) -> Option<Value> {
        self.at += 1;
        let mut items = Vec::new();
        self.skip_spaces();
        if self.text.get(self.at) == Some(&b']') {
            self.at += 1;
            return Some(Value::Array(items));
        }
        loop {
            items.push(self.value()?);
            self.skip_spaces();
            match self.text.get(self.at)? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(Value::Array(items));
                }
                _ => return None,
            }
        }
    }

    fn mapping(&mut self) -> Option<Value> {
        self.at += 1;
        let mut map = Map::new();
        self.skip_spaces();
        if self.text.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Some(Value::Object(map));
        }
        loop {
            self.skip_spaces();
            let start = self.at;
            while self.text.get(self.at).is_some_and(|b| !matches!(b, b':' | b',' | b'[' | b']' | b'{' | b'}')) {
                self.at += 1;
            }
            let key = std::str::from_utf8(&self.text[start..self.at]).ok()?.trim_end_matches(' ');
            // `key: value` only; `key:value`, `{key}` and the rest go to serde-saphyr.
            if self.text.get(self.at) != Some(&b':') || self.text.get(self.at + 1) != Some(&b' ') {
                return None;
            }
            if !is_plain_safe(key) || key == "<<" {
                return None;
            }
            self.at += 2;
            let value = self.value()?;
            if map.insert(key.to_string(), value).is_some() {
                return None;
            }
            self.skip_spaces();
            match self.text.get(self.at)? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(Value::Object(map));
                }
                _ => return None,
            }
        }
    }

    /// `'…'` with `''` for a quote, closed on this line.
    fn single_quoted(&mut self) -> Option<String> {
        let mut out = Vec::new();
        self.at += 1;
        loop {
            match *self.text.get(self.at)? {
                b'\'' if self.text.get(self.at + 1) == Some(&b'\'') => {
                    out.push(b'\'');
                    self.at += 2;
                }
                b'\'' => {
                    self.at += 1;
                    return String::from_utf8(out).ok();
                }
                b => {
                    out.push(b);
                    self.at += 1;
                }
            }
        }
    }

    /// `"…"` without escapes, closed on this line.
    fn double_quoted(&mut self) -> Option<String> {
        self.at += 1;
        let start = self.at;
        loop {
            match *self.text.get(self.at)? {
                b'"' => {
                    let s = std::str::from_utf8(&self.text[start..self.at]).ok()?.to_string();
                    self.at += 1;
                    return Some(s);
                }
                b'\\' => return None,
                _ => self.at += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    /// serde-saphyr's value, as `parse_document` reads without this reader.
    fn saphyr(text: &str) -> Option<serde_json::Value> {
        let options = serde_saphyr::options! { legacy_octal_numbers: true };
        serde_saphyr::from_str_with_options::<serde_json::Value>(text, options).ok()
    }

    #[test]
    fn answers_kustomize_output_with_serde_saphyrs_value() {
        for text in [
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm-0\n  namespace: team-0\n  labels: {app: llm-0, tier: gpu}\n  annotations:\n    internal.config.kubernetes.io/index: '0'\n    description: \"object number 0, padded\"\nspec:\n  replicas: 2\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: registry.example.com:5000/models/qwen:v1.0.0\n        args: [--model=/models/qwen, --max-model-len=8192]\n        ports: [{containerPort: 8000}]\n        resources:\n          requests: {cpu: '4', memory: 16Gi}\n      - name: proxy\n        image: envoyproxy/envoy:v1.31.0\n",
            "a:\n  - x\n  - k: 1\n    z: -3\n  - - nested\n    - 2\nb: ~\nc:\nd: null\ne: true\nf: false\ng: ''\nh: 'it''s'\ni: \"\"\nj: []\nk: {}\nl: [a, [b, c], {d: e}]\nm: http://example.com:8080/x#frag # comment\n",
            "# leading comment\nlist:\n- a # one\n\n- b\n# between\nafter: 1\n",
            "key:    spaced\nurl: {u: http://x:1/y}\n-neg: -12\nbig: 18446744073709551615\n",
        ] {
            let fast = parse(text);
            assert!(fast.is_some(), "the fast reader should answer for\n{text}");
            assert_eq!(fast, saphyr(text), "{text}");
        }
    }

    #[test]
    fn leaves_everything_else_to_serde_saphyr() {
        for text in [
            "a: 0755\n",
            "a: 1.10\n",
            "a: yes\n",
            "a: True\n",
            "a: NULL\n",
            "a: 1e3\n",
            "a: 0x1f\n",
            "a: 1_000\n",
            "a: .inf\n",
            "a: 18446744073709551616\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "<<: {a: 1}\n",
            "a: 1\na: 2\n",
            "a: |\n  text\n",
            "a: >\n  text\n",
            "a: multi\n  line\n",
            "a: \"esc\\n\"\n",
            "a: 'open\n  close'\n",
            "a: [1,\n  2]\n",
            "\"quoted key\": 1\n",
            "? complex\n: key\n",
            "a:\tb\n",
            "a: b\r\n",
            "a: b: c\n",
            "- x\n  - y\n",
            "a:\n  b: 1\n c: 2\n",
            "a: {b}\n",
            "a: {b:c}\n",
            "a: [x]y\n",
            "a: 'x'y\n",
            "plain scalar\n",
            "",
        ] {
            assert_eq!(parse(text), None, "{text:?} is not for the fast reader");
        }
    }
}
