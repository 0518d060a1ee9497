//! A hostile repository (issue 18): a marker line that panicked the reader,
//! file and object names carrying terminal escapes and newlines, commit
//! templates that nest without end. Real binary, real git, real registry.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use gpuops_testkit::git;

use crate::util::{HELMRELEASE, Repo, seeded_registry, text};

const MARKER: &str = r#"# {"$imagepolicy": "flux-system:foundry-gpu-models:tag"}"#;
/// A file name that clears the screen and forges a line of its own.
const EVIL: &str = "evil\u{1b}[2J\nFAKE: line.yaml";
const AUTOMATION: &str = "infrastructure/image-automation/automation.yaml";

fn commit_all(repo: &Repo, message: &str) {
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "--quiet", "-m", message]);
}

/// No raw control character (but newlines) and no line forged by a name.
fn clean(what: &str, out: &str) {
    assert!(!out.chars().any(|c| c.is_control() && c != '\n' && c != '\t'), "{what}: raw control character:\n{out:?}");
    assert!(!out.lines().any(|l| l.trim_start().starts_with("FAKE")), "{what}: a forged line:\n{out}");
}

/// Run `cmd`, killing it after `limit`: a hang fails the test, not the suite.
fn within(mut cmd: Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    (child.wait_with_output().unwrap(), started.elapsed())
}

#[test]
fn a_marker_on_a_bare_sequence_entry_panics_no_command() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    // The line cargo-fuzz found, ending a list: Flux's YAML reader gives
    // the empty entry no comment, so it sets nothing.
    let list = "images:\n- # {\"$imagepolicy\": \"ns:p\"}\n";
    std::fs::write(repo.path().join("apps/foundry-gpu-oras/list.yaml"), list).unwrap();
    commit_all(&repo, "a bare entry");

    let scan = repo.run(&["scan"]);
    let table = text(&scan.stdout);
    assert_eq!(scan.status.code(), Some(0), "{}", text(&scan.stderr));
    assert!(table.contains("helmrelease.yaml:22") && !table.contains("list.yaml"), "{table}");
    // TAB completion reads the same tree.
    let complete = repo.run(&["__complete", "tags", ""]);
    assert_eq!(complete.status.code(), Some(0), "{}", text(&complete.stderr));
    assert!(text(&complete.stdout).starts_with(&format!("{}/", registry.host())), "{}", text(&complete.stdout));
    let apply = repo.run(&["apply", "--commit"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
    assert_eq!(repo.read("apps/foundry-gpu-oras/list.yaml"), list);
}

/// A marked file named [`EVIL`] holding an object whose name carries an
/// escape and a newline too.
fn evil_repo(registry_host: &str, automation: bool) -> Repo {
    let repo = Repo::seed(registry_host);
    let object = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"cm\\e[31m\\nFAKE: object\"\ndata:\n  tag: v1.0.0 {MARKER}\n"
    );
    std::fs::write(repo.path().join("apps/foundry-gpu-oras").join(EVIL), object).unwrap();
    if automation {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/fixtures");
        std::fs::copy(fixtures.join("image-update-automation.yaml"), repo.path().join(AUTOMATION)).unwrap();
    }
    commit_all(&repo, "hostile names");
    repo
}

