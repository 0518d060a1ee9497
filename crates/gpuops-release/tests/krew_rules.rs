//! krew v0.4.5's own unit-test rows (internal/index/validation/
//! validate_test.go), run against the port, and the manifest-level rules
//! the issue found wrong (issue 24): what krew accepts is accepted, what it
//! refuses is refused, each refusal naming the file and field.

use std::collections::BTreeMap;

use gpuops_release::krew::rules::{
    is_safe_plugin_name, is_supported_api_version, validate_files, validate_platform, validate_plugin,
    validate_selector,
};
use gpuops_release::krew::{self, API_VERSION, FileOperation, Platform, Plugin, Requirement, Selector};

/// krew internal/testutil `NewPlatform()` (valid).
fn platform() -> Platform {
    Platform {
        uri: "http://example.com/".into(),
        sha256: "deadbeef".repeat(8),
        bin: "kubectl-test-plugin".into(),
        selector: Some(labels(&[("os", "linux"), ("arch", "amd64")])),
        files: Some(vec![FileOperation { from: "./*.sh".into(), to: ".".into() }]),
    }
}

/// krew internal/testutil `NewPlugin()` (valid), named `name`.
fn plugin(name: &str) -> Plugin {
    let mut p = Plugin { api_version: API_VERSION.into(), kind: "Plugin".into(), ..Plugin::default() };
    p.metadata.name = name.into();
    p.spec.short_description = "in-memory test plugin object".into();
    p.spec.version = "v1.0.0-test.1".into();
    p.spec.platforms = vec![platform()];
    p
}

fn labels(pairs: &[(&str, &str)]) -> Selector {
    let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    Selector { match_labels: Some(map), match_expressions: None }
}

fn expr(key: &str, operator: &str, values: Option<&[&str]>) -> Selector {
    let values = values.map(|v| v.iter().map(|s| s.to_string()).collect());
    Selector {
        match_labels: None,
        match_expressions: Some(vec![Requirement { key: key.into(), operator: operator.into(), values }]),
    }
}

/// validate_test.go `Test_IsSafePluginName`, `Test_isSupportedAPIVersion`.
#[test]
fn krew_name_and_api_version_rows() {
    for (name, want) in [("foo-bar", true), ("/foo-bar", false), ("..foo-bar", false), ("nul", false)] {
        assert_eq!(is_safe_plugin_name(name), want, "{name}");
    }
    // validate.go:39-41: COM0 is not forbidden, COM1 is (any case).
    assert!(is_safe_plugin_name("com0") && !is_safe_plugin_name("Com1") && !is_safe_plugin_name("a.b"));
    let group = "krew.googlecontainertools.github.com";
    for (v, want) in [
        ("networking.k8s.io/v1".to_string(), false),
        (group.to_string(), false),
        (format!("{group}/v1alpha1"), false),
        (format!("{group}/v1alpha2"), true),
        (format!("{group}/v1alpha3"), false),
        (format!("{group}/v1"), false),
        (format!("{group}/v2alpha1"), false),
    ] {
        assert_eq!(is_supported_api_version(&v), want, "{v}");
    }
}

/// validate_test.go `TestValidatePlugin`, every row.
#[test]
fn krew_validate_plugin_rows() {
    let with = |f: &dyn Fn(&mut Plugin)| {
        let mut p = plugin("foo");
        f(&mut p);
        p
    };
    let rows: Vec<(&str, &str, Plugin, bool)> = vec![
        ("success", "foo", plugin("foo"), false),
        ("file name mismatch", "orange", plugin("apple"), true),
        ("bad api version", "foo", with(&|p| p.api_version = "core/v1".into()), true),
        ("wrong kind", "foo", with(&|p| p.kind = "NotPlugin".into()), true),
        ("shortDescription unspecified", "foo", with(&|p| p.spec.short_description.clear()), true),
        ("version unspecified", "foo", with(&|p| p.spec.version.clear()), true),
        ("version malformed", "foo", with(&|p| p.spec.version = "v01.02.3-a".into()), true),
        ("no platform specified", "foo", with(&|p| p.spec.platforms.clear()), true),
        ("empty file operations", "foo", with(&|p| p.spec.platforms[0].files = Some(vec![])), true),
        ("unsafe plugin name", "../foo", plugin("../foo"), true),
        ("short description with line break", "foo", with(&|p| p.spec.short_description = "just foo\n".into()), true),
        (
            "short description with carriage return",
            "foo",
            with(&|p| p.spec.short_description = "just foo\r".into()),
            true,
        ),
        ("short description with CRLF", "foo", with(&|p| p.spec.short_description = "just\r\nfoo".into()), true),
    ];
    for (row, name, p, want_err) in rows {
        let problems = validate_plugin(name, &p);
        assert_eq!(!problems.is_empty(), want_err, "{row}: {problems:?}");
    }
}

