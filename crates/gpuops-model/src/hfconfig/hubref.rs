//! Hugging Face names that become paths in the hub cache — the repository
//! id, the revision, the commit — checked by huggingface_hub's own rules
//! before use, and the cache's paths kept inside the cache.
//!
//! The reader ([`super::from_hub_cache_in`]) and the writer (gpufit's
//! fetcher, through [`hub_cache_paths`]) share these checks, so neither
//! follows a planted `refs/main` holding `../../..` nor a hub's
//! `X-Repo-Commit: ../../x`.

use std::path::{Path, PathBuf};

use gpuops_manifest::text::printable;

/// A hub model reference: `[hf://]ORG/NAME[:REVISION]`, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HubRef<'a> {
    pub repo_id: &'a str,
    /// `main` when the reference names none.
    pub revision: &'a str,
}

/// Why a reference is not a usable hub id. The reference is shown escaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubRefError {
    #[error("{reference}: not a Hugging Face model id (ORG/NAME): {problem}")]
    Id { reference: String, problem: &'static str },
    #[error("{reference}: the revision is not a git branch, tag or commit name: {problem}")]
    Revision { reference: String, problem: &'static str },
}

/// The hub reference in `reference`: `Some` for every `hf://` reference and
/// for a bare `ORG/NAME[:REV]` in plain characters (which may still be
/// refused by the rules); `None` for anything else (paths, other schemes).
pub fn hub_ref(reference: &str) -> Option<Result<HubRef<'_>, HubRefError>> {
    let explicit = reference.strip_prefix("hf://");
    let id = explicit.unwrap_or(reference);
    if explicit.is_none() {
        if reference.contains("://") {
            return None;
        }
        let head = id.split(':').next().unwrap_or(id);
        let plain = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let (org, name) = head.split_once('/')?;
        if !(plain(org) && plain(name)) {
            return None;
        }
    }
    let (repo_id, revision) = id.split_once(':').unwrap_or((id, "main"));
    let shown = || printable(reference);
    if let Err(problem) = check_repo_id(repo_id) {
        return Some(Err(HubRefError::Id { reference: shown(), problem }));
    }
    if let Err(problem) = check_revision(revision) {
        return Some(Err(HubRefError::Revision { reference: shown(), problem }));
    }
    Some(Ok(HubRef { repo_id, revision }))
}

/// huggingface_hub utils/_validators.py `validate_repo_id` (REPO_ID_REGEX,
/// lines 28-38; checks at 131-148): at most one `/` — gpufit needs the
/// namespace, since a bare name is a catalog entry — each part of
/// `[A-Za-z0-9_.-]`, starting and ending with a letter, digit or `_`
/// (the regex's `\b`), the name at most 96 characters; no `--` (the cache's
/// separator), no `..`, no `.git` ending. ASCII only (Python's `\w` is
/// Unicode; a name shown in a terminal is safer without).
fn check_repo_id(repo_id: &str) -> Result<(), &'static str> {
    let Some((org, name)) = repo_id.split_once('/') else { return Err("it has no ORG/ part") };
    if name.contains('/') {
        return Err("it has more than one `/`");
    }
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for part in [org, name] {
        if part.is_empty() || part.len() > 96 {
            return Err("each part has 1 to 96 characters");
        }
        if !part.chars().all(|c| word(c) || c == '-' || c == '.') {
            return Err("only letters, digits, `-`, `_` and `.` are allowed");
        }
        if !part.starts_with(word) || !part.ends_with(word) {
            return Err("a part cannot start or end with `-` or `.`");
        }
    }
    if repo_id.contains("--") || repo_id.contains("..") {
        return Err("`--` and `..` are not allowed");
    }
    if repo_id.ends_with(".git") {
        return Err("it cannot end with `.git`");
    }
    Ok(())
}

