//! A small block-style YAML writer for `serde_json::Value`.
//!
//! Layout follows kyaml (what `kustomize build` prints): two-space indent,
//! sequences at the same column as their key, plain scalars where YAML 1.1
//! and 1.2 readers agree they are strings, double quotes otherwise, literal
//! blocks for multi-line text.

use serde_json::{Map, Number, Value};

/// Write one value as a YAML document (no `---`).
pub fn to_yaml_string(value: &Value) -> String {
    let mut out = String::with_capacity(256);
    write_document(&mut out, value);
    out
}

/// Put back the YAML 1.1 octal literals of `original` (`defaultMode: 0755`)
/// where a re-emitted document wrote their value in decimal (`493`): the
/// value is the one every Kubernetes tool reads, and the form is the
/// author's. Only plain `key: 0NNN` scalars are considered, matched by key
/// and value.
pub fn restore_octal_forms(original: &str, emitted: &str) -> String {
    if !may_hold_octal_forms(original) {
        return emitted.to_string();
    }
    let key_and_value = |line: &str| -> Option<(String, String)> {
        let body = line.trim_start().trim_start_matches("- ");
        let (key, rest) = body.split_once(": ")?;
        let value = rest.split(" #").next().unwrap_or(rest).trim();
        Some((key.trim().to_string(), value.to_string()))
    };
    let octals: Vec<(String, String, String)> = original
        .lines()
        .filter_map(key_and_value)
        .filter(|(_, v)| v.len() > 1 && v.starts_with('0') && v.bytes().all(|b| (b'0'..=b'7').contains(&b)))
        .filter_map(|(k, v)| Some((k, u64::from_str_radix(&v, 8).ok()?.to_string(), v)))
        .collect();
    if octals.is_empty() {
        return emitted.to_string();
    }
    let mut out = String::with_capacity(emitted.len());
    for line in emitted.split_inclusive('\n') {
        let restored = key_and_value(line).and_then(|(key, value)| {
            let (_, _, literal) = octals.iter().find(|(k, decimal, _)| *k == key && *decimal == value)?;
            let at = line.rfind(&format!(": {value}"))?;
            Some(format!("{}: {literal}{}", &line[..at], &line[at + 2 + value.len()..]))
        });
        out.push_str(restored.as_deref().unwrap_or(line));
    }
    out
}

/// Whether [`restore_octal_forms`] could find anything to restore in
/// `original`: a `: ` followed (after blanks) by `0` and an octal digit.
/// Most documents have none, and a writer can then skip the restoring pass
/// and its copy (it cost 5% of a 10,000-object run, `scripts/bench.sh inject`).
pub fn may_hold_octal_forms(original: &str) -> bool {
    let mut from = 0;
    while let Some(at) = find_pair(&original[from..], b':', b' ') {
        let value = original[from + at + 2..].trim_start().as_bytes();
        if value.first() == Some(&b'0') && value.get(1).is_some_and(|b| (b'0'..=b'7').contains(b)) {
            return true;
        }
        from += at + 2;
    }
    false
}

/// Where the two ASCII bytes `first` `second` first occur in `s`: a
/// `memchr` for `first` (what `str::find(char)` does), then a look at the
/// next byte — several times faster than `str::find(&str)` on short text.
pub(crate) fn find_pair(s: &str, first: u8, second: u8) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(at) = s[from..].find(char::from(first)) {
        let at = from + at;
        if bytes.get(at + 1) == Some(&second) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

/// Append one value as a YAML document (no `---`) to `out`.
pub fn write_document(out: &mut String, value: &Value) {
    match value {
        Value::Object(map) if !map.is_empty() => write_mapping(out, map, 0, false),
        Value::Array(seq) if !seq.is_empty() => write_sequence(out, seq, 0, false),
        other => {
            write_scalar_value(out, other, 0);
            out.push('\n');
        }
    }
}

/// Append one top-level mapping entry (`key: value`) at column 0.
pub fn write_entry(out: &mut String, key: &str, value: &Value) {
    write_string(out, key, 0, true);
    out.push(':');
    write_child(out, value, 0, true);
}

/// Append one entry of a column-0 sequence (`- …`), kyaml style.
pub fn write_sequence_item(out: &mut String, value: &Value) {
    write_sequence(out, std::slice::from_ref(value), 0, false);
}

fn indent(out: &mut String, n: usize) {
    // One copy instead of a push per space: indentation is a good part of
    // every line of a re-emitted object.
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > SPACES.len() {
        out.push_str(SPACES);
        n -= SPACES.len();
    }
    out.push_str(&SPACES[..n]);
}

/// `first_inline`: the caller already wrote `- ` and the first key goes on
/// that line.
fn write_mapping(out: &mut String, map: &Map<String, Value>, col: usize, first_inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, col);
        }
        write_string(out, key, col, true);
        out.push(':');
        write_child(out, value, col, true);
    }
}

