//! krew-release-bot templates rendered against archives on disk.
//!
//! The bot (rajatjindal/krew-release-bot v0.0.50, pkg/source/template.go,
//! RenderTemplate) renders the template with Go `text/template`. Its data
//! is a `ReleaseRequest` (pkg/source/source.go: `TagName`, `PluginName`,
//! …; there is no `Version`), and it adds two functions:
//!
//! * `addURIAndSha URL TAG` renders URL as a template of its own whose data
//!   has `.TagName` only, downloads it, and returns `uri: URL` and
//!   `    sha256: HASH` (the second line indented by four spaces);
//! * `indent N S` (the bot's own, not sprig's): `    sha256:` loses its
//!   four legacy spaces, every line after the first is padded by N spaces,
//!   and the result is trimmed — so the first line stays where the action
//!   stands (`{{addURIAndSha "…" .TagName | indent 6}}`).
//!
//! Here the archive is read from a directory instead of downloaded; a
//! platform whose archive was not built is left out of the rendered
//! manifest (and reported), so the manifest stays true. Only the actions
//! these templates need are rendered (`.TagName`, `addURIAndSha`,
//! `| indent N`); any other action is an error naming it, where the bot
//! would fail too (`.Version`) or would need more than gpuops renders.

use std::path::Path;

/// A rendered manifest, and the archive file names it could not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub missing: Vec<String>,
}

/// A template action the bot would not render, or gpuops does not.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("template line {line}: {{{{{action}}}}}: {reason}")]
pub struct TemplateError {
    pub line: usize,
    pub action: String,
    pub reason: String,
}

const MISSING: &str = "\u{0}missing-archive\u{0}";

/// One token of an action: a string literal, `.Field`, a word, `|`.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Str(String),
    Field(String),
    Word(String),
    Pipe,
}

/// Split an action's text (between `{{` and `}}`) into tokens.
fn tokens(action: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = action.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '|' {
            chars.next();
            out.push(Token::Pipe);
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    Some('"') => break,
                    Some('\\') => s.push(chars.next().ok_or("unterminated string")?),
                    Some(c) => s.push(c),
                    None => return Err("unterminated string".to_string()),
                }
            }
            out.push(Token::Str(s));
        } else {
            let mut w = String::new();
            while let Some(&c) = chars.peek().filter(|c| !c.is_whitespace() && **c != '|' && **c != '"') {
                w.push(c);
                chars.next();
            }
            out.push(match w.strip_prefix('.') {
                Some(field) => Token::Field(field.to_string()),
                None => Token::Word(w),
            });
        }
    }
    Ok(out)
}

