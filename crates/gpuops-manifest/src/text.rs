//! Text from elsewhere (a registry's error body, an API server's message, a
//! tag) made safe to print: a terminal must not run its escape sequences,
//! and bidirectional overrides must not reorder what the user reads.

/// `text` with control characters and Unicode bidi controls escaped
/// (`\u{1b}`, `\u{202e}`), everything else as is.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if c.is_control() || bidi {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The first `max_chars` characters of `text`, made [`printable`]: for a
/// one-line message quoting something a user or a repository sent.
pub fn printable_prefix(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => printable(&text[..end]),
        None => printable(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(printable("plain: ok"), "plain: ok");
        assert_eq!(printable("\u{1b}[2Jgone"), "\\u{1b}[2Jgone");
        assert_eq!(printable("v1\u{202e}gnp.exe"), "v1\\u{202e}gnp.exe");
        assert_eq!(printable("a\nb\r"), "a\\nb\\r");
        assert_eq!(printable_prefix("\u{1b}[2Jgone", 3), "\\u{1b}[2");
        assert_eq!(printable_prefix("rā", 5), "rā");
    }
}
