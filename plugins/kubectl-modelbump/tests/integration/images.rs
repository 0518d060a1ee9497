//! The three images built by the one script family (issue 24: 7): each
//! runs as a non-root user with a read-only root filesystem (`docker run
//! --read-only --user 65534`, as the examples deploy them: the CronJob as
//! nobody, kustomize's function as nobody, the CMP sidecar as 999), and
//! each carries the SPDX 2.3 SBOM of its gpuops binaries at the path its
//! `dev.gpuops.sbom` label names, describing the package it was built from.

use std::process::{Command, Output};

use crate::util::text;

/// One image: build script, tag, SBOM packages, the arguments run in it,
/// their stdin.
type Image = (&'static str, &'static str, &'static [&'static str], &'static [&'static str], &'static str);

const IMAGES: &[Image] = &[
    (
        "krm-functions/gpuops-inject/build-image.sh",
        "gpuops-inject:images-test",
        &["gpuops-inject-function"],
        &[],
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n",
    ),
    (
        "plugins/argocd-cmp/build-image.sh",
        "gpuops/argocd-gpuops-cmp:images-test",
        &["argocd-gpuops-cmp", "gpuops-inject-function"],
        &["--help"],
        "",
    ),
    (
        "plugins/kubectl-modelbump/build-image.sh",
        "gpuops/modelbump:images-test",
        &["kubectl-modelbump"],
        &["--help"],
        "",
    ),
];

fn docker(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("docker")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A container that exits before reading its stdin closes the pipe; the
    // write then fails with a broken pipe, which is not the test's failure
    // (the output and exit status, checked by the caller, are).
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing docker's stdin: {e}");
    }
    child.wait_with_output().unwrap()
}

/// The one file at `path` in `image`, read with `docker cp` (the images
/// have no shell to cat it with).
fn file_in(image: &str, path: &str) -> String {
    let created = docker(&["create", image], "");
    assert!(created.status.success(), "{}", text(&created.stderr));
    let id = text(&created.stdout).trim().to_string();
    let out = docker(&["cp", &format!("{id}:{path}"), "-"], "");
    docker(&["rm", &id], "");
    assert!(out.status.success(), "{path}: {}", text(&out.stderr));
    // A tar stream of one regular file: a 512-byte ustar header (size in
    // octal at bytes 124..136), then the data.
    let tar = out.stdout;
    assert!(tar.len() > 512 && tar[156] == b'0', "{path}: one regular file");
    let size_field = String::from_utf8_lossy(&tar[124..136]);
    let size = usize::from_str_radix(size_field.trim_matches(|c: char| c == '\0' || c == ' '), 8).unwrap();
    String::from_utf8(tar[512..512 + size].to_vec()).unwrap()
}

#[test]
fn each_image_runs_as_nobody_read_only_and_carries_its_sbom() {
    for (script, tag, packages, args, stdin) in IMAGES {
        gpuops_testkit::build_image(script, tag);
        let user = text(&docker(&["image", "inspect", "-f", "{{.Config.User}}", tag], "").stdout).trim().to_string();
        assert!(!user.is_empty() && !["0", "root"].contains(&user.split(':').next().unwrap()), "{tag}: USER {user}");

        let mut run = vec!["run", "--rm", "-i", "--read-only", "--user", "65534", "--network", "none", *tag];
        run.extend_from_slice(args);
        let out = docker(&run, stdin);
        assert!(out.status.success(), "{tag}: {}{}", text(&out.stdout), text(&out.stderr));
        assert!(!out.stdout.is_empty(), "{tag}");

        let label =
            text(&docker(&["image", "inspect", "-f", "{{index .Config.Labels \"dev.gpuops.sbom\"}}", tag], "").stdout)
                .trim()
                .to_string();
        let paths: Vec<&str> = label.split(',').collect();
        assert_eq!(paths.len(), packages.len(), "{tag}: label {label}");
        for (path, package) in paths.iter().zip(packages.iter()) {
            assert_eq!(*path, format!("/usr/share/doc/gpuops/sbom/{package}.spdx.json"));
            let doc: serde_json::Value = serde_json::from_str(&file_in(tag, path)).unwrap();
            assert_eq!(doc["spdxVersion"], "SPDX-2.3", "{tag}: {path}");
            assert_eq!(doc["name"], format!("{package}-{}", env!("CARGO_PKG_VERSION")), "{tag}: {path}");
            let names: Vec<&str> =
                doc["packages"].as_array().unwrap().iter().filter_map(|p| p["name"].as_str()).collect();
            assert!(names.contains(package) && names.contains(&"gpuops-manifest"), "{tag}: {path}: {names:?}");
            assert!(!names.contains(&"gpuops-testkit"), "{tag}: {path}: a test-only crate is not in the binary");
        }
    }
}
