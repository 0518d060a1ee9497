//! Go's lexical path rules, as krew's installer relies on them: Go
//! path/filepath `Clean`, `Join`, `Base`, `Dir`, `Rel` (for absolute
//! paths only) and `Match`/`Glob`, and krew internal/pathutil/pathutil.go
//! `IsSubPath` (v0.4.5, lines 27-36).

use std::path::{Path, PathBuf};

/// filepath.Clean (Unix).
pub(super) fn clean(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let rooted = path.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if out.last().is_some_and(|p| *p != "..") => {
                out.pop();
            }
            ".." if rooted => {}
            _ => out.push(part),
        }
    }
    let joined = out.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// filepath.Join: the non-empty parts joined by `/`, cleaned.
pub(super) fn join(base: &str, rest: &str) -> String {
    match (base.is_empty(), rest.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean(rest),
        (false, true) => clean(base),
        (false, false) => clean(&format!("{base}/{rest}")),
    }
}

/// filepath.Base.
pub(super) fn base(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { ".".into() } else { "/".into() };
    }
    trimmed.rsplit('/').next().unwrap_or(trimmed).to_string()
}

/// filepath.Dir.
pub(super) fn dir(path: &str) -> String {
    match path.rfind('/') {
        Some(i) => clean(&path[..=i]),
        None => ".".into(),
    }
}

/// pathutil.IsSubPath for two absolute, clean paths: `filepath.Rel(base,
/// sub)` does not start with `..` — a name like `..x` inside `base` counts
/// as outside, as in krew.
pub(super) fn is_sub_path(base_path: &str, sub: &str) -> bool {
    let rel = if sub == base_path {
        ".".to_string()
    } else if base_path == "/" {
        sub.trim_start_matches('/').to_string()
    } else if let Some(rest) = sub.strip_prefix(&format!("{base_path}/")) {
        rest.to_string()
    } else {
        return false;
    };
    !rel.starts_with("..")
}

pub(super) fn as_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// path/filepath `Match`: `*`, `?`, `[...]` (ranges, `^` negation) and `\`
/// escapes, never across `/`. `Err` is Go's ErrBadPattern.
pub(super) fn matches(pattern: &str, name: &str) -> Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_at(&p, &n)
}

fn match_at(p: &[char], n: &[char]) -> Result<bool, ()> {
    let Some((&c, rest)) = p.split_first() else { return Ok(n.is_empty()) };
    match c {
        '*' => {
            for skip in 0..=n.len() {
                if n[..skip].contains(&'/') {
                    break;
                }
                if match_at(rest, &n[skip..])? {
                    return Ok(true);
                }
            }
            // Go checks the rest of the pattern is well formed.
            check_pattern(rest)?;
            Ok(false)
        }
        '?' => Ok(n.first().is_some_and(|&x| x != '/') && match_at(rest, &n[1..])?),
        '[' => {
            let (ok, after) = class(rest, n.first().copied())?;
            Ok(ok && n.first().is_some_and(|&x| x != '/') && match_at(after, &n[1..])?)
        }
        '\\' => {
            let Some((&lit, rest)) = rest.split_first() else { return Err(()) };
            Ok(n.first() == Some(&lit) && match_at(rest, &n[1..])?)
        }
        _ => Ok(n.first() == Some(&c) && match_at(rest, &n[1..])?),
    }
}

/// A `[...]` class after its `[`: whether `c` is in it, and the rest.
fn class(p: &[char], c: Option<char>) -> Result<(bool, &[char]), ()> {
    let (negated, mut p) = match p.first() {
        Some('^') => (true, &p[1..]),
        _ => (false, p),
    };
    let mut matched = false;
    let mut first = true;
    loop {
        match p.first() {
            None => return Err(()),
            Some(']') if !first => return Ok((matched != negated && c.is_some(), &p[1..])),
            _ => {}
        }
        first = false;
        let (lo, rest) = class_char(p)?;
        let (hi, rest) = match rest.first() {
            Some('-') => class_char(&rest[1..])?,
            _ => (lo, rest),
        };
        if c.is_some_and(|c| lo <= c && c <= hi) {
            matched = true;
        }
        p = rest;
    }
}

fn class_char(p: &[char]) -> Result<(char, &[char]), ()> {
    match p {
        ['\\', c, rest @ ..] => Ok((*c, rest)),
        [']' | '-', ..] | [] => Err(()),
        [c, rest @ ..] => Ok((*c, rest)),
    }
}

fn check_pattern(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 >= p.len() => return Err(()),
            '\\' => i += 2,
            '[' => {
                let (_, rest) = class(&p[i + 1..], None)?;
                i = p.len() - rest.len();
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// filepath.Glob: the paths matching `pattern` (absolute, clean), sorted
/// per directory as Go reads them; a pattern without meta characters is
/// returned when it exists (`Lstat`).
pub(super) fn glob(pattern: &str) -> Result<Vec<String>, ()> {
    if !pattern.contains(['*', '?', '[', '\\']) {
        return Ok(if Path::new(pattern).symlink_metadata().is_ok() { vec![pattern.to_string()] } else { vec![] });
    }
    let (d, file) = (dir(pattern), base(pattern));
    check_pattern(&file.chars().collect::<Vec<_>>())?;
    let dirs = if d.contains(['*', '?', '[', '\\']) { glob(&d)? } else { vec![d] };
    let mut out = Vec::new();
    for d in dirs {
        let Ok(entries) = std::fs::read_dir(&d) else { continue };
        let mut names: Vec<String> = entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
        names.sort();
        for name in names {
            if matches(&file, &name)? {
                out.push(as_str(&PathBuf::from(&d).join(name)));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of Go's path/filepath path_test.go `cleantests` and
    /// match_test.go `matchTests` (the ones without Windows semantics).
    #[test]
    fn go_clean_and_match_rows() {
        for (input, want) in [
            ("", "."),
            ("abc/./def", "abc/def"),
            ("./abc", "abc"),
            ("abc/../../def", "../def"),
            ("/../abc", "/abc"),
            ("abc//def//ghi", "abc/def/ghi"),
            ("abc/", "abc"),
            ("/", "/"),
            ("../../abc", "../../abc"),
        ] {
            assert_eq!(clean(input), want, "{input:?}");
        }
        for (pattern, name, want) in [
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("*.sh", ".hidden.sh", Ok(true)),
            ("[", "a", Err(())),
            ("[^", "a", Err(())),
            ("a[", "ab", Err(())),
            ("*x", "xxx", Ok(true)),
        ] {
            assert_eq!(matches(pattern, name), want, "{pattern:?} {name:?}");
        }
        // krew pathutil_test.go `TestIsSubPath`-style: `..x` counts as outside.
        assert!(is_sub_path("/a/b", "/a/b/c") && is_sub_path("/a/b", "/a/b"));
        assert!(!is_sub_path("/a/b", "/a/bc") && !is_sub_path("/a/b", "/a") && !is_sub_path("/a/b", "/a/b/..x"));
    }
}