/// validate_test.go `TestValidatePlatform`, `Test_validateSelector`,
/// `Test_validateFiles`, every row.
#[test]
fn krew_platform_selector_and_files_rows() {
    let with = |f: &dyn Fn(&mut Platform)| {
        let mut p = platform();
        f(&mut p);
        p
    };
    for (row, p, want_err) in [
        ("success", platform(), false),
        ("missing url", with(&|p| p.uri.clear()), true),
        ("missing sha256", with(&|p| p.sha256.clear()), true),
        ("empty file operations", with(&|p| p.files = Some(vec![])), true),
        ("no bin field", with(&|p| p.bin.clear()), true),
        ("invalid platform selector", with(&|p| p.selector = Some(labels(&[("unsupported-field", "orange")]))), true),
    ] {
        assert_eq!(!validate_platform(&p).is_empty(), want_err, "{row}");
    }
    let empty_labels = Selector { match_labels: Some(BTreeMap::new()), match_expressions: None };
    let empty_exprs = Selector { match_labels: None, match_expressions: Some(vec![]) };
    for (row, sel, want_err) in [
        ("nil selector", None, true),
        ("empty (wildcard) selector", Some(Selector::default()), true),
        ("valid matchLabels", Some(labels(&[("os", "foo"), ("arch", "bar")])), false),
        ("valid matchExpressions", Some(expr("os", "In", Some(&["apple", "orange"]))), false),
        ("empty matchLabels", Some(empty_labels), true),
        ("empty matchExpressions", Some(empty_exprs), true),
        ("unsupported key in matchLabels", Some(labels(&[("unsupported-key", "value")])), true),
        ("unsupported key in matchExpressions", Some(expr("unsupported-key", "In", Some(&["apple", "orange"]))), true),
    ] {
        assert_eq!(validate_selector(sel.as_ref()).is_err(), want_err, "{row}");
    }
    let op = |from: &str, to: &str| FileOperation { from: from.into(), to: to.into() };
    for (row, files, want_err) in [
        ("success", Some(vec![op("here", "there")]), false),
        ("unspecified file operations", None, false),
        ("empty file operations", Some(vec![]), true),
        ("empty `to` field in file operations", Some(vec![op("present", "")]), true),
        ("empty `from` field in file operations", Some(vec![op("", "present")]), true),
    ] {
        assert_eq!(validate_files(files.as_deref()).is_err(), want_err, "{row}");
    }
}

const VALID: &str = "apiVersion: krew.googlecontainertools.github.com/v1alpha2
kind: Plugin
metadata:
  name: foo
spec:
  version: v0.1.0
  homepage: https://example.com/foo
  shortDescription: Does foo to clusters
  description: |
    Does foo to every object of a cluster, and says what it changed and why.
  platforms:
  - selector:
      matchLabels:
        os: linux
        arch: amd64
    uri: https://example.com/foo.tar.gz
    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
    bin: foo
";

fn edit(from: &str, to: &str) -> String {
    assert!(VALID.contains(from), "{from}");
    VALID.replacen(from, to, 1)
}

/// What krew accepts and the previous validator refused: full ObjectMeta
/// (labels, annotations, `creationTimestamp: null`, as krew's own test
/// manifests carry), a tagline over 50 characters and keys krew ignores
/// (both warnings), case-insensitive keys and scalars for strings (as
/// sigs.k8s.io/yaml + encoding/json read them).
#[test]
fn what_krew_accepts_is_accepted() {
    let meta =
        "metadata:\n  name: foo\n  creationTimestamp: null\n  labels: {team: infra}\n  annotations: {a.example/b: c}\n";
    let long = "shortDescription: Does foo to every cluster there is, and then more of it";
    let cases: Vec<(String, Option<&str>)> = vec![
        (VALID.into(), None),
        (edit("metadata:\n  name: foo\n", meta), None),
        (edit("shortDescription: Does foo to clusters", long), Some("spec.shortDescription: 55 characters")),
        (edit("  homepage:", "  homepgae:"), Some("\"spec.homepgae\": unknown field, krew ignores it")),
        (edit("  shortDescription:", "  ShortDescription:"), None),
        (edit("version: v0.1.0", "version: v1.0.0+build.01"), None),
        (
            edit(
                "matchLabels:\n        os: linux\n        arch: amd64",
                "matchExpressions:\n      - {key: os, operator: In, values: [linux]}\n      - {key: arch, operator: NotIn, values: [arm64, '386', arm, ppc64le]}",
            ),
            None,
        ),
    ];
    for (text, warning) in cases {
        let v = krew::validate("plugins/foo.yaml", &text).unwrap_or_else(|e| panic!("{e:?}\n{text}"));
        match warning {
            None => assert!(v.warnings.is_empty(), "{:?}", v.warnings),
            Some(w) => assert!(v.warnings.iter().any(|x| x.contains(w)), "{w}: {:?}", v.warnings),
        }
    }
}

