//! Semantic versions and constraints with the semantics Flux uses:
//! Masterminds/semver v3 constraints, tags parsed strictly after one
//! optional `v`.
//!
//! What differs from the `semver` crate and why it matters to Flux users:
//! prereleases match only a constraint that itself names a prerelease
//! (`>=1.0.0-0`, `^1.x-0`), `1.x`/`*` wildcards, `||`, hyphen ranges, and
//! comma or space as AND.

use std::cmp::Ordering;
use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// A parsed version; `original` keeps the tag as written (with its `v`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

fn valid_identifiers(text: &str, numeric_leading_zero_ok: bool) -> bool {
    !text.is_empty()
        && text.split('.').all(|id| {
            !id.is_empty()
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && (numeric_leading_zero_ok
                    || !(id.len() > 1 && id.starts_with('0') && id.chars().all(|c| c.is_ascii_digit())))
        })
}

impl Version {
    /// A tag as Flux reads it: one optional leading `v`, then exactly
    /// `MAJOR.MINOR.PATCH[-pre][+build]` with no leading zeros.
    pub fn parse_tag(tag: &str) -> Option<Self> {
        let mut v = Self::parse_strict(tag.strip_prefix('v').unwrap_or(tag))?;
        v.original = tag.to_string();
        Some(v)
    }

    /// Masterminds `StrictNewVersion`.
    fn parse_strict(text: &str) -> Option<Self> {
        let mut parts: Vec<&str> = text.splitn(3, '.').collect();
        if parts.len() != 3 {
            return None;
        }
        let mut metadata = "";
        if let Some((p, m)) = parts[2].split_once('+') {
            if !valid_identifiers(m, true) {
                return None;
            }
            metadata = m;
            parts[2] = p;
        }
        let mut pre = "";
        if let Some((p, r)) = parts[2].split_once('-') {
            if !valid_identifiers(r, false) {
                return None;
            }
            pre = r;
            parts[2] = p;
        }
        let mut numbers = [0u64; 3];
        for (slot, part) in numbers.iter_mut().zip(&parts) {
            if part.is_empty() || !part.chars().all(|c| c.is_ascii_digit()) || (part.len() > 1 && part.starts_with('0'))
            {
                return None;
            }
            *slot = part.parse().ok()?;
        }
        Some(Self {
            major: numbers[0],
            minor: numbers[1],
            patch: numbers[2],
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: text.to_string(),
        })
    }

    /// Masterminds `NewVersion` for the versions inside constraints
    /// (`1`, `1.2`, `v1.2.3-rc.1` are all accepted).
    fn parse_lenient(text: &str) -> Option<Self> {
        static RE: LazyLock<Regex> = LazyLock::new(|| {
            Regex::new(
                r"^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?$",
            )
            .expect("valid regex")
        });
        let m = RE.captures(text)?;
        // `validatePrerelease` (version.go): a numeric identifier with a
        // leading zero (`beta.01`) is an error, so Flux rejects the policy.
        if let Some(pre) = m.get(5)
            && !valid_identifiers(pre.as_str(), false)
        {
            return None;
        }
        let num = |i: usize| m.get(i).map_or(Some(0), |g| g.as_str().trim_start_matches('.').parse().ok());
        Some(Self {
            major: num(1)?,
            minor: num(2)?,
            patch: num(3)?,
            pre: m.get(5).map_or("", |g| g.as_str()).to_string(),
            metadata: m.get(8).map_or("", |g| g.as_str()).to_string(),
            original: text.to_string(),
        })
    }

    /// Semver precedence (build metadata ignored).
    pub fn precedence(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(&self.pre, &other.pre))
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let (mut left, mut right) = (a.split('.'), b.split('.'));
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(i), Ok(j)) => i.cmp(&j),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Debug, Clone)]
struct Constraint {
    op: Op,
    con: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// A constraint such as `>=1.0.0`, `^1.x-0 || 2.3.*`.
#[derive(Debug, Clone)]
pub struct Range {
    any_of: Vec<Vec<Constraint>>,
    /// Per `||` alternative: whether any of its constraints names a
    /// prerelease, which lets prereleases through the whole AND group
    /// (Masterminds v3.4+ `containsPre`, constraints.go NewConstraint/Check;
    /// Flux's image-reflector-controller ships v3.5).
    contains_pre: Vec<bool>,
    text: String,
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

static CONSTRAINT_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"^\s*({OPS})\s*({CV})\s*$")).expect("valid regex"));
static RANGE_RE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"\s*({CV})\s+-\s+({CV})\s*")).expect("valid regex"));
static FIND_RE: LazyLock<Regex> = LazyLock::new(|| Regex::new(&format!(r"({OPS})\s*({CV})")).expect("valid regex"));
static VALID_RE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")).expect("valid regex")
});

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// Why a range could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("improper semver constraint {0:?}")]
pub struct RangeError(pub String);