/// git's ref-name rules (Documentation/git-check-ref-format.adoc, rules
/// 1-10; refs.c `check_refname_component`): no `..`, no `@{`, not `@`, no
/// control characters, space or `~^:?*[\`, no empty component (`//`, a
/// leading or trailing `/`), no component starting with `.` or ending with
/// `.lock`, no trailing `.`. Hub revisions are branches (`main`), tags,
/// `refs/pr/N` or commit hashes, all of which pass; ASCII only, and at most
/// 255 bytes (one file name).
fn check_revision(revision: &str) -> Result<(), &'static str> {
    if revision.is_empty() || revision.len() > 255 {
        return Err("it must have 1 to 255 characters");
    }
    if !revision.bytes().all(|b| b.is_ascii_graphic() && !b"~^:?*[\\".contains(&b)) {
        return Err("it has a space, a control character or one of ~^:?*[\\");
    }
    if revision.contains("..") || revision.contains("@{") || revision == "@" {
        return Err("`..`, `@{` and a lone `@` are not allowed");
    }
    if revision.ends_with('.') {
        return Err("it cannot end with `.`");
    }
    for component in revision.split('/') {
        if component.is_empty() {
            return Err("it has an empty `/` component");
        }
        if component.starts_with('.') || component.ends_with(".lock") {
            return Err("a component cannot start with `.` or end with `.lock`");
        }
    }
    Ok(())
}

/// A full commit hash: huggingface_hub file_download.py:72,
/// `REGEX_COMMIT_HASH = re.compile(r"^[0-9a-f]{40}$")`.
pub fn is_commit_hash(text: &str) -> bool {
    text.len() == 40 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `models--ORG--NAME` (huggingface_hub file_download.py `repo_folder_name`,
/// line 720: `REPO_ID_SEPARATOR.join(["models", *repo_id.split("/")])`).
pub fn repo_folder_name(repo_id: &str) -> String {
    format!("models--{}", repo_id.replace('/', "--"))
}

/// Where one hub file and its ref go in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubCachePaths {
    /// `models--ORG--NAME/snapshots/COMMIT/FILE`.
    pub file: PathBuf,
    /// `models--ORG--NAME/refs/REVISION`, unless the revision is the commit.
    pub reference: Option<PathBuf>,
}

/// Why a hub file is not cached.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HubCacheError {
    #[error("{repo_id}: the hub's commit (X-Repo-Commit) is not a commit hash (40 hex digits); not using its answer")]
    Commit { repo_id: String },
    #[error("{path}: leads outside the Hugging Face cache (a symlink or a file in the way); not writing there")]
    Outside { path: String },
}

/// The paths for `file` of `hub_ref` at `commit` in `cache`, laid out as
/// huggingface_hub lays them (`_cache_commit_hash_for_specific_revision`,
/// file_download.py:700: no ref when the revision is the commit). Refused
/// unless `commit` is a commit hash and every directory on the way that
/// exists already resolves inside the cache — the `_get_pointer_path`
/// check (file_download.py:2052) with symlinks resolved, as a planted
/// `snapshots -> /elsewhere` would otherwise be followed.
pub fn hub_cache_paths(
    cache: &Path,
    hub_ref: &HubRef<'_>,
    commit: &str,
    file: &str,
) -> Result<HubCachePaths, HubCacheError> {
    if !is_commit_hash(commit) {
        return Err(HubCacheError::Commit { repo_id: hub_ref.repo_id.to_string() });
    }
    let repo = cache.join(repo_folder_name(hub_ref.repo_id));
    let file = repo.join("snapshots").join(commit).join(file);
    let reference = (hub_ref.revision != commit).then(|| repo.join("refs").join(hub_ref.revision));
    for path in std::iter::once(&file).chain(reference.as_ref()) {
        let dir = path.parent().unwrap_or(cache);
        if !creatable_inside(cache, dir) {
            return Err(HubCacheError::Outside { path: path.display().to_string() });
        }
    }
    Ok(HubCachePaths { file, reference })
}

/// Whether creating `dir` (under `cache`) stays inside `cache`: each part
/// that exists is a directory, or a symlink resolving to one inside the
/// cache; the parts that do not exist yet are created fresh.
fn creatable_inside(cache: &Path, dir: &Path) -> bool {
    let Ok(relative) = dir.strip_prefix(cache) else { return false };
    // No cache yet: everything under it is created fresh.
    let Ok(root) = cache.canonicalize() else { return true };
    let mut here = cache.to_path_buf();
    for component in relative.components() {
        here.push(component);
        match std::fs::symlink_metadata(&here) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return true,
            Err(_) => return false,
            Ok(meta) if meta.file_type().is_symlink() => {
                if !here.canonicalize().is_ok_and(|real| real.starts_with(&root) && real.is_dir()) {
                    return false;
                }
            }
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return false,
        }
    }
    true
}