#[test]
fn names_from_the_repository_reach_the_terminal_and_the_commit_escaped() {
    let registry = seeded_registry();
    let repo = evil_repo(&registry.host(), false);
    let shown = "evil\\u{1b}[2J\\nFAKE: line.yaml";

    let scan = repo.run(&["scan", "-o", "wide", "-v", "4"]);
    assert_eq!(scan.status.code(), Some(0), "{}", text(&scan.stderr));
    clean("scan", &text(&scan.stdout));
    clean("scan log", &text(&scan.stderr));
    assert!(text(&scan.stdout).contains(&format!("apps/foundry-gpu-oras/{shown}:6")), "{}", text(&scan.stdout));
    // JSON keeps the real name, in JSON's own escaping.
    let json: serde_json::Value = serde_json::from_slice(&repo.run(&["scan", "-o", "json"]).stdout).unwrap();
    let files: Vec<&str> = json["items"].as_array().unwrap().iter().filter_map(|i| i["file"].as_str()).collect();
    assert!(files.contains(&format!("apps/foundry-gpu-oras/{EVIL}").as_str()), "{files:?}");
    clean("scan -o yaml", &text(&repo.run(&["scan", "-o", "yaml"]).stdout));

    let dry = repo.run(&["diff"]);
    assert_eq!(dry.status.code(), Some(1), "{}", text(&dry.stderr));
    clean("dry run", &text(&dry.stdout));

    let apply = repo.run(&["apply", "--commit", "-v", "4"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    clean("apply", &text(&apply.stdout));
    clean("apply log", &text(&apply.stderr));
    let message = git(repo.path(), &["log", "-1", "--format=%B"]);
    clean("commit message", &message);
    assert!(message.contains(shown), "{message}");
    let trailers = git(repo.path(), &["log", "-1", "--format=%(trailers:only)"]);
    assert!(!trailers.contains("FAKE"), "{trailers}");
    assert!(repo.read(&format!("apps/foundry-gpu-oras/{EVIL}")).contains("tag: v2.0.0 #"));
}

#[test]
fn a_flux_message_template_inserts_names_escaped() {
    let registry = seeded_registry();
    let repo = evil_repo(&registry.host(), true);
    let apply = repo.run(&["apply", "--commit"]);
    assert_eq!(apply.status.code(), Some(0), "{}", text(&apply.stderr));
    clean("apply", &text(&apply.stdout));
    let message = git(repo.path(), &["log", "-1", "--format=%B", "image-updates"]);
    clean("templated commit message", &message);
    // The fixture lists files and objects: both are there, escaped.
    assert!(message.contains("- evil\\u{1b}[2J\\nFAKE: line.yaml\n"), "{message}");
    assert!(message.contains("- ConfigMap cm\\u{1b}[31m\\nFAKE: object\n"), "{message}");
}

/// The automation of the fixture with `template` as its message.
fn with_template(repo: &Repo, template: &str, values: usize) {
    let fixture = repo.read(AUTOMATION);
    let start = fixture.find("      messageTemplate: |").unwrap();
    let end = fixture.find("    push:").unwrap();
    let mut spec = format!("      messageTemplate: {}\n", serde_json::to_string(template).unwrap());
    if values > 0 {
        spec.push_str("      messageTemplateValues:\n");
        for i in 0..values {
            spec.push_str(&format!("        k{i:02}: v\n"));
        }
    }
    std::fs::write(repo.path().join(AUTOMATION), format!("{}{spec}{}", &fixture[..start], &fixture[end..])).unwrap();
    commit_all(repo, "hostile template");
}

#[test]
fn commit_templates_that_nest_without_end_are_refused_quickly() {
    let registry = seeded_registry();
    let nested_ifs = format!("{}x{}", "{{if 1}}".repeat(30_000), "{{end}}".repeat(30_000));
    let nested_ranges = format!("{}{}", "{{range $.Values}}".repeat(9), "{{end}}".repeat(9));
    for (template, expected) in
        [(nested_ifs, "max depth exceeded"), (nested_ranges, "more than 1000000 steps and was stopped")]
    {
        let repo = evil_repo(&registry.host(), true);
        with_template(&repo, &template, 20);
        let (out, took) = within(repo.command(&["apply", "--commit"]), Duration::from_secs(60));
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert!(stderr.contains(expected) && stderr.contains("nothing was changed"), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(git(repo.path(), &["status", "--porcelain"]), "", "no file may change");
        assert!(took < Duration::from_secs(30), "{expected}: took {took:?}");
    }
}

#[test]
fn a_file_that_cannot_be_read_is_named_escaped_on_one_line() {
    let repo = Repo::seed("127.0.0.1:1");
    // Not UTF-8: the scan stops at it and names it.
    std::fs::write(repo.path().join("apps").join(EVIL), b"tag: \xff\xfe\n").unwrap();
    let out = repo.run(&["scan"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    clean("scan error", &stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("evil\\u{1b}[2J\\nFAKE: line.yaml"), "{stderr}");
}

/// The message reaches git on stdin (`commit -F -`): one argument of argv
/// holds at most 128 KiB on Linux (MAX_ARG_STRLEN), `-m` failed past it.
#[test]
fn a_long_commit_message_goes_to_git_whole() {
    let registry = seeded_registry();
    let repo = evil_repo(&registry.host(), true);
    let line = format!("{}\n", "x".repeat(999));
    with_template(
        &repo,
        &format!("long\n\n{{{{range $.Values}}}}{{{{range $.Values}}}}{line}{{{{end}}}}{{{{end}}}}"),
        20,
    );
    let out = repo.run(&["apply", "--commit"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let message = git(repo.path(), &["log", "-1", "--format=%B", "image-updates"]);
    assert_eq!(message.matches(&line).count(), 400, "{} bytes", message.len());
}
