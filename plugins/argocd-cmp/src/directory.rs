//! Plain-directory mode as Argo CD's Directory source reads an app
//! (argo-cd reposerver/repository/repository.go, `findManifests`,
//! `getPotentiallyValidManifests`, `getPotentiallyValidManifestFile`,
//! `getObjsFromYAMLOrJSON`): which files, in which order, and which of
//! their documents are objects.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;
use crate::root::Repo;

/// The Directory source's options, from the `directory-*` parameters
/// (`spec.source.directory.recurse`, `include`, `exclude` in Argo CD).
#[derive(Debug, Default, Clone)]
pub struct Options {
    pub recurse: bool,
    pub include: Option<String>,
    pub exclude: Option<String>,
}

/// The marker that makes Argo CD skip a file (repository.go
/// `skipFileRenderingMarker`, checked in `getPotentiallyValidManifestFile`).
const SKIP_MARKER: &str = "+argocd:skip-file-rendering";

/// `manifestFile` (repository.go ~1995): `^.*\.(yaml|yml|json|jsonnet)$`.
fn is_manifest_name(name: &str) -> bool {
    [".yaml", ".yml", ".json", ".jsonnet"].iter().any(|e| name.ends_with(e))
}

fn refuse(path: &str, why: &str) -> Error {
    Error::Directory(format!("{path}: {why}"))
}

/// The files Argo CD reads, in its order: `filepath.Walk` (lexical, a
/// directory's entries in name order, subdirectories entered where they
/// sort) from the app directory, into subdirectories only with `recurse`
/// (repository.go `getPotentiallyValidManifests`: `filepath.SkipDir`). A
/// symbolic link is never walked into; a linked file is read when its
/// target is a regular file inside the repository, skipped when the target
/// is missing or not a regular file, and an error when it leaves the
/// repository ("illegal filepath in symlink") or loops.
pub fn files(dir: &Path, repo: &Repo, options: &Options) -> Result<Vec<PathBuf>, Error> {
    let include = options.include.as_deref().map(|p| Glob::new(p, "directory-include")).transpose()?;
    let exclude = options.exclude.as_deref().map(|p| Glob::new(p, "directory-exclude")).transpose()?;
    let mut out = Vec::new();
    walk(dir, dir, repo, options.recurse, &include, &exclude, &mut out)?;
    Ok(out)
}

fn walk(
    app: &Path,
    at: &Path,
    repo: &Repo,
    recurse: bool,
    include: &Option<Glob>,
    exclude: &Option<Glob>,
    out: &mut Vec<PathBuf>,
) -> Result<(), Error> {
    let read_err = |path: &Path, e: std::io::Error| {
        Error::Input(gpuops_manifest::input::InputError::Read { path: path.to_path_buf(), source: e })
    };
    let mut entries: Vec<_> =
        std::fs::read_dir(at).map_err(|e| read_err(at, e))?.filter_map(Result::ok).map(|e| e.path()).collect();
    // Go's filepath.Walk sorts by name (byte order).
    entries
        .sort_by(|a, b| a.file_name().map(|n| n.as_encoded_bytes()).cmp(&b.file_name().map(|n| n.as_encoded_bytes())));
    for path in entries {
        let meta = std::fs::symlink_metadata(&path).map_err(|e| read_err(&path, e))?;
        if meta.is_dir() {
            if recurse {
                walk(app, &path, repo, recurse, include, exclude, out)?;
            }
            continue;
        }
        let rel = path.strip_prefix(app).unwrap_or(&path).to_string_lossy().into_owned();
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        if !is_manifest_name(&name) {
            continue;
        }
        if meta.file_type().is_symlink() {
            let target = match std::fs::canonicalize(&path) {
                Ok(target) => target,
                // "destination of symlink %q is missing": skipped with a log line.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                // A loop: EvalSymlinks' "too many links", an error.
                Err(_) => return Err(refuse(&rel, "symbolic link that cannot be resolved (a loop?)")),
            };
            if !target.starts_with(repo.root()) {
                return Err(refuse(&rel, "illegal filepath in symlink (it leaves the repository)"));
            }
            if !std::fs::metadata(&target).is_ok_and(|m| m.is_file()) {
                continue;
            }
        } else if !meta.is_file() {
            continue;
        }
        if exclude.as_ref().is_some_and(|g| g.matches(&rel)) || include.as_ref().is_some_and(|g| !g.matches(&rel)) {
            continue;
        }
        out.push(path);
    }
    Ok(())
}

/// The objects of one file as Argo CD takes them (`getObjsFromYAMLOrJSON`),
/// each with its document's text (for emitting). `None`: the whole file is
/// skipped (the marker, or YAML that holds no Kubernetes object).
pub fn objects(rel: &str, text: &str) -> Result<Option<Vec<(String, Value)>>, Error> {
    if text.contains(SKIP_MARKER) {
        return Ok(None);
    }
    if rel.ends_with(".jsonnet") {
        return Err(refuse(rel, "jsonnet is not rendered by this plugin (Argo CD's Directory source would)"));
    }
    if rel.ends_with(".json") {
        return json_object(rel, text).map(|o| Some(o.into_iter().map(|v| (String::new(), v)).collect()));
    }
    let mut objects = Vec::new();
    for doc in gpuops_manifest::yaml::split_documents(text) {
        let value = gpuops_manifest::yaml::parse_document(doc.text, rel, doc.first_line).ok();
        match value {
            Some(Value::Null) => continue,
            Some(value) if is_object(&value) => objects.push((doc.text.to_string(), value)),
            // The decoder stops at the first document that is no object.
            _ if !objects.is_empty() => {
                return Err(refuse(rel, "a document is not a Kubernetes object (no kind) after others that are"));
            }
            // "let's see if it looks like a resource, if yes, we return error"
            // (repository.go ~2098): else an unrelated YAML file, ignored.
            _ if ["apiVersion:", "kind:", "metadata:"].iter().all(|k| text.contains(k)) => {
                return Err(refuse(rel, "looks like a Kubernetes manifest but does not parse as one"));
            }
            _ => return Ok(None),
        }
    }
    Ok(Some(objects))
}