fn write_sequence(out: &mut String, seq: &[Value], col: usize, first_inline: bool) {
    for (i, item) in seq.iter().enumerate() {
        if i > 0 || !first_inline {
            indent(out, col);
        }
        out.push('-');
        write_child(out, item, col, false);
    }
}

/// Write what follows `key:` or `-`.
fn write_child(out: &mut String, value: &Value, col: usize, in_mapping: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            if in_mapping {
                out.push('\n');
                write_mapping(out, map, col + 2, false);
            } else {
                out.push(' ');
                write_mapping(out, map, col + 2, true);
            }
        }
        Value::Array(seq) if !seq.is_empty() => {
            if in_mapping {
                // kyaml style: the sequence sits at its key's column.
                out.push('\n');
                write_sequence(out, seq, col, false);
            } else {
                out.push(' ');
                write_sequence(out, seq, col + 2, true);
            }
        }
        scalar => {
            out.push(' ');
            write_scalar_value(out, scalar, col + 2);
            out.push('\n');
        }
    }
}

/// `block_col`: the column a literal block's lines start at.
fn write_scalar_value(out: &mut String, value: &Value, block_col: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s, block_col, false),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}

fn write_number(out: &mut String, n: &Number) {
    if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
        if f.is_nan() {
            out.push_str(".nan");
        } else if f.is_infinite() {
            out.push_str(if f > 0.0 { ".inf" } else { "-.inf" });
        } else {
            // Debug keeps the fraction (`1.0`), so the value stays a float.
            out.push_str(&format!("{f:?}"));
        }
    } else {
        use std::fmt::Write as _;
        // Into the output directly: `to_string` allocated for every integer.
        let _ = write!(out, "{n}");
    }
}

