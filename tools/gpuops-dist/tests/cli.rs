//! `gpuops-dist validate` as CI runs it (issue 24): exit 0 when krew
//! accepts every manifest (warnings printed), 1 when one is refused (one
//! line per problem, naming the file and field), 2 on a usage error.

use std::process::Command;

fn validate(args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gpuops-dist")).arg("validate").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn validate_exit_codes_and_messages() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/gpuops-release/tests/fixtures/krew-index");
    let dir = tempfile::tempdir().unwrap();
    // A real manifest with a long tagline: valid, with a warning.
    let cleaner = format!("{fixtures}/cleaner.yaml");
    let (code, stdout, _) = validate(&[&cleaner]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("warning: spec.shortDescription: 57 characters") && stdout.contains("cleaner.yaml\": valid"),
        "{stdout}"
    );
    // The same with a version krew refuses and a NotIn without values.
    let text = std::fs::read_to_string(&cleaner).unwrap();
    let bad_version = dir.path().join("cleaner.yaml");
    std::fs::write(&bad_version, text.replacen("version: \"v0.1.0\"", "version: v01.1.0", 1)).unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let bad_selector = sub.join("cleaner.yaml");
    let not_in = "matchExpressions: [{key: os, operator: NotIn}]\n      matchLabels:";
    std::fs::write(&bad_selector, text.replacen("matchLabels:", not_in, 1)).unwrap();
    let (code, _, stderr) = validate(&[&cleaner, bad_version.to_str().unwrap(), bad_selector.to_str().unwrap()]);
    assert_eq!(code, Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(
        lines[0].starts_with(&format!("\"{}\": spec.version: has a zero-prefixed component", bad_version.display())),
        "{stderr}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "\"{}\": spec.platforms[0].selector: matches no supported os/arch",
            bad_selector.display()
        )),
        "{stderr}"
    );
    for usage in [&[][..], &["--archive", "a.tar.gz"], &[&cleaner, "--platform", "linux"], &[&cleaner, "--bogus"]] {
        assert_eq!(validate(usage).0, Some(2), "{usage:?}");
    }
    // An archive that is not the one the manifest names: refused.
    let archive = dir.path().join("a.tar.gz");
    std::fs::write(&archive, b"\x1f\x8b\x08not really").unwrap();
    let (code, _, stderr) = validate(&[&cleaner, "--archive", archive.to_str().unwrap(), "--platform", "linux/amd64"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("spec.platforms[2]: archive") && stderr.contains("sha256 of the archive is"), "{stderr}");
}
