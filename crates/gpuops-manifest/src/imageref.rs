//! Image and model references: `[host[:port]/]path[:tag][@digest]`.

use std::fmt;

/// A parsed reference. `name` is everything before the tag and digest, so
/// `host:5000/repo` and `host/repo` are different names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    pub name: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parse a reference. Returns `None` for text that cannot be one
    /// (whitespace, empty name, empty tag).
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return None;
        }
        let (rest, digest) = match text.split_once('@') {
            Some((r, d)) if is_digest(d) => (r, Some(d.to_string())),
            Some(_) => return None,
            None => (text, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => {
                let (n, t) = rest.split_at(last_slash + i);
                (n, Some(t[1..].to_string()))
            }
            None => (rest, None),
        };
        if name.is_empty() || name.ends_with('/') || tag.as_deref() == Some("") {
            return None;
        }
        Some(Self { name: name.to_string(), tag, digest })
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// A reference to one repository found inside a larger string: an
/// `oci://` URI, a `--model=` flag, a Helm value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Embedded<'a> {
    /// Byte range of `name[:tag][@digest]` in the string.
    pub start: usize,
    pub end: usize,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

/// The first reference to exactly `name` in `text`: it starts the text,
/// follows a URI scheme or a separator (`=`, space, quote) — `x/<name>`
/// would be another repository — and is followed by the end, `:` or `@`.
/// The tag ends at `@`, `/`, a space or a quote; the digest at `/`, a space
/// or a quote (what follows is a suffix such as `/weights`).
pub fn find_embedded<'a>(text: &'a str, name: &str) -> Option<Embedded<'a>> {
    let mut from = 0;
    while let Some(pos) = text[from..].find(name) {
        let start = from + pos;
        let after = start + name.len();
        let before = &text[..start];
        let boundary = before.is_empty() || before.ends_with("://") || before.ends_with(['=', ' ', '"', '\'']);
        let rest = &text[after..];
        if boundary && (rest.is_empty() || rest.starts_with([':', '@'])) {
            let mut end = after;
            let mut tag = None;
            let mut digest = None;
            if let Some(t) = rest.strip_prefix(':') {
                let len = t.find(['@', '/', ' ', '"', '\'']).unwrap_or(t.len());
                tag = Some(&t[..len]);
                end += 1 + len;
            }
            if let Some(d) = text[end..].strip_prefix('@') {
                let len = d.find(['/', ' ', '"', '\'']).unwrap_or(d.len());
                digest = Some(&d[..len]);
                end += 1 + len;
            }
            return Some(Embedded { start, end, tag, digest });
        }
        from = after;
    }
    None
}

/// `algorithm:encoded`, as in the OCI image spec; sha256/sha512 lengths checked.
pub fn is_digest(text: &str) -> bool {
    let Some((algo, hex)) = text.split_once(':') else {
        return false;
    };
    let algo_ok =
        !algo.is_empty() && algo.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+._-".contains(c));
    let hex_ok = !hex.is_empty() && hex.chars().all(|c| c.is_ascii_alphanumeric() || "=_-".contains(c));
    let len_ok = match algo {
        "sha256" => hex.len() == 64 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        "sha512" => hex.len() == 128 && hex.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
        _ => true,
    };
    algo_ok && hex_ok && len_ok
}

/// A valid OCI tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_tag(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && text.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_is_not_a_tag() {
        let r = ImageRef::parse("reg:5000/models/qwen").unwrap();
        assert_eq!((r.name.as_str(), r.tag), ("reg:5000/models/qwen", None));
        let r = ImageRef::parse("reg:5000/models/qwen:v1.2.0").unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_deref()), ("reg:5000/models/qwen", Some("v1.2.0")));
    }

    #[test]
    fn tag_and_digest_round_trip() {
        let d = format!("sha256:{}", "a".repeat(64));
        let text = format!("ghcr.io/x/y:1.0@{d}");
        let r = ImageRef::parse(&text).unwrap();
        assert_eq!(r.digest.as_deref(), Some(d.as_str()));
        assert_eq!(r.to_string(), text);
        assert!(ImageRef::parse("x@sha256:short").is_none());
        assert!(ImageRef::parse("a b").is_none());
        assert!(ImageRef::parse("repo:").is_none());
    }

    #[test]
    fn embedded_references_need_a_boundary() {
        let e = find_embedded("oci://reg:5000/m:v1@sha256:x/weights", "reg:5000/m").unwrap();
        assert_eq!((e.start, e.tag, e.digest), (6, Some("v1"), Some("sha256:x")));
        assert_eq!(&"oci://reg:5000/m:v1@sha256:x/weights"[e.end..], "/weights");
        assert_eq!(find_embedded("--model=reg/m:v2 --x", "reg/m").unwrap().tag, Some("v2"));
        assert!(find_embedded("mirror/reg/m:v1", "reg/m").is_none());
        assert!(find_embedded("reg/m-7b:v1", "reg/m").is_none());
        assert_eq!(find_embedded("reg/m", "reg/m").unwrap().tag, None);
    }

    #[test]
    fn tags_are_validated() {
        assert!(is_tag("v1.2.0-rc.1"));
        assert!(!is_tag("-bad"));
        assert!(!is_tag("has/slash"));
    }
}