/// The end of the action that starts at `start` (just after `{{`): the
/// index of its `}}`, skipping `}}` inside string literals.
fn action_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut i, mut in_str) = (start, false);
    while i + 1 < bytes.len() {
        match bytes[i] {
            b'\\' if in_str => i += 1,
            b'"' => in_str = !in_str,
            b'}' if !in_str && bytes[i + 1] == b'}' => return Some(i),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Render `text` as a Go template whose only data is `.TagName`, calling
/// `eval` for every action (its tokens), with `{{-`/`-}}` trimming.
fn expand(text: &str, mut eval: impl FnMut(&[Token]) -> Result<String, String>) -> Result<String, TemplateError> {
    let mut out = String::new();
    let mut rest = 0;
    let mut trim_next = false;
    while let Some(open) = text[rest..].find("{{").map(|i| rest + i) {
        let mut literal = &text[rest..open];
        if trim_next {
            literal = literal.trim_start();
        }
        let err = |action: &str, reason: String| TemplateError {
            line: text[..open].matches('\n').count() + 1,
            action: action.to_string(),
            reason,
        };
        let close = action_end(text, open + 2).ok_or_else(|| err("", "unclosed action".to_string()))?;
        let mut inner = &text[open + 2..close];
        if let Some(s) = inner.strip_prefix("- ") {
            literal = literal.trim_end();
            inner = s;
        }
        trim_next = inner.ends_with(" -");
        let inner = inner.strip_suffix(" -").unwrap_or(inner);
        out.push_str(literal);
        let toks = tokens(inner).map_err(|r| err(inner, r))?;
        out.push_str(&eval(&toks).map_err(|r| err(inner.trim(), r))?);
        rest = close + 2;
    }
    let tail = &text[rest..];
    out.push_str(if trim_next { tail.trim_start() } else { tail });
    Ok(out)
}

/// `.TagName`, the one field both the bot's data and `addURIAndSha`'s URL
/// template have that gpuops renders.
fn field(name: &str, tag: &str) -> Result<String, String> {
    match name {
        "TagName" => Ok(tag.to_string()),
        // pkg/source/source.go ReleaseRequest: the other fields exist, but
        // what they hold is the bot's (the repository, the actor).
        "PluginName" | "PluginRepo" | "PluginOwner" | "PluginReleaseActor" | "TemplateFile" => {
            Err(format!(".{name} is the bot's own value; gpuops renders only .TagName"))
        }
        _ => Err(format!("can't evaluate field {name} (krew-release-bot has no .{name}; use .TagName)")),
    }
}

/// krew-release-bot's `indent` (pkg/source/template.go: indent and
/// fixShaIndentation): drop the legacy four spaces before `sha256:`, pad
/// each line after the first by `spaces`, and trim the whole.
pub fn bot_indent(spaces: usize, v: &str) -> String {
    let v = v.replace("    sha256:", "sha256:");
    let pad = " ".repeat(spaces);
    format!("{pad}{}", v.replace('\n', &format!("\n{pad}"))).trim().to_string()
}

/// `addURIAndSha URL TAG`: the URL rendered with `.TagName`, and the
/// sha256 of the archive named by its last segment in `dist`.
fn add_uri_and_sha(url: &str, tag: &str, dist: &Path, missing: &mut Vec<String>) -> Result<String, String> {
    let url = expand(url, |t| match t {
        [Token::Field(f)] => field(f, tag),
        _ => Err("addURIAndSha's URL template has only .TagName".to_string()),
    })
    .map_err(|e| format!("in the URL: {e}"))?;
    let file = url.rsplit('/').next().unwrap_or_default().to_string();
    let Ok(data) = std::fs::read(dist.join(&file)) else {
        missing.push(file);
        return Ok(MISSING.to_string());
    };
    Ok(format!("uri: {url}\n    sha256: {}", crate::sha256_hex(&data)))
}

/// Render `template` for release `tag`, hashing the archives in `dist`.
pub fn render(template: &str, tag: &str, dist: &Path) -> Result<Rendered, TemplateError> {
    let mut missing = Vec::new();
    let text = expand(template, |toks| {
        let (call, indent) = match toks {
            [call @ .., Token::Pipe, Token::Word(f), Token::Word(n)] if f == "indent" => {
                (call, Some(n.parse::<usize>().map_err(|_| format!("indent takes a number, got {n}"))?))
            }
            call => (call, None),
        };
        let value = match call {
            [Token::Field(f)] => field(f, tag)?,
            [Token::Word(f), Token::Str(url), Token::Field(t)] if f == "addURIAndSha" => {
                field(t, tag)?;
                add_uri_and_sha(url, tag, dist, &mut missing)?
            }
            _ => return Err("not rendered here: only .TagName, addURIAndSha \"URL\" .TagName and | indent N".into()),
        };
        Ok(match indent {
            Some(n) if value != MISSING => bot_indent(n, &value),
            _ => value,
        })
    })?;
    Ok(Rendered { text: drop_platforms_without_archive(&text), missing })
}

/// Remove each `platforms:` item that names an archive not built.
fn drop_platforms_without_archive(text: &str) -> String {
    if !text.contains(MISSING) {
        return text.to_string();
    }
    let mut out = String::new();
    let mut item = String::new();
    let mut in_platforms = false;
    let flush = |item: &mut String, out: &mut String| {
        if !item.contains(MISSING) {
            out.push_str(item);
        }
        item.clear();
    };
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "  platforms:" {
            in_platforms = true;
            out.push_str(line);
            continue;
        }
        if in_platforms && line.starts_with("  - ") {
            flush(&mut item, &mut out);
        } else if in_platforms && !line.starts_with("    ") && !line.trim().is_empty() {
            flush(&mut item, &mut out);
            in_platforms = false;
        }
        if in_platforms {
            item.push_str(line);
        } else {
            out.push_str(line);
        }
    }
    flush(&mut item, &mut out);
    out
}

#[cfg(test)]
mod tests;
