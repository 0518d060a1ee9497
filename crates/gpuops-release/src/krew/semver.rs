//! krew's plugin version rule: internal/installation/semver/version.go
//! `Parse` (krew v0.4.5) — a leading `v`, then k8s.io/apimachinery
//! pkg/util/version/version.go `ParseSemantic` (v0.29.3, `parse` lines
//! 43-87), ported regex for regex so that krew and this validator accept
//! the same strings.

use std::sync::LazyLock;

use regex::Regex;

/// version.go:38 `versionMatchRE`. Go's `\s` is `[\t\n\f\r ]` and `.` does
/// not match `\n`, hence the explicit classes.
static VERSION_MATCH: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[\t\n\x0C\r ]*v?([0-9]+(?:\.[0-9]+)*)([^\n]*)$").expect("valid regex"));
/// version.go:40 `extraMatchRE`.
static EXTRA_MATCH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?[\t\n\x0C\r ]*$")
        .expect("valid regex")
});

/// Why krew refuses `version` (`spec.version`), or `Ok`.
pub fn parse(version: &str) -> Result<(), String> {
    // semver/version.go `Parse`: "not starting with 'v'".
    if !version.starts_with('v') {
        return Err("does not start with v".into());
    }
    let Some(parts) = VERSION_MATCH.captures(version) else {
        return Err("is not a version (v1.2.3)".into());
    };
    let (numbers, extra) = (&parts[1], &parts[2]);
    let components: Vec<&str> = numbers.split('.').collect();
    // version.go:51: semver needs exactly three components.
    if components.len() != 3 {
        return Err("needs major.minor.patch".into());
    }
    for comp in components {
        // version.go:60: no leading zero.
        if comp.starts_with('0') && comp != "0" {
            return Err("has a zero-prefixed component".into());
        }
        // version.go:63: strconv.ParseUint(comp, 10, 0) — 64 bits; overflow is an error.
        if comp.parse::<u64>().is_err() {
            return Err("has a component beyond 2^64-1".into());
        }
    }
    if extra.is_empty() {
        return Ok(());
    }
    // version.go:71-73.
    let Some(extra_parts) = EXTRA_MATCH.captures(extra) else {
        return Err("has a malformed pre-release or build metadata".into());
    };
    let pre = extra_parts.get(1).map_or("", |m| m.as_str());
    // version.go:77-82: a numeric pre-release identifier (one that fits a
    // u64) must not have a leading zero; one that overflows is not checked.
    for comp in pre.split('.') {
        if comp.parse::<u64>().is_ok() && comp.starts_with('0') && comp != "0" {
            return Err("has a zero-prefixed pre-release identifier".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    /// krew v0.4.5 internal/installation/semver/version_test.go `TestParse`,
    /// every row; then apimachinery's rules the issue names.
    #[test]
    fn krew_parse_rows() {
        let rows = [
            ("empty", "", false),
            ("zero is valid", "v0.0.0", true),
            ("no v prefix", "1.0.0", false),
            ("spaces between v and value", "v 1.0.0", false),
            ("major", "v1", false),
            ("major.minor", "v1.2", false),
            ("major.minor.patch", "v1.2.3", true),
            ("major.minor.patch-suffix", "v1.2.3-beta.2+foo.bar", true),
            ("empty pre-release identifier", "v1.0.1-", false),
            ("empty meta identifier", "v1.0.1+", false),
            ("negative value in major", "v-1.2.3", false),
            ("negative value in minor", "v1.-2.3", false),
            ("negative value in patch", "v1.2.-3", false),
            ("leading zero in major", "v01.2.3", false),
            ("leading zero in minor", "v1.02.3", false),
            ("leading zero in patch", "v1.2.03", false),
            ("major with alpha chars", "v0a.0.0", false),
            ("minor with alpha chars", "v0.0a.0", false),
            ("patch with alpha chars", "v0.0.0a", false),
            // TestLess's inputs all parse.
            ("less rows", "v1.0.0-alpha+foo", true),
            ("less rows", "v1.0.0-0.3.7", true),
            ("less rows", "v1.0.1-rc1", true),
            // apimachinery version.go:63 and :77-82.
            ("numeric pre-release with a leading zero", "v1.0.0-01", false),
            ("major beyond uint64", "v18446744073709551616.0.0", false),
            ("major at uint64 max", "v18446744073709551615.0.0", true),
            ("pre-release beyond uint64 is not numeric", "v1.0.0-018446744073709551616", true),
            ("trailing blanks (versionMatchRE/extraMatchRE \\s*$)", "v1.0.0 ", true),
            ("a newline is not matched by .", "v1.0.0\n", false),
            ("leading zero in build metadata is fine", "v1.0.0+01", true),
        ];
        for (name, input, ok) in rows {
            assert_eq!(super::parse(input).is_ok(), ok, "{name}: {input:?} -> {:?}", super::parse(input));
        }
    }
}
