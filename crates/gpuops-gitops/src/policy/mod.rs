//! Tag policies with Flux `ImagePolicy` semantics: semver, numerical,
//! alphabetical, `filterTags` (pattern + extract) and exclusion lists.
//!
//! Ties follow Flux (fluxcd/image-reflector-controller internal/policy):
//!
//! * tags whose `filterTags` extract is the same value: the *last* listed
//!   wins (filter.go `Apply`: `f.filtered[tag] = item` overwrites);
//! * semver, equal precedence (`1.0.0` and `v1.0.0`, `1.0.0+a` and
//!   `1.0.0+b`): the *first* seen wins (semver.go `Latest` replaces only on
//!   `GreaterThan`);
//! * numerical, equal numbers (`1` and `1.0`): the *last* seen wins
//!   (numerical.go `Latest` skips only a strictly smaller/greater value).
//!
//! "Seen" is the registry's listing order. Where we differ, and why: with
//! `filterTags` Flux hands the extracted values to the policy in Go map order,
//! which is random per run; we keep the listing order there too, so one run
//! gives the answer Flux gives on some run and every run gives the same.

pub mod semver;

use std::cmp::Ordering;

use regex::Regex;

pub use self::semver::{Range, RangeError, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    Asc,
    Desc,
}

impl Order {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "" | "asc" => Some(Self::Asc),
            "desc" => Some(Self::Desc),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub enum Rule {
    Semver(Range),
    Numerical(Order),
    Alphabetical(Order),
}

/// `filterTags`: keep tags matching `pattern`; compare `extract` expanded
/// with the match (`$name`, `${name}`, `$1`) instead of the whole tag.
#[derive(Debug, Clone)]
pub struct TagFilter {
    pub pattern: Regex,
    pub extract: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub rule: Rule,
    pub filter: Option<TagFilter>,
    /// `ImageRepository.spec.exclusionList`; Flux's default excludes cosign
    /// signatures (`^.*\.sig$`).
    pub exclusions: Vec<Regex>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error(transparent)]
    Range(#[from] RangeError),
    #[error("invalid regular expression {pattern:?}: {message}")]
    Regex { pattern: String, message: String },
    #[error("numerical policy: tag {tag:?} (value {value:?}) is not a number; add filterTags to select numeric tags")]
    NotNumeric { tag: String, value: String },
    #[error("unknown order {0:?} (asc or desc)")]
    Order(String),
    #[error("{0}")]
    Invalid(String),
}

/// What a policy made of one tag (for `kubectl modelbump tags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Latest,
    Allowed,
    Excluded,
    FilteredOut,
    NotSemver,
    OutOfRange,
    /// Another tag extracted to the same value (and won the tie).
    Duplicate,
}

impl Verdict {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Latest => "latest",
            Self::Allowed => "allowed",
            Self::Excluded => "excluded",
            Self::FilteredOut => "filtered-out",
            Self::NotSemver => "not-semver",
            Self::OutOfRange => "out-of-range",
            Self::Duplicate => "duplicate",
        }
    }
}

pub fn compile_regex(pattern: &str) -> Result<Regex, PolicyError> {
    Regex::new(pattern).map_err(|e| PolicyError::Regex { pattern: pattern.to_string(), message: e.to_string() })
}

pub fn default_exclusions() -> Vec<Regex> {
    vec![Regex::new(r"^.*\.sig$").expect("valid regex")]
}

impl Policy {
    pub fn semver(range: &str) -> Result<Self, PolicyError> {
        Ok(Self { rule: Rule::Semver(Range::parse(range)?), filter: None, exclusions: default_exclusions() })
    }

    pub fn with_filter(mut self, pattern: &str, extract: Option<&str>) -> Result<Self, PolicyError> {
        self.filter = Some(TagFilter {
            pattern: compile_regex(pattern)?,
            extract: extract.filter(|e| !e.is_empty()).map(str::to_string),
        });
        Ok(self)
    }

