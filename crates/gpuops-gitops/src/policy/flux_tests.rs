//! Flux's own policy test tables, with the picks Flux's code returns:
//! fluxcd/image-reflector-controller internal/policy/{semver,numerical,
//! alphabetical,filter}_test.go at debe2aaa3a98ad3ca69e178638402a5a0feec4a6
//! (Apache-2.0). Flux answers "no pick" with an error; here it is `None`.

use super::*;

fn tags(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_string()).collect()
}

fn with_rule(rule: Rule) -> Policy {
    Policy { rule, filter: None, exclusions: default_exclusions() }
}

/// semver_test.go `TestNewSemVer`.
#[test]
fn flux_new_semver() {
    for valid in ["1.0.x", "^1.0", "=1.0.0", "~1.0", ">=1.0", ">0,<2.0"] {
        assert!(Policy::semver(valid).is_ok(), "{valid}");
    }
    for invalid in ["1.0.0p", "1x", "x1", "-1", "a", ""] {
        assert!(Policy::semver(invalid).is_err(), "{invalid}");
    }
}

/// semver_test.go `TestSemVer_Latest`.
#[test]
fn flux_semver_latest() {
    let cases: &[(&str, &[&str], Option<&str>)] = &[
        ("1.0.x", &["1.0.0", "1.0.0.1", "1.0.0p", "1.0.1", "1.2.0", "0.1.0"], Some("1.0.1")),
        ("1.0.x", &["v1.2.3", "v1.0.0", "v0.1.0"], Some("v1.0.0")),
        ("1.0.x", &["b1.2.3", "b1.0.0", "b0.1.0"], None),
        ("1.0.x", &[], None),
        ("1.0.x", &["1.2.0"], None),
    ];
    for (range, versions, want) in cases {
        assert_eq!(Policy::semver(range).unwrap().latest(&tags(versions)).unwrap(), *want, "{range} {versions:?}");
    }
}

/// numerical_test.go `TestNumerical_Latest` (Flux shuffles the lists; the
/// pick does not depend on order).
#[test]
fn flux_numerical_latest() {
    let cases: &[(Order, &[&str], &str)] = &[
        (Order::Asc, &["-62", "-88", "73", "72", "15", "16", "15", "29", "-33", "-91"], "73"),
        (Order::Desc, &["5", "-8", "-78", "25", "70", "-4", "80", "92", "-20", "-24"], "-78"),
        (
            Order::Asc,
            &[
                "47.40896403322944",
                "-27.8520927455902",
                "-27.930666514224427",
                "-31.352485948094568",
                "-50.41072694704882",
                "-21.962849842263736",
                "24.71884721436865",
                "-39.99177354004344",
                "53.47333823144817",
                "3.2008658570411086",
            ],
            "53.47333823144817",
        ),
        (
            Order::Desc,
            &[
                "-65.27202780220686",
                "57.82948329142309",
                "22.40184684363291",
                "-86.36934305697784",
                "-90.29082099756083",
                "-12.041712603564264",
                "77.70488240399305",
                "-38.98425003883552",
                "16.06867070412028",
                "53.735674335181216",
            ],
            "-90.29082099756083",
        ),
        (Order::Asc, &["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"], "1606364286"),
        (Order::Desc, &["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"], "1606234201"),
        (Order::Asc, &["1"], "1"),
        (Order::Desc, &["1"], "1"),
    ];
    for (order, versions, want) in cases {
        let mut list = tags(versions);
        let policy = with_rule(Rule::Numerical(*order));
        assert_eq!(policy.latest(&list).unwrap(), Some(*want), "{order:?} {versions:?}");
        list.reverse();
        assert_eq!(policy.latest(&list).unwrap(), Some(*want), "{order:?} reversed");
    }
    let mixed = tags(&["0", "1a", "b"]);
    let invalid = with_rule(Rule::Numerical(Order::Asc)).latest(&mixed);
    assert!(matches!(invalid, Err(PolicyError::NotNumeric { .. })), "{invalid:?}");
    assert_eq!(with_rule(Rule::Numerical(Order::Asc)).latest(&[]).unwrap(), None);
}

/// alphabetical_test.go `TestAlphabetical_Latest`.
#[test]
fn flux_alphabetical_latest() {
    let calver = ["16.04", "16.04.1", "16.10", "20.04", "20.10"];
    let names = ["xenial", "yakkety", "zesty", "artful", "bionic"];
    let stamps = ["1606234201", "1606364286", "1606334092", "1606334284", "1606334201"];
    let prefixed = ["rel-1606234201", "rel-1606364286", "rel-1606334092", "rel-1606334284", "rel-1606334201"];
    let rfc3339 = [
        "2021-01-08T21-18-21Z",
        "2020-05-08T21-18-21Z",
        "2021-01-08T19-20-00Z",
        "1990-01-08T00-20-00Z",
        "2023-05-08T00-20-00Z",
    ];
    let cases: &[(Order, &[&str], &str)] = &[
        (Order::Asc, &calver, "20.10"),
        (Order::Desc, &calver, "16.04"),
        (Order::Asc, &names, "zesty"),
        (Order::Desc, &names, "artful"),
        (Order::Asc, &stamps, "1606364286"),
        (Order::Desc, &stamps, "1606234201"),
        (Order::Asc, &prefixed, "rel-1606364286"),
        (Order::Asc, &rfc3339, "2023-05-08T00-20-00Z"),
        (Order::Desc, &rfc3339, "1990-01-08T00-20-00Z"),
    ];
    for (order, versions, want) in cases {
        assert_eq!(with_rule(Rule::Alphabetical(*order)).latest(&tags(versions)).unwrap(), Some(*want), "{versions:?}");
    }
}

/// filter_test.go `TestRegexFilter`: which tags a pattern keeps, and what
/// `extract` makes of them (as the policy then compares them).
#[test]
fn flux_regex_filter() {
    let keep = |pattern: &str, extract: Option<&str>, list: &[&str]| -> Vec<String> {
        let p = with_rule(Rule::Alphabetical(Order::Asc)).with_filter(pattern, extract).unwrap();
        let list = tags(list);
        // Flux keeps one tag per extracted value (a map); compare as a set.
        let mut values: Vec<String> = list.iter().filter_map(|t| p.value_of(t).ok()).collect();
        values.sort();
        values.dedup();
        values
    };
    assert_eq!(keep("^ver", None, &["ver1", "ver2", "ver3", "rel1"]), ["ver1", "ver2", "ver3"]);
    assert_eq!(keep(r"ver(\d+)", Some("$1"), &["ver1", "ver2", "ver3", "rel1"]), ["1", "2", "3"]);
    let debug =
        ["123-123.123.abcd123-debug", "123-123.123.abcd123", "123-123.123.abcd456-debug", "123-123.123.abcd456"];
    assert_eq!(
        keep(r"^(123-[0-9]+\.[0-9]+\.[a-z0-9]+-debug)", None, &debug),
        ["123-123.123.abcd123-debug", "123-123.123.abcd456-debug"]
    );
    assert_eq!(
        keep(r"^(?P<tag>123-[0-9]+\.[0-9]+\.[a-z0-9]+[^-debug])", Some("$tag"), &debug),
        ["123-123.123.abcd123", "123-123.123.abcd456"]
    );
    assert_eq!(
        keep(r"^(?P<tag>123-[0-9]+\.[0-9]+\.[a-z0-9]+$)", Some("$tag"), &debug),
        ["123-123.123.abcd123", "123-123.123.abcd456"]
    );
}
