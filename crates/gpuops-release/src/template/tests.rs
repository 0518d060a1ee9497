use super::*;

// krew-release-bot pkg/source/template_test.go, TestFixIndent.
#[test]
fn bot_indent_rows() {
    // "indent with 4 spaces"
    assert_eq!(
        bot_indent(4, "uri: some-secure-uri\nsha256: some-sha256"),
        "uri: some-secure-uri\n    sha256: some-sha256"
    );
    // "fix legacy 4 space indent with 6 spaces"
    assert_eq!(
        bot_indent(6, "uri: some-secure-uri\n    sha256: some-sha256"),
        "uri: some-secure-uri\n      sha256: some-sha256"
    );
}

// krew-release-bot pkg/source/template_test.go, TestRenderTemplate: every
// row, with its data files (tests/krew-release-bot, Apache-2.0,
// commit c970b8a) and the archive body the test serves ("my-plugin-binary").
#[test]
fn bot_render_template_rows() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("kubectl-whoami_v0.0.2_darwin_amd64.tar.gz"), b"my-plugin-binary").unwrap();
    let rows = [
        (
            "needs 6 space indentation",
            include_str!("../../tests/krew-release-bot/needs-6-space-indentation.yaml"),
            include_str!("../../tests/krew-release-bot/needs-6-space-indentation-expected.yaml"),
        ),
        (
            "needs 4 space indentation",
            include_str!("../../tests/krew-release-bot/needs-4-space-indentation.yaml"),
            include_str!("../../tests/krew-release-bot/needs-4-space-indentation-expected.yaml"),
        ),
        (
            "line start with dash",
            include_str!("../../tests/krew-release-bot/line-start-with-dash.yaml"),
            include_str!("../../tests/krew-release-bot/line-start-with-dash-expected.yaml"),
        ),
    ];
    for (name, template, expected) in rows {
        let r = render(template, "v0.0.2", dist.path()).unwrap();
        assert_eq!(r.text, expected, "{name}");
        assert!(r.missing.is_empty(), "{name}");
    }
}

#[test]
fn tag_uri_and_sha_and_a_platform_without_its_archive() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::write(dist.path().join("kubectl-x-v1.2.3-linux.tar.gz"), b"archive").unwrap();
    let template = "spec:\n  version: {{ .TagName }}\n  platforms:\n  - selector:\n      matchLabels: {os: linux, arch: amd64}\n    {{addURIAndSha \"https://h/releases/download/{{ .TagName }}/kubectl-x-{{ .TagName }}-linux.tar.gz\" .TagName }}\n    bin: kubectl-x\n  - selector:\n      matchLabels: {os: darwin, arch: arm64}\n    {{addURIAndSha \"https://h/releases/download/{{ .TagName }}/kubectl-x-{{ .TagName }}-darwin.tar.gz\" .TagName | indent 4 }}\n    bin: kubectl-x\n";
    let r = render(template, "v1.2.3", dist.path()).unwrap();
    assert_eq!(r.missing, ["kubectl-x-v1.2.3-darwin.tar.gz"]);
    assert_eq!(
        r.text,
        format!(
            "spec:\n  version: v1.2.3\n  platforms:\n  - selector:\n      matchLabels: {{os: linux, arch: amd64}}\n    uri: https://h/releases/download/v1.2.3/kubectl-x-v1.2.3-linux.tar.gz\n    sha256: {}\n    bin: kubectl-x\n",
            crate::sha256_hex(b"archive")
        )
    );
}

/// The bot's data has no `.Version` (pkg/source/source.go ReleaseRequest),
/// so a template using it fails there; here too, naming the line.
#[test]
fn version_is_refused_as_the_bot_refuses_it() {
    let dist = tempfile::tempdir().unwrap();
    let e = render("a: 1\nversion: {{ .Version }}\n", "v1.2.3", dist.path()).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.to_string().contains("can't evaluate field Version"), "{e}");
    let in_url = "    {{addURIAndSha \"https://h/{{ .Version }}/x.tar.gz\" .TagName }}\n";
    let e = render(in_url, "v1.2.3", dist.path()).unwrap_err();
    assert!(e.to_string().contains("can't evaluate field Version"), "{e}");
    let e = render("{{ include \"x\" }}\n", "v1", dist.path()).unwrap_err();
    assert!(e.to_string().contains("not rendered here"), "{e}");
}

/// Go text/template trim markers: `{{- ` eats the whitespace before, ` -}}`
/// the whitespace after.
#[test]
fn trim_markers() {
    let dist = tempfile::tempdir().unwrap();
    assert_eq!(render("a  {{- .TagName -}}  \nb", "v1", dist.path()).unwrap().text, "av1b");
}