    /// The value a tag is compared by, if it passes exclusions and filter.
    fn value_of(&self, tag: &str) -> Result<String, Verdict> {
        if self.exclusions.iter().any(|r| r.is_match(tag)) {
            return Err(Verdict::Excluded);
        }
        match &self.filter {
            None => Ok(tag.to_string()),
            Some(filter) => {
                let captures = filter.pattern.captures(tag).ok_or(Verdict::FilteredOut)?;
                Ok(match &filter.extract {
                    None => tag.to_string(),
                    Some(template) => {
                        let mut out = String::new();
                        captures.expand(template, &mut out);
                        out
                    }
                })
            }
        }
    }

    /// Judge every tag; the `Latest` one is the policy's pick.
    pub fn evaluate(&self, tags: &[String]) -> Result<Vec<Verdict>, PolicyError> {
        let mut verdicts = vec![Verdict::Allowed; tags.len()];
        // (index, comparison key) of the allowed candidates.
        let mut candidates: Vec<(usize, String)> = Vec::new();
        for (i, tag) in tags.iter().enumerate() {
            match self.value_of(tag) {
                Ok(value) => candidates.push((i, value)),
                Err(verdict) => verdicts[i] = verdict,
            }
        }
        // Equal extracted values: the last listed tag wins (Flux's map
        // overwrite); the survivors keep their listing order.
        let mut last_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, value) in &candidates {
            last_of.insert(value.as_str(), *i);
        }
        let mut unique: Vec<(usize, String)> = Vec::with_capacity(last_of.len());
        for (i, value) in &candidates {
            if last_of[value.as_str()] == *i {
                unique.push((*i, value.clone()));
            } else {
                verdicts[*i] = Verdict::Duplicate;
            }
        }
        let best = match &self.rule {
            Rule::Semver(range) => {
                let mut best: Option<(usize, Version)> = None;
                for (i, value) in &unique {
                    let Some(version) = Version::parse_tag(value) else {
                        verdicts[*i] = Verdict::NotSemver;
                        continue;
                    };
                    if !range.matches(&version) {
                        verdicts[*i] = Verdict::OutOfRange;
                        continue;
                    }
                    // Strictly greater replaces: the first of equals stays.
                    let better = best.as_ref().is_none_or(|(_, b)| version.precedence(b) == Ordering::Greater);
                    if better {
                        best = Some((*i, version));
                    }
                }
                best.map(|(i, _)| i)
            }
            Rule::Numerical(order) => {
                let mut best: Option<(usize, f64)> = None;
                for (i, value) in &unique {
                    let number: f64 = value
                        .parse()
                        .ok()
                        .filter(|n: &f64| n.is_finite())
                        .ok_or_else(|| PolicyError::NotNumeric { tag: tags[*i].clone(), value: value.clone() })?;
                    // Only a strictly worse value is skipped: the last of equals wins.
                    let better = best.as_ref().is_none_or(|(_, b)| {
                        let order = match order {
                            Order::Asc => number.total_cmp(b),
                            Order::Desc => b.total_cmp(&number),
                        };
                        order != Ordering::Less
                    });
                    if better {
                        best = Some((*i, number));
                    }
                }
                best.map(|(i, _)| i)
            }
            Rule::Alphabetical(order) => {
                let pick = match order {
                    Order::Asc => unique.iter().max_by(|a, b| a.1.cmp(&b.1)),
                    Order::Desc => unique.iter().min_by(|a, b| a.1.cmp(&b.1)),
                };
                pick.map(|(i, _)| *i)
            }
        };
        if let Some(i) = best {
            verdicts[i] = Verdict::Latest;
        }
        Ok(verdicts)
    }

    /// The policy's pick, if any tag qualifies.
    pub fn latest<'a>(&self, tags: &'a [String]) -> Result<Option<&'a str>, PolicyError> {
        let verdicts = self.evaluate(tags)?;
        Ok(verdicts.iter().position(|v| *v == Verdict::Latest).map(|i| tags[i].as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn seed_000_semver_policy_skips_prereleases() {
        let p = Policy::semver(">=1.0.0").unwrap();
        let t = tags(&["v0.3.0", "v1.0.0", "v2.0.0", "v2.1.0-rc.1", "latest", "v2.0.0.sig"]);
        assert_eq!(p.latest(&t).unwrap(), Some("v2.0.0"));
        let verdicts = p.evaluate(&t).unwrap();
        assert_eq!(verdicts[0], Verdict::OutOfRange);
        assert_eq!(verdicts[3], Verdict::OutOfRange);
        assert_eq!(verdicts[4], Verdict::NotSemver);
        assert_eq!(verdicts[5], Verdict::Excluded);
    }

    /// The tie rules of Flux's policies (see the module comment).
    #[test]
    fn ties_are_broken_as_flux_breaks_them() {
        let p = Policy::semver("*").unwrap();
        // semver.go: the first of equal precedence stays.
        assert_eq!(p.latest(&tags(&["v1.0.0", "1.0.0", "1.0.0+b", "1.0.0+a"])).unwrap(), Some("v1.0.0"));
        assert_eq!(p.latest(&tags(&["1.0.0+a", "1.0.0+b", "1.0.0", "v1.0.0"])).unwrap(), Some("1.0.0+a"));
        // filter.go: the last tag extracting to a value is the one kept.
        let p = Policy::semver("*").unwrap().with_filter(r"^(?P<v>\d+\.\d+\.\d+)-(build|ci)$", Some("$v")).unwrap();
        let listed = tags(&["1.2.0-build", "1.2.0-ci", "1.1.0-build"]);
        assert_eq!(p.latest(&listed).unwrap(), Some("1.2.0-ci"));
        assert_eq!(p.evaluate(&listed).unwrap()[0], Verdict::Duplicate);
        // numerical.go: only a strictly smaller (asc) value is skipped.
        let mut p = Policy::semver("*").unwrap();
        p.rule = Rule::Numerical(Order::Asc);
        assert_eq!(p.latest(&tags(&["1", "1.0", "0.5"])).unwrap(), Some("1.0"));
        p.rule = Rule::Numerical(Order::Desc);
        assert_eq!(p.latest(&tags(&["0.5", "3", "0.50"])).unwrap(), Some("0.50"));
    }

    #[test]
    fn filter_and_extract() {
        let p = Policy::semver("^1.x-0").unwrap().with_filter(".*-rc.*", None).unwrap();
        assert_eq!(p.latest(&tags(&["1.0.0", "1.1.0-rc.1", "1.2.0-rc.2", "2.0.0-rc.1"])).unwrap(), Some("1.2.0-rc.2"));

        let mut p = Policy::semver("*").unwrap();
        p.rule = Rule::Alphabetical(Order::Asc);
        let p = p.with_filter(r"^RELEASE\.(?P<timestamp>.*)Z$", Some("$timestamp")).unwrap();
        let t = tags(&["RELEASE.2024-01-02T00-00-00Z", "RELEASE.2024-03-01T00-00-00Z", "latest"]);
        assert_eq!(p.latest(&t).unwrap(), Some("RELEASE.2024-03-01T00-00-00Z"));
    }

    #[test]
    fn numerical_and_alphabetical_orders() {
        let mut p = Policy::semver("*").unwrap();
        p.rule = Rule::Numerical(Order::Asc);
        assert_eq!(p.latest(&tags(&["9", "10", "2"])).unwrap(), Some("10"));
        p.rule = Rule::Numerical(Order::Desc);
        assert_eq!(p.latest(&tags(&["9", "10", "2"])).unwrap(), Some("2"));
        assert!(matches!(p.latest(&tags(&["1", "main"])), Err(PolicyError::NotNumeric { .. })));
        p.rule = Rule::Alphabetical(Order::Asc);
        assert_eq!(p.latest(&tags(&["v9", "v10"])).unwrap(), Some("v9"));
        p.rule = Rule::Alphabetical(Order::Desc);
        assert_eq!(p.latest(&tags(&["v9", "v10"])).unwrap(), Some("v10"));
    }

    #[test]
    fn no_candidate_is_none() {
        let p = Policy::semver(">=3.0.0").unwrap();
        assert_eq!(p.latest(&tags(&["1.0.0"])).unwrap(), None);
    }
}

#[cfg(test)]
mod flux_tests;
