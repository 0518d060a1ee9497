//! The README's commands, for tests that keep it from rotting: every
//! command of its ```sh blocks, every `$ command` block with the output
//! printed under it, and every output shown after a `<!-- MARKER -->` line
//! (an excerpt of a golden file, or of a run a test makes).

use std::path::PathBuf;

/// The repository's README.md.
pub fn path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md")
}

/// A command shown with its output.
#[derive(Debug, Clone)]
pub struct Example {
    pub line: usize,
    /// Without the `$ `.
    pub command: String,
    pub output: String,
}

/// Fenced blocks: (language, first line of the body, body).
fn blocks(text: &str) -> Vec<(String, usize, String)> {
    marked_blocks(text).into_iter().map(|(_, lang, first, body)| (lang, first, body)).collect()
}

/// Fenced blocks with the `<!-- … -->` comment on the line before them,
/// if any: (marker, language, first line of the body, body).
fn marked_blocks(text: &str) -> Vec<(Option<String>, String, usize, String)> {
    let mut out = Vec::new();
    let mut current: Option<(Option<String>, String, usize, String)> = None;
    let mut previous = "";
    for (i, line) in text.lines().enumerate() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(lang)) => {
                let marker = previous
                    .trim()
                    .strip_prefix("<!--")
                    .and_then(|m| m.strip_suffix("-->"))
                    .map(|m| m.trim().to_string());
                current = Some((marker, lang.trim().to_string(), i + 2, String::new()));
            }
            (Some(_), Some(_)) => out.extend(current.take()),
            (Some((_, _, _, body)), None) => {
                body.push_str(line);
                body.push('\n');
            }
            (None, None) => {}
        }
        previous = line;
    }
    out
}

/// The block after `<!-- MARKER -->`: (README line of its body, body).
pub fn marked(text: &str, marker: &str) -> Option<(usize, String)> {
    marked_blocks(text).into_iter().find(|(m, ..)| m.as_deref() == Some(marker)).map(|(_, _, line, body)| (line, body))
}

/// Every block after `<!-- excerpt of PATH -->`: (README line, PATH, body).
pub fn excerpts(text: &str) -> Vec<(usize, String, String)> {
    marked_blocks(text)
        .into_iter()
        .filter_map(|(m, _, line, body)| Some((line, m?.strip_prefix("excerpt of ")?.trim().to_string(), body)))
        .collect()
}

/// `Ok` when every line of `part` occurs in `whole`, in the same order
/// (an excerpt may skip lines, never change or reorder them); else the
/// first line that does not.
pub fn lines_in_order(part: &str, whole: &str) -> Result<(), String> {
    let mut rest = whole.lines();
    for line in part.lines() {
        if !rest.any(|w| w == line) {
            return Err(line.to_string());
        }
    }
    Ok(())
}

/// Every command of the ```sh blocks (comments dropped, `\` continuations
/// joined), with its README line.
pub fn shell_commands(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (lang, first, body) in blocks(text) {
        if lang != "sh" {
            continue;
        }
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in body.lines().enumerate() {
            let line = raw.split(" #").next().unwrap_or(raw).trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (start, mut command) = pending.take().unwrap_or((first + i, String::new()));
            command.push_str(line.trim_end_matches('\\').trim_end());
            if line.ends_with('\\') {
                command.push(' ');
                pending = Some((start, command));
            } else {
                out.push((start, command));
            }
        }
    }
    out
}

/// Every `$ command` of the blocks that start with one, each with the lines
/// up to the next `$ ` as its output.
pub fn examples(text: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    for (lang, first, body) in blocks(text) {
        if !lang.is_empty() || !body.starts_with("$ ") {
            continue;
        }
        let start = out.len();
        for (i, line) in body.lines().enumerate() {
            match line.strip_prefix("$ ") {
                Some(command) => {
                    out.push(Example { line: first + i, command: command.to_string(), output: String::new() });
                }
                None => {
                    let example = &mut out[start..].last_mut().expect("a block starting with $");
                    example.output.push_str(line);
                    example.output.push('\n');
                }
            }
        }
    }
    out
}

/// Split a command line as sh would (plain words, '…' and "…" quoting).
pub fn words(command: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote: Option<char> = None;
    let mut in_word = false;
    for c in command.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (_, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}