/// What krew refuses and the previous validator let through (versions,
/// selectors that apimachinery's LabelSelectorAsSelector refuses), plus
/// krew's other manifest-level rules; one line per problem, naming the
/// file and the field.
#[test]
fn what_krew_refuses_is_refused_naming_file_and_field() {
    let exprs = |e: &str| {
        edit("matchLabels:\n        os: linux\n        arch: amd64", &format!("matchExpressions:\n      - {e}"))
    };
    let cases: Vec<(String, &str, &str)> = vec![
        (edit("v0.1.0", "v1.0.1+"), "foo.yaml", "spec.version: has a malformed pre-release or build metadata"),
        (edit("v0.1.0", "v1.0.0-01"), "foo.yaml", "spec.version: has a zero-prefixed pre-release identifier"),
        (edit("v0.1.0", "v18446744073709551616.0.0"), "foo.yaml", "spec.version: has a component beyond 2^64-1"),
        (edit("v0.1.0", "0.1.0"), "foo.yaml", "spec.version: does not start with v"),
        (
            exprs("{key: os, operator: NotIn}"),
            "foo.yaml",
            "spec.platforms[0].selector: matches no supported os/arch (matchExpressions[0]: In and NotIn need at least one value)",
        ),
        (
            exprs("{key: os, operator: Exists, values: [linux]}"),
            "foo.yaml",
            "matchExpressions[0]: Exists and DoesNotExist take no values",
        ),
        (
            exprs("{key: os, operator: Gt, values: ['1']}"),
            "foo.yaml",
            "matchExpressions[0].operator is not In, NotIn, Exists or DoesNotExist",
        ),
        (edit("os: linux", "os: plan9"), "foo.yaml", "spec.platforms[0].selector: matches no supported os/arch"),
        (edit("os: linux", "os: linux amd64"), "foo.yaml", "matchLabels.os is not a valid label value"),
        (VALID.into(), "foo.yml", "a manifest's file name must end in .yaml"),
        (VALID.into(), "bar.yaml", "metadata.name: differs from the file name"),
        (edit("kind: Plugin", "kind: Plugins"), "foo.yaml", "kind: not Plugin"),
        (
            edit("arch: amd64", "distro: debian"),
            "foo.yaml",
            "spec.platforms[0].selector: key \"distro\" is not os or arch",
        ),
        (edit("sha256: 0123", "sha256: 0A23"), "foo.yaml", "spec.platforms[0].sha256: not 64 lower-case hex digits"),
        (
            edit("    bin: foo\n", "    bin: foo\n    files: []\n"),
            "foo.yaml",
            "spec.platforms[0].files: must be left out or non-empty",
        ),
        (
            edit("  name: foo\n", "  name: foo\n  creationTimestamp: yesterday\n"),
            "foo.yaml",
            "metadata.creationTimestamp: not an RFC 3339 time",
        ),
        (edit("  description: |", "  description:\n  - x\n  d: |"), "foo.yaml", "spec.description: must be a string"),
        (
            format!("{VALID}{}", VALID.split_once("  platforms:\n").unwrap().1),
            "foo.yaml",
            "spec.platforms[0,1].selector: all select linux/amd64",
        ),
    ];
    for (text, file, expect) in cases {
        let problems = krew::validate(file, &text).map(|v| v.warnings).expect_err(expect);
        assert!(
            problems.iter().any(|p| p.starts_with(&format!("\"{file}\": ")) && p.contains(expect)),
            "{expect}: {problems:?}"
        );
        assert!(problems.iter().all(|p| !p.contains('\n')), "{problems:?}");
    }
}

/// Untrusted text reaches a message escaped: no terminal control sequence
/// or bidi override from a manifest or its file name.
#[test]
fn messages_escape_untrusted_text() {
    let text = edit("arch: amd64", "\"\\e[31m\\u202e\": x");
    let problems = krew::validate("\u{1b}[2Jfoo.yaml", &text).unwrap_err().join("\n");
    assert!(!problems.contains('\u{1b}') && !problems.contains('\u{202e}'), "{problems}");
    assert!(problems.contains("\\u{1b}[2Jfoo.yaml"), "{problems}");
}
