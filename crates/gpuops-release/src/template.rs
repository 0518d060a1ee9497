//! krew-release-bot templates rendered against archives on disk.
//!
//! The bot (rajatjindal/krew-release-bot, pkg/source/template.go) renders
//! the template with Go `text/template`; its data has `.TagName`, and
//! `{{addURIAndSha "URL" .TagName}}` renders URL (where `.TagName` and
//! `.Version`, the first `\d+(\.\d+)+` of the tag, are available), downloads
//! it, and emits `uri: URL` and `sha256: HASH` lines, the second indented
//! by four spaces. Here the archive is read from a directory instead of
//! downloaded; a platform whose archive was not built is left out of the
//! rendered manifest (and reported), so the manifest stays true.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// A rendered manifest, and the archive file names it could not find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub text: String,
    pub missing: Vec<String>,
}

static ADD_URI_AND_SHA: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\{\{-?\s*addURIAndSha\s+"([^"]*)"\s+\.TagName\s*(?:\|\s*indent\s+(\d+)\s*)?-?\}\}"#)
        .expect("valid regex")
});
static TAG_NAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{-?\s*\.TagName\s*-?\}\}").expect("valid regex"));
static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{-?\s*\.Version\s*-?\}\}").expect("valid regex"));
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\d+(\.\d+)+").expect("valid regex"));

const MISSING: &str = "\u{0}missing-archive\u{0}";

/// Render `template` for release `tag`, hashing the archives in `dist`.
pub fn render(template: &str, tag: &str, dist: &Path) -> Rendered {
    let version = DIGITS.find(tag).map_or("", |m| m.as_str()).to_string();
    let mut missing = Vec::new();
    let with_archives = ADD_URI_AND_SHA.replace_all(template, |c: &regex::Captures<'_>| {
        let url = VERSION.replace_all(&TAG_NAME.replace_all(&c[1], tag), version.as_str()).into_owned();
        let file = url.rsplit('/').next().unwrap_or_default().to_string();
        let Ok(data) = std::fs::read(dist.join(&file)) else {
            missing.push(file);
            return MISSING.to_string();
        };
        let lines = format!("uri: {url}\n    sha256: {}", crate::sha256_hex(&data));
        match c.get(2).and_then(|n| n.as_str().parse::<usize>().ok()) {
            // sprig `indent`: every line, the first included.
            Some(n) => lines.lines().map(|l| format!("{}{l}", " ".repeat(n))).collect::<Vec<_>>().join("\n"),
            None => lines,
        }
    });
    let text = TAG_NAME.replace_all(&with_archives, tag).into_owned();
    Rendered { text: drop_platforms_without_archive(&text), missing }
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
mod tests {
    use super::*;

    #[test]
    fn tag_uri_and_sha_as_the_bot_renders_them() {
        let dist = tempfile::tempdir().unwrap();
        std::fs::write(dist.path().join("kubectl-x-v1.2.3-linux.tar.gz"), b"archive").unwrap();
        let template = "spec:\n  version: {{ .TagName }}\n  platforms:\n  - selector:\n      matchLabels: {os: linux, arch: amd64}\n    {{addURIAndSha \"https://h/releases/download/{{ .TagName }}/kubectl-x-{{ .TagName }}-linux.tar.gz\" .TagName }}\n    bin: kubectl-x\n  - selector:\n      matchLabels: {os: darwin, arch: arm64}\n    {{addURIAndSha \"https://h/releases/download/{{ .TagName }}/kubectl-x-{{ .Version }}-darwin.tar.gz\" .TagName }}\n    bin: kubectl-x\n";
        let r = render(template, "v1.2.3", dist.path());
        assert_eq!(r.missing, ["kubectl-x-1.2.3-darwin.tar.gz"]);
        assert_eq!(
            r.text,
            format!(
                "spec:\n  version: v1.2.3\n  platforms:\n  - selector:\n      matchLabels: {{os: linux, arch: amd64}}\n    uri: https://h/releases/download/v1.2.3/kubectl-x-v1.2.3-linux.tar.gz\n    sha256: {}\n    bin: kubectl-x\n",
                crate::sha256_hex(b"archive")
            )
        );
    }
}
