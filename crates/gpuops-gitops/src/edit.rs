//! Surgical rewrites: splice new scalar text into the file's bytes, prove by
//! re-parsing that exactly the intended scalars changed, write atomically.

use std::io::Write;
use std::ops::Range;
use std::path::Path;

use serde_json::Value;

use gpuops_manifest::yaml;

/// One scalar to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Bytes to replace (a scalar's content, or with its quotes when the
    /// quoting changes).
    pub span: Range<usize>,
    pub replacement: String,
    /// The scalar value before and after, for verification.
    pub old_value: String,
    pub new_value: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("{path}: edits overlap at byte {at}")]
    Overlap { path: String, at: usize },
    #[error("{path}: refusing to write: {reason}")]
    Verification { path: String, reason: String },
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Apply `edits` to `text`; every other byte stays as it was.
pub fn splice(path: &str, text: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| e.span.start);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for edit in sorted {
        if edit.span.start < at {
            return Err(EditError::Overlap { path: path.to_string(), at: edit.span.start });
        }
        out.push_str(&text[at..edit.span.start]);
        out.push_str(&edit.replacement);
        at = edit.span.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Re-parse both versions and check that the only differences are the
/// edited scalars, each now holding its new value.
pub fn verify(path: &str, before: &str, after: &str, edits: &[Edit]) -> Result<(), EditError> {
    let fail = |reason: String| EditError::Verification { path: path.to_string(), reason };
    let old =
        yaml::parse_stream(before, path).map_err(|e| fail(format!("the file does not parse before editing: {e}")))?;
    let new = yaml::parse_stream(after, path).map_err(|e| fail(format!("the edit would break the YAML: {e}")))?;
    if old.len() != new.len() {
        return Err(fail("the edit would change the number of documents".into()));
    }
    let mut changes = Vec::new();
    for (a, b) in old.iter().zip(&new) {
        diff_values(&a.value, &b.value, &mut changes);
    }
    let mut expected: Vec<(String, String)> = edits
        .iter()
        .filter(|e| e.old_value != e.new_value)
        .map(|e| (e.old_value.clone(), e.new_value.clone()))
        .collect();
    let mut found: Vec<(String, String)> = changes;
    expected.sort();
    found.sort();
    if expected != found {
        return Err(fail(format!("expected changes {expected:?}, the re-parsed file shows {found:?}")));
    }
    Ok(())
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn diff_values(a: &Value, b: &Value, out: &mut Vec<(String, String)>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() && x.keys().eq(y.keys()) => {
            for (k, v) in x {
                diff_values(v, &y[k], out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (v, w) in x.iter().zip(y) {
                diff_values(v, w, out);
            }
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => {
            out.push(("<structure>".into(), "<structure>".into()));
        }
        _ if a != b => out.push((scalar_text(a), scalar_text(b))),
        _ => {}
    }
}

/// Replace `path` with `text` atomically: write a temporary file in the same
/// directory (`.NAME.gpuops-XXXXXX`), flush it to disk, give it the
/// original's permissions, and rename it over (`NamedTempFile::persist`). A
/// failure at any step removes the temporary file and leaves `path` as it was.
pub fn write_atomic(path: &Path, text: &str) -> Result<(), EditError> {
    let io = |source: std::io::Error| EditError::Io { path: path.display().to_string(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut temp = tempfile::Builder::new().prefix(&format!(".{file_name}.gpuops-")).tempfile_in(dir).map_err(io)?;
    temp.write_all(text.as_bytes()).map_err(io)?;
    temp.as_file().sync_all().map_err(io)?;
    if let Ok(meta) = std::fs::metadata(path) {
        temp.as_file().set_permissions(meta.permissions()).map_err(io)?;
    }
    temp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Temporary files of [`write_atomic`] (`.NAME.gpuops-XXXXXX`) that a
/// killed run left next to `path`, older than ten minutes (a concurrent run
/// finishes its write in milliseconds): removed, so they are neither
/// committed by a later `git add .` nor mistaken for work in progress.
/// Returns how many were removed.
pub fn remove_stale_temp_files(path: &Path) -> usize {
    const STALE: std::time::Duration = std::time::Duration::from_secs(600);
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else { return 0 };
    let prefix = format!(".{name}.gpuops-");
    let Ok(entries) = std::fs::read_dir(dir) else { return 0 };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .filter(|e| e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t.elapsed().is_ok_and(|age| age > STALE)))
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// A unified diff (3 lines of context) between two versions of one file,
/// with `a/` and `b/` prefixes as `git diff` writes them.
pub fn unified_diff(path: &str, before: &str, after: &str) -> String {
    if before == after {
        return String::new();
    }
    similar::TextDiff::from_lines(before, after)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(text: &str, old: &str, new: &str) -> Edit {
        let start = text.find(old).unwrap();
        Edit { span: start..start + old.len(), replacement: new.into(), old_value: old.into(), new_value: new.into() }
    }

    #[test]
    fn splice_keeps_every_other_byte_and_verifies() {
        let text = "# head\n---\nspec:\n  tag: v1.0.0   # keep me\n\n  other: |\n    block\n---\nb: 1\n";
        let e = edit(text, "v1.0.0", "v2.0.0");
        let out = splice("f", text, std::slice::from_ref(&e)).unwrap();
        assert_eq!(out, text.replace("v1.0.0", "v2.0.0"));
        verify("f", text, &out, &[e]).unwrap();
    }

    #[test]
    fn verification_rejects_unexpected_changes() {
        let text = "a: v1\nb: x\n";
        let mut e = edit(text, "v1", "v2");
        e.replacement = "v2\nc: 3".into();
        let out = splice("f", text, std::slice::from_ref(&e)).unwrap();
        assert!(verify("f", text, &out, &[e]).is_err());
    }

    #[test]
    fn diff_has_hunks_with_context() {
        let before = "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n";
        let after = before.replace("5\n", "five\n");
        let d = unified_diff("x.yaml", before, &after);
        assert_eq!(d, "--- a/x.yaml\n+++ b/x.yaml\n@@ -2,7 +2,7 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n");
    }

    #[test]
    fn atomic_write_replaces_content_and_keeps_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("gpuops-edit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("f.yaml");
        std::fs::write(&path, "a: 1\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_atomic(&path, "a: 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a: 2\n");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temp file left");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