impl Range {
    /// Masterminds `NewConstraint`.
    pub fn parse(text: &str) -> Result<Self, RangeError> {
        // Hyphen ranges `1.2 - 1.4.5` become `>= 1.2, <= 1.4.5`.
        let rewritten = RANGE_RE.replace_all(text, |c: &regex::Captures<'_>| format!(">= {}, <= {} ", &c[1], &c[11]));
        let mut any_of = Vec::new();
        let mut contains_pre = Vec::new();
        for segment in rewritten.split("||") {
            if !VALID_RE.is_match(segment) {
                return Err(RangeError(text.to_string()));
            }
            let found: Vec<&str> = FIND_RE.find_iter(segment).map(|m| m.as_str()).collect();
            let parts = if found.is_empty() { vec![segment] } else { found };
            let group = parts
                .into_iter()
                .map(|p| parse_constraint(p).ok_or_else(|| RangeError(text.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            contains_pre.push(group.iter().any(|c: &Constraint| !c.con.pre.is_empty()));
            any_of.push(group);
        }
        Ok(Self { any_of, contains_pre, text: text.to_string() })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.any_of
            .iter()
            .zip(&self.contains_pre)
            // "Exit early if the version has a prerelease but those are to be ignored."
            .any(|(group, pre)| (v.pre.is_empty() || *pre) && group.iter().all(|c| c.check(v)))
    }
}

fn parse_constraint(text: &str) -> Option<Constraint> {
    if text.is_empty() {
        let con = Version::parse_strict("0.0.0")?;
        return Some(Constraint { op: Op::TildeOrEqual, con, dirty: true, minor_dirty: false, patch_dirty: false });
    }
    let m = CONSTRAINT_RE.captures(text)?;
    let group = |i: usize| m.get(i).map_or("", |g| g.as_str());
    let op = match group(1) {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        "^" => Op::Caret,
        _ => return None,
    };
    let (major, minor, patch, pre) = (group(3), group(4), group(5), group(6));
    let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
    let version = if is_x(major) || major.is_empty() {
        dirty = true;
        format!("0.0.0{pre}")
    } else if is_x(minor.trim_start_matches('.')) || minor.is_empty() {
        dirty = true;
        minor_dirty = true;
        format!("{major}.0.0{pre}")
    } else if is_x(patch.trim_start_matches('.')) || patch.is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{major}{minor}.0{pre}")
    } else {
        group(2).to_string()
    };
    let con = Version::parse_lenient(&version)?;
    Some(Constraint { op, con, dirty, minor_dirty, patch_dirty })
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual if self.dirty => self.tilde(v),
            Op::TildeOrEqual => v.precedence(c) == Ordering::Equal,
            Op::NotEqual => self.not_equal(v),
            Op::Greater => {
                if !self.dirty {
                    return v.precedence(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.precedence(c) == Ordering::Greater
            }
            Op::Less => v.precedence(c) == Ordering::Less,
            Op::GreaterEqual => v.precedence(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.precedence(c) != Ordering::Greater;
                }
                !(v.major > c.major || (v.major == c.major && v.minor > c.minor && !self.minor_dirty))
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => self.caret(v),
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.precedence(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        v.major == c.major && (v.minor == c.minor || self.minor_dirty)
    }

    fn caret(&self, v: &Version) -> bool {
        let c = &self.con;
        if v.precedence(c) == Ordering::Less {
            return false;
        }
        if c.major > 0 || self.minor_dirty {
            return v.major == c.major;
        }
        if v.major > 0 {
            return false;
        }
        if c.minor > 0 || self.patch_dirty {
            return v.minor == c.minor;
        }
        if v.minor > 0 {
            return false;
        }
        v.patch == c.patch
    }

    fn not_equal(&self, v: &Version) -> bool {
        let c = &self.con;
        if self.dirty {
            if c.major != v.major {
                return true;
            }
            if self.minor_dirty {
                return false;
            }
            if c.minor != v.minor {
                return true;
            }
            if self.patch_dirty {
                return (!v.pre.is_empty() || !c.pre.is_empty())
                    && compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
            }
            if c.patch != v.patch {
                return true;
            }
        }
        v.precedence(c) != Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(range: &str, tag: &str) -> bool {
        Range::parse(range).unwrap().matches(&Version::parse_tag(tag).unwrap_or_else(|| panic!("tag {tag}")))
    }

    #[test]
    fn tags_are_strict_after_one_v() {
        for good in ["1.2.3", "v1.2.3", "0.0.0", "1.2.3-rc.1", "1.2.3+build.5", "1.2.3-0.a-b+x"] {
            assert!(Version::parse_tag(good).is_some(), "{good}");
        }
        for bad in
            ["1.2", "vv1.2.3", "01.2.3", "1.02.3", "1.2.3-01", "1.2.3-", "1.2.3+", "latest", "1.2.3.4", "V1.2.3", ""]
        {
            assert!(Version::parse_tag(bad).is_none(), "{bad}");
        }
        assert_eq!(Version::parse_tag("v2.0.0").unwrap().original, "v2.0.0");
    }

    #[test]
    fn prereleases_need_a_prerelease_in_the_constraint() {
        assert!(!ok(">=1.0.0", "2.1.0-rc.1"));
        assert!(ok(">=1.0.0-0", "2.1.0-rc.1"));
        assert!(ok("^1.x-0", "1.5.0-rc.1"));
        assert!(!ok("^1.x-0", "2.0.0-rc.1"));
        // Masterminds v3.4+: one prerelease in an AND group admits
        // prereleases for the whole group, not for other `||` alternatives.
        assert!(ok(">=1.0.0-0 <2.0.0", "1.2.0-rc.1"));
        assert!(ok(">=1.0.0-0 <2.0.0-0", "1.2.0-rc.1"));
        assert!(ok(">= 1.0.0 <= 2.0.0-beta", "1.0.1-beta"));
        assert!(!ok(">=3.0.0-0 || >=1.0.0", "1.2.0-rc.1"));
    }

    #[test]
    fn operators_wildcards_and_ranges() {
        let cases = [
            (">=1.0.0", "1.0.0", true),
            (">1.0.0", "1.0.0", false),
            ("<2", "1.9.9", true),
            ("<2", "2.0.0", false),
            ("<=1.2", "1.2.9", true),
            ("<=1.2", "1.3.0", false),
            (">1.2", "1.2.9", false),
            (">1.2", "1.3.0", true),
            (">11", "11.9.0", false),
            ("1.x", "1.9.0", true),
            ("1.x", "2.0.0", false),
            ("1.2.*", "1.2.7", true),
            ("*", "9.9.9", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("~1", "1.9.0", true),
            ("~>2.0", "2.0.5", true),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.4", false),
            ("=1.2.3", "v1.2.3", true),
            ("!=1.2.3", "1.2.4", true),
            ("!=1.x", "1.2.4", false),
            ("!=1.x", "2.0.0", true),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("1.2 - 1.4.5", "1.1.9", false),
            (">=1.0.0, <2.0.0", "1.5.0", true),
            (">=1.0.0 <2.0.0", "2.0.0", false),
            ("1.2.x || >=3", "1.2.1", true),
            ("1.2.x || >=3", "2.5.0", false),
            ("1.2.x || >=3", "3.0.0", true),
            ("v1.x", "1.1.0", true),
        ];
        for (range, tag, want) in cases {
            assert_eq!(ok(range, tag), want, "{range} vs {tag}");
        }
    }

    #[test]
    fn bad_ranges_are_errors() {
        for bad in ["", "> = 1", "1.2.3.4", ">=abc", "1 ||| 2", "=>=1"] {
            assert!(Range::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn precedence_follows_semver() {
        let v = |t: &str| Version::parse_tag(t).unwrap();
        let mut tags = [
            "1.0.0",
            "1.0.0-rc.1",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta.11",
            "1.0.0-beta.2",
        ];
        tags.sort_by(|a, b| v(a).precedence(&v(b)));
        assert_eq!(
            tags,
            [
                "1.0.0-alpha",
                "1.0.0-alpha.1",
                "1.0.0-alpha.beta",
                "1.0.0-beta.2",
                "1.0.0-beta.11",
                "1.0.0-rc.1",
                "1.0.0"
            ]
        );
        assert_eq!(v("1.0.0+a").precedence(&v("1.0.0+b")), Ordering::Equal);
    }
}

#[cfg(test)]
#[path = "masterminds_tests.rs"]
mod masterminds_tests;