/// Whether `path` resolves (symlinks followed) to a place inside `root`.
pub(super) fn stays_inside(root: &Path, path: &Path) -> bool {
    match (root.canonicalize(), path.canonicalize()) {
        (Ok(root), Ok(real)) => real.starts_with(root),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_revisions_follow_huggingface_hub_and_git() {
        fn ok(r: &str) -> HubRef<'_> {
            hub_ref(r).unwrap().unwrap()
        }
        assert_eq!(ok("hf://Qwen/Qwen3-8B"), HubRef { repo_id: "Qwen/Qwen3-8B", revision: "main" });
        assert_eq!(ok("acme/llm:v2").revision, "v2");
        assert_eq!(ok("hf://acme/llm:refs/pr/1").revision, "refs/pr/1");
        assert_eq!(ok("acme/llm_x.y:1f0a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49").repo_id, "acme/llm_x.y");
        for not_hub in ["/mnt/models", "s3://bucket/models/llama", "pvc://m/l", "llama", "./a/b/c"] {
            assert!(hub_ref(not_hub).is_none(), "{not_hub}");
        }
        for bad_id in ["hf://../x", "hf://a/b/c", "hf://x", "hf://a/.b", "hf://a/b-", "hf://a/b--c", "hf://a/x.git"] {
            assert!(matches!(hub_ref(bad_id), Some(Err(HubRefError::Id { .. }))), "{bad_id}");
        }
        assert!(matches!(hub_ref("acme/a..b"), Some(Err(HubRefError::Id { .. }))));
        for bad_rev in [
            "hf://org/name:../../../../x",
            "org/name:/etc/x",
            "org/name:a//b",
            "org/name:.hidden",
            "org/name:x.lock",
            "org/name:a b",
            "org/name:x\u{1b}[2J",
            "org/name:",
            "org/name:@",
        ] {
            let err = hub_ref(bad_rev).unwrap().unwrap_err();
            assert!(matches!(err, HubRefError::Revision { .. }), "{bad_rev}");
            assert!(!err.to_string().contains('\u{1b}'), "escaped: {err}");
        }
        assert!(is_commit_hash("1f0a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49"));
        for bad in ["", "1f0a6c2", "../../../../tmp/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", &"A".repeat(40)] {
            assert!(!is_commit_hash(bad), "{bad}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn cache_paths_stay_inside_the_cache() {
        let top = tempfile::tempdir().unwrap();
        let cache = top.path().join("hub");
        let commit = "1f0a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";
        let hub = HubRef { repo_id: "acme/m", revision: "main" };
        // No cache yet: the layout huggingface_hub writes.
        let paths = hub_cache_paths(&cache, &hub, commit, "config.json").unwrap();
        assert_eq!(paths.file, cache.join(format!("models--acme--m/snapshots/{commit}/config.json")));
        assert_eq!(paths.reference, Some(cache.join("models--acme--m/refs/main")));
        let pinned = HubRef { revision: commit, ..hub };
        assert_eq!(hub_cache_paths(&cache, &pinned, commit, "config.json").unwrap().reference, None);
        for hostile in ["../../../../tmp/x", "/tmp/x", "main"] {
            assert!(matches!(hub_cache_paths(&cache, &hub, hostile, "c"), Err(HubCacheError::Commit { .. })));
        }
        // A planted `snapshots` symlink leading out is not followed; one
        // leading to another directory of the cache is.
        let repo = cache.join("models--acme--m");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(top.path().join("outside")).unwrap();
        std::os::unix::fs::symlink(top.path().join("outside"), repo.join("snapshots")).unwrap();
        assert!(matches!(hub_cache_paths(&cache, &hub, commit, "c"), Err(HubCacheError::Outside { .. })));
        std::fs::remove_file(repo.join("snapshots")).unwrap();
        std::fs::create_dir_all(cache.join("elsewhere")).unwrap();
        std::os::unix::fs::symlink(cache.join("elsewhere"), repo.join("snapshots")).unwrap();
        assert!(hub_cache_paths(&cache, &hub, commit, "c").is_ok());
        // A dangling link is refused too (creating through it would write outside).
        std::os::unix::fs::symlink(top.path().join("nowhere"), repo.join("refs")).unwrap();
        assert!(matches!(hub_cache_paths(&cache, &hub, commit, "c"), Err(HubCacheError::Outside { .. })));
    }
}
