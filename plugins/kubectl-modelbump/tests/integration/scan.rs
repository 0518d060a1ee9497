//! scan and tags output.

use crate::util::{Repo, SEED_IMAGE_PATH, seeded_registry, text};

#[test]
fn scan_table_lists_every_reference() {
    let registry = seeded_registry();
    let repo = Repo::seed_with_isvc(&registry.host());
    let out = repo.run(&["scan"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 3, "{table}");
    assert!(lines[0].starts_with("FILE") && lines[0].contains("POLICY") && lines[0].ends_with("STATUS"), "{table}");
    assert!(
        lines[1].starts_with("apps/foundry-gpu-oras/helmrelease.yaml:22")
            && lines[1].contains("v1.0.0")
            && lines[1].contains("v2.0.0")
            && lines[1].ends_with("update"),
        "{table}"
    );
    assert!(lines[2].starts_with("apps/llm-serving/inferenceservice.yaml:14"), "{table}");

    let out = repo.run(&["scan", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let item = &json["items"][1];
    assert_eq!(item["marker"], "modelpolicy");
    assert_eq!(item["new"], format!("oci://{}/{SEED_IMAGE_PATH}:v2.0.0", registry.host()));

    let out = repo.run(&["scan", "-o", "wide", "--no-headers"]);
    assert!(!text(&out.stdout).contains("FILE"));
    assert!(text(&out.stdout).contains("imagepolicy"));
}

#[test]
fn tags_shows_what_the_policy_picks() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let out = repo.run(&["tags", &image, "--semver", ">=1.0.0"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "TAG           VERDICT\nv1.0.0        allowed\nv2.0.0        latest\nv2.1.0-rc.1   out-of-range\n"
    );
    assert_eq!(text(&out.stderr).trim(), format!("latest: {image}:v2.0.0"));

    let out = repo.run(&["tags", &image, "--semver", "^2.x-0", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["latest"], "v2.1.0-rc.1");
    // Every document names its schema, as `scan`'s always did.
    assert_eq!((&json["apiVersion"], &json["kind"]), (&"gpuops.dev/v1alpha1".into(), &"TagList".into()));
    let out = repo.run(&["tags", &image, "-o", "yaml"]);
    assert!(text(&out.stdout).starts_with("apiVersion: gpuops.dev/v1alpha1\nkind: TagList\n"), "{}", text(&out.stdout));
}

/// A `-o json` that cannot be written whole (a full disk) exits 2 with the
/// reason; it used to exit 0 with a truncated document. A reader that
/// closes the pipe (`| head`) is not an error.
#[test]
fn a_truncated_document_is_an_error_and_a_closed_pipe_is_not() {
    let repo = Repo::seed("127.0.0.1:1");
    std::fs::create_dir(repo.path().join("empty")).unwrap();
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let out = repo.command(&["scan", "empty", "-o", "json"]).stdout(full).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).starts_with("error: writing the output: "), "{}", text(&out.stderr));

    let mut child = repo.command(&["completion", "bash"]).stdout(std::process::Stdio::piped()).spawn().unwrap();
    drop(child.stdout.take());
    assert_eq!(child.wait().unwrap().code(), Some(0));
}

#[test]
fn help_speaks_as_a_kubectl_plugin() {
    let repo = Repo::seed("127.0.0.1:1");
    let out = repo.run(&["--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("Usage: kubectl modelbump [OPTIONS] <COMMAND>"), "{help}");
    let out = repo.run(&["apply", "--help"]);
    assert!(text(&out.stdout).contains("Usage: kubectl modelbump apply [OPTIONS] [PATH]"), "{}", text(&out.stdout));
}