/// A mapping with a `kind`: what `unstructured.Unstructured` decodes.
fn is_object(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str).is_some_and(|k| !k.is_empty())
}

/// A JSON file: one value (more is "Found multiple objects in %q. Only
/// single objects are allowed in JSON files."), malformed JSON an error. An
/// object without a kind is what Argo CD then tries as an OCI image
/// manifest and never applies: skipped.
fn json_object(rel: &str, text: &str) -> Result<Option<Value>, Error> {
    let mut values = serde_json::Deserializer::from_str(text).into_iter::<Value>();
    let first = match values.next() {
        Some(Ok(value)) => value,
        Some(Err(e)) => return Err(refuse(rel, &format!("not valid JSON ({e})"))),
        None => return Ok(None),
    };
    if values.next().is_some() {
        return Err(refuse(rel, "more than one JSON value (Argo CD allows one object per JSON file)"));
    }
    Ok(is_object(&first).then_some(first))
}

/// A glob as Argo CD matches `include`/`exclude` (argo-cd util/glob
/// `Match`: gobwas/glob compiled without separators, so `*` also matches
/// `/`; `?`, `[abc]`, `[!a-z]`, `{a,b}` alternatives, `\` escapes),
/// against the path relative to the app directory.
pub struct Glob {
    alternatives: Vec<Vec<Token>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Char(char),
    Any,
    One,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

impl Glob {
    /// An invalid pattern matches nothing in Argo CD (a log line only);
    /// here it is an error naming the parameter.
    pub fn new(pattern: &str, parameter: &str) -> Result<Glob, Error> {
        let invalid = || Error::Parameters(format!("parameter {parameter}: {pattern:?} is not a valid glob"));
        let alternatives = expand(pattern).ok_or_else(invalid)?;
        let alternatives = alternatives.iter().map(|a| tokens(a)).collect::<Option<Vec<_>>>().ok_or_else(invalid)?;
        Ok(Glob { alternatives })
    }

    pub fn matches(&self, text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        self.alternatives.iter().any(|tokens| match_tokens(tokens, &text))
    }
}

/// `{a,b}` alternatives expanded (nested ones too); escapes kept for
/// [`tokens`]. `None` for an unbalanced brace.
fn expand(pattern: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut i = 0;
    let mut depth = 0usize;
    let mut open = None;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                if depth == 0 {
                    open = Some(i);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    let start = open?;
                    let (head, tail): (String, String) =
                        (chars[..start].iter().collect(), chars[i + 1..].iter().collect());
                    let mut out = Vec::new();
                    for part in split_top(&chars[start + 1..i]) {
                        for rest in expand(&format!("{part}{tail}"))? {
                            out.push(format!("{head}{rest}"));
                        }
                    }
                    return Some(out);
                }
            }
            _ => {}
        }
        i += 1;
    }
    (depth == 0).then(|| vec![pattern.to_string()])
}

/// The comma-separated parts of a brace's content, at its own level.
fn split_top(chars: &[char]) -> Vec<String> {
    let (mut parts, mut current, mut depth, mut i) = (Vec::new(), String::new(), 0usize, 0);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' if i + 1 < chars.len() => {
                current.push(c);
                current.push(chars[i + 1]);
                i += 1;
            }
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
        i += 1;
    }
    parts.push(current);
    parts
}

fn tokens(pattern: &str) -> Option<Vec<Token>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '\\' => {
                out.push(Token::Char(*chars.get(i + 1)?));
                i += 1;
            }
            // `**` is gobwas' super-asterisk: without separators, `*` alike.
            '*' if out.last() == Some(&Token::Any) => {}
            '*' => out.push(Token::Any),
            '?' => out.push(Token::One),
            '[' => {
                let end = (i + 1..chars.len()).find(|&j| chars[j] == ']')?;
                let mut body = &chars[i + 1..end];
                let negated = body.first() == Some(&'!');
                if negated {
                    body = &body[1..];
                }
                let mut ranges = Vec::new();
                let mut k = 0;
                while k < body.len() {
                    if k + 2 < body.len() && body[k + 1] == '-' {
                        ranges.push((body[k], body[k + 2]));
                        k += 3;
                    } else {
                        ranges.push((body[k], body[k]));
                        k += 1;
                    }
                }
                if ranges.is_empty() {
                    return None;
                }
                out.push(Token::Class { negated, ranges });
                i = end;
            }
            c => out.push(Token::Char(c)),
        }
        i += 1;
    }
    Some(out)
}

fn match_tokens(tokens: &[Token], text: &[char]) -> bool {
    match tokens.split_first() {
        None => text.is_empty(),
        Some((Token::Any, rest)) => (0..=text.len()).any(|skip| match_tokens(rest, &text[skip..])),
        Some((token, rest)) => {
            let Some((c, tail)) = text.split_first() else { return false };
            let ok = match token {
                Token::Char(want) => want == c,
                Token::One => true,
                Token::Class { negated, ranges } => ranges.iter().any(|(lo, hi)| lo <= c && c <= hi) != *negated,
                Token::Any => unreachable!("handled above"),
            };
            ok && match_tokens(rest, tail)
        }
    }
}

#[cfg(test)]
mod tests;