fn write_string(out: &mut String, s: &str, block_col: usize, is_key: bool) {
    if is_plain_safe(s) {
        out.push_str(s);
    } else if !is_key && literal_block_ok(s) {
        write_literal_block(out, s, block_col);
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

fn literal_block_ok(s: &str) -> bool {
    let Some(last_content) = s.trim_end_matches('\n').chars().last() else {
        return false;
    };
    s.contains('\n')
        && !s.starts_with([' ', '\t', '\n'])
        && !last_content.is_whitespace()
        && s.chars().all(|c| c == '\n' || c == '\t' || !c.is_control())
        && !s.contains('\u{feff}')
}

fn write_literal_block(out: &mut String, s: &str, col: usize) {
    let trailing_newlines = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing_newlines {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    let body = s.strip_suffix('\n').unwrap_or(s);
    for (i, line) in body.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if !line.is_empty() {
            indent(out, col);
            out.push_str(line);
        }
    }
    // The caller ends the line.
}

/// Whether `s` reads back as the same string when written unquoted, under
/// both YAML 1.1 (kyaml, PyYAML) and 1.2 resolvers.
pub fn is_plain_safe(s: &str) -> bool {
    // Every key and string value of a re-emitted object comes through here;
    // ASCII text (nearly all of it) is decided in one pass over its bytes.
    if s.is_ascii() { is_plain_safe_ascii(s.as_bytes()) && !looks_like_non_string(s) } else { is_plain_safe_chars(s) }
}

/// [`is_plain_safe_chars`]'s rules for ASCII text, byte by byte. An ASCII
/// whitespace other than the space is a control character, refused anyway.
fn is_plain_safe_ascii(b: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (b.first(), b.last()) else {
        return false;
    };
    if matches!(first, b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>')
        || matches!(first, b'\'' | b'"' | b'%' | b'@' | b'`' | b' ')
        || last == b' '
        || last == b':'
    {
        return false;
    }
    if first == b'-' && b.get(1).is_none_or(|&c| c == b' ' || c.is_ascii_control()) {
        return false;
    }
    // Only control characters, `:`, ` ` and `#` need a second look.
    for (i, &c) in b.iter().enumerate() {
        if c > b':' && c != 0x7f {
            continue;
        }
        // `: ` and ` #` (their tab forms hold a control character).
        if c < b' '
            || c == 0x7f
            || (c == b':' && b.get(i + 1) == Some(&b' '))
            || (c == b' ' && b.get(i + 1) == Some(&b'#'))
        {
            return false;
        }
    }
    true
}

/// The rules for any text, character by character.
fn is_plain_safe_chars(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if "?:,[]{}#&*!|>'\"%@`".contains(first) || first.is_whitespace() {
        return false;
    }
    let second = s[first.len_utf8()..].chars().next();
    if first == '-' && second.is_none_or(char::is_whitespace) {
        return false;
    }
    if s.ends_with(char::is_whitespace) || s.ends_with(':') {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains(":\t") || s.contains("\t#") {
        return false;
    }
    if s.chars().any(|c| c.is_control() || c == '\u{feff}' || c == '\u{85}') {
        return false;
    }
    !looks_like_non_string(s)
}

/// Words a YAML 1.1 or 1.2 reader takes for null, a boolean, a merge key,
/// a value key or a special float.
const RESERVED: &[&str] =
    &["null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", "<<", "=", ".inf", "-.inf", "+.inf", ".nan"];

fn looks_like_non_string(s: &str) -> bool {
    // No reserved word is longer than five bytes, and every one starts with
    // one of these (in either case): most short keys (`name`, `kind`, `spec`,
    // `cpu`) are told apart by their first byte.
    let may_be_reserved = |s: &str| {
        s.as_bytes().first().is_some_and(|b| {
            matches!(b.to_ascii_lowercase(), b'n' | b'~' | b't' | b'f' | b'y' | b'o' | b'<' | b'=' | b'.' | b'-' | b'+')
        })
    };
    (s.len() <= 5 && may_be_reserved(s) && RESERVED.iter().any(|r| s.eq_ignore_ascii_case(r)))
        || looks_numeric(s)
        || looks_like_timestamp(s)
}

/// Integers (decimal, `0x`, `0o`, `0b`, YAML 1.1 `_` separators and
/// sexagesimal `1:30`) and floats (`1.`, `.5`, `1e3`) under YAML 1.1 or 1.2.
/// `8Gi`, `1.2.3` and `2501-fp8` are strings in both, and stay plain.
fn looks_numeric(s: &str) -> bool {
    // Every form below is written with these characters only: most strings
    // are told apart here without the lower-cased copy.
    if !s
        .bytes()
        .all(|b| b.is_ascii_hexdigit() || matches!(b, b'x' | b'X' | b'o' | b'O' | b'_' | b'.' | b'+' | b'-' | b':'))
    {
        return false;
    }
    let body = s.strip_prefix(['-', '+']).unwrap_or(s);
    let lower = body.to_ascii_lowercase();
    for (prefix, digits) in [("0x", "0123456789abcdef_"), ("0o", "01234567_"), ("0b", "01_")] {
        if let Some(rest) = lower.strip_prefix(prefix) {
            return !rest.is_empty() && rest.chars().all(|c| digits.contains(c));
        }
    }
    let (mantissa, exponent) = match lower.split_once('e') {
        Some((m, e)) => (m, Some(e)),
        None => (lower.as_str(), None),
    };
    if let Some(e) = exponent {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        if e.is_empty() || !e.chars().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    let is_digits = |t: &str| t.chars().all(|c| c.is_ascii_digit() || c == '_');
    let has_digit = mantissa.chars().any(|c| c.is_ascii_digit());
    let plain_number = match mantissa.split_once('.') {
        Some((int, frac)) => is_digits(int) && is_digits(frac),
        None => is_digits(mantissa),
    };
    if has_digit && plain_number {
        return true;
    }
    // Sexagesimal (YAML 1.1): 190:20:30, 1:30.5
    exponent.is_none()
        && mantissa.contains(':')
        && mantissa.split(':').enumerate().all(|(i, part)| {
            let part = if i > 0 {
                part.split_once('.').map_or(part, |(w, f)| if is_digits(f) { w } else { "x" })
            } else {
                part
            };
            !part.is_empty() && is_digits(part) && (i == 0 || part.len() <= 2)
        })
}

/// `2001-12-14`, `2001-12-14t21:59:43.10-05:00`: YAML 1.1 timestamps.
fn looks_like_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |from: usize, n: usize| b.len() >= from + n && b[from..from + n].iter().all(u8::is_ascii_digit);
    if !(digits(0, 4) && b.get(4) == Some(&b'-')) {
        return false;
    }
    let month_len = if digits(5, 2) {
        2
    } else if digits(5, 1) {
        1
    } else {
        return false;
    };
    let day = 5 + month_len + 1;
    b.get(5 + month_len) == Some(&b'-') && (digits(day, 1))
}

#[cfg(test)]
mod tests {
    #[test]
    fn octal_literals_come_back_in_their_form() {
        let original = "volumes:\n- configMap:\n    defaultMode: 0755 # rwx\n    items:\n    - {key: a, path: a, mode: 0644}\n  name: s\nreplicas: 10\n";
        let parsed = crate::yaml::parse_stream(original, "x").unwrap().remove(0).value;
        assert_eq!(parsed.pointer("/volumes/0/configMap/defaultMode"), Some(&serde_json::json!(493)), "YAML 1.1 octal");
        let emitted = to_yaml_string(&parsed);
        let restored = restore_octal_forms(original, &emitted);
        assert!(restored.contains("defaultMode: 0755\n"), "{restored}");
        assert!(restored.contains("replicas: 10\n"), "decimals stay decimal: {restored}");
        assert_eq!(crate::yaml::parse_stream(&restored, "x").unwrap().remove(0).value, parsed, "same value");
        assert_eq!(restore_octal_forms("a: 1\n", "a: 1\n"), "a: 1\n");
    }

    use super::*;
    use crate::yaml::parse_document;
    use serde_json::json;

    fn round_trip(v: &Value) -> Value {
        let text = to_yaml_string(v);
        parse_document(&text, "t", 1).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn kyaml_layout() {
        let v = json!({"spec": {"containers": [{"name": "a", "args": ["--x=1", "-tp"]}], "empty": {}, "none": []}});
        assert_eq!(
            to_yaml_string(&v),
            "spec:\n  containers:\n  - name: a\n    args:\n    - --x=1\n    - -tp\n  empty: {}\n  none: []\n"
        );
    }

    #[test]
    fn every_reserved_word_is_quoted_in_any_case() {
        for word in RESERVED {
            for form in [word.to_string(), word.to_uppercase()] {
                assert!(!is_plain_safe(&form), "{form} must be quoted");
            }
        }
    }

    #[test]
    fn ambiguous_strings_are_quoted_and_read_back_as_strings() {
        for s in [
            "1",
            "1.10",
            "0755",
            "yes",
            "No",
            "on",
            "null",
            "~",
            "",
            " x",
            "x ",
            "a: b",
            "a #b",
            "-",
            "- x",
            "#c",
            "*x",
            "&a",
            "!t",
            "%p",
            "@a",
            "`b",
            "{a}",
            "[a]",
            "2024-01-01",
            ".5",
            "-1",
            "+1",
            "=",
            "<<",
            "tab\there",
            "x:",
            "é:",
            "8Gi",
            "1e3",
            "0x1f",
            "1:30",
        ] {
            let v = json!({ s: s });
            assert_eq!(round_trip(&v), v, "{s:?}");
        }
    }

    #[test]
    fn common_strings_stay_plain() {
        let v = json!({"image": "reg:5000/models/qwen:v1.2.0", "uri": "oci://host/repo:tag", "arg": "--model=x"});
        let text = to_yaml_string(&v);
        assert_eq!(text, "image: reg:5000/models/qwen:v1.2.0\nuri: oci://host/repo:tag\narg: --model=x\n");
        for s in ["8Gi", "100m", "1.2.3", "2501-fp8", "8xH100", "1e", "0xZZ", "12:345", "1-2"] {
            assert_eq!(to_yaml_string(&json!(s)), format!("{s}\n"), "{s} should stay plain");
        }
    }

    #[test]
    fn the_ascii_rules_agree_with_the_character_rules() {
        // Every string of up to three characters over the bytes the rules
        // look at, plus letters and digits around them.
        let alphabet: Vec<char> = " \t\n:#-_.+0179aeEfnoxXyY~<=?,[]{}&*!|>'\"%@`/\u{7f}".chars().collect();
        let mut strings = vec![String::new()];
        for len in 1..=3 {
            let mut next = Vec::new();
            for prefix in strings.iter().filter(|s| s.chars().count() == len - 1) {
                next.extend(alphabet.iter().map(|c| format!("{prefix}{c}")));
            }
            strings.extend(next);
        }
        strings.extend(
            ["null", "False", "-.inf", ".NaN", "0x1F", "0o17", "0b101", "1_000", "190:20:30", "12:345"]
                .map(String::from),
        );
        strings.extend(
            ["2024-01-01", "2024-1-1t10:00:00", "reg:5000/models/qwen:v1.2.0", "a: b", "a #b", "1e3", "1e"]
                .map(String::from),
        );
        for s in &strings {
            let fast = is_plain_safe_ascii(s.as_bytes()) && !looks_like_non_string(s);
            assert_eq!(fast, is_plain_safe_chars(s), "{s:?}");
        }
    }

    #[test]
    fn octal_forms_are_looked_for_only_where_they_can_be() {
        for (text, expected) in [
            ("mode: 0755\n", true),
            ("mode:   0644 # rw\n", true),
            ("- {key: a, mode: 0644}\n", true),
            ("replicas: 10\nport: 8080\n", false),
            ("version: '0755'\n", false),
            ("zero: 0\nnine: 09\n", false),
        ] {
            assert_eq!(may_hold_octal_forms(text), expected, "{text:?}");
        }
        // Where it finds none, restoring leaves the emitted text as it is.
        assert_eq!(restore_octal_forms("mode: 493\n", "mode: 493\n"), "mode: 493\n");
    }

    #[test]
    fn numeric_looking_strings_are_quoted() {
        for s in [
            "1",
            "-1",
            "+1.5",
            "1_000",
            "0x1F",
            "0o17",
            "0b101",
            "1e3",
            "1.",
            ".5",
            "1:30",
            "190:20:30",
            "2024-01-01",
            "2024-1-1t10:00:00",
        ] {
            assert!(to_yaml_string(&json!(s)).starts_with('"'), "{s} must be quoted");
        }
    }

    #[test]
    fn multi_line_strings_use_literal_blocks_and_round_trip() {
        for s in ["a\nb\n", "a\nb", "a\n\nb\n\n", "line1\n  indented\nend\n", " lead\nx\n", "x \ny\n", "a\r\nb\n"] {
            let v = json!({"k": [s], "m": {"n": s}});
            assert_eq!(round_trip(&v), v, "{s:?}\n{}", to_yaml_string(&v));
        }
        assert_eq!(to_yaml_string(&json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
    }

    #[test]
    fn numbers_bools_null_nested_sequences() {
        let v = json!({"i": -3, "u": 18446744073709551615u64, "f": 1.0, "g": 0.25, "b": true, "n": null, "s": [[1, [2]], {"a": [3]}]});
        assert_eq!(round_trip(&v), v);
        assert!(to_yaml_string(&v).contains("f: 1.0\n"));
    }
}
