//! Issue 22, deliverable 9: remote bases in the sidecar image. kustomize
//! fetches a remote base with git (kustomize api/internal/git/cloner.go:
//! init, fetch --depth=1, checkout, submodule update), so the image carries
//! Debian's git, what `git submodule` (a shell script in git 2.39) calls,
//! and Debian's CA bundle for https remotes.

use crate::harness::{Source, Workspace, text};

const IMAGE: &str = "gpuops/argocd-gpuops-cmp:test";

/// A remote base served over git's smart HTTP on this machine's loopback
/// renders in the container (uid 999, read-only root, its own /tmp) byte
/// for byte as on the host.
#[test]
fn the_sidecar_image_renders_a_remote_base_over_git() {
    gpuops_testkit::build_image("plugins/argocd-cmp/build-image.sh", IMAGE);
    let ws = Workspace::new();
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("remote");
    std::fs::create_dir_all(remote.join("plain")).unwrap();
    std::fs::write(remote.join("plain/cm.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: from-remote}\n")
        .unwrap();
    std::fs::write(remote.join("plain/kustomization.yaml"), "resources: [cm.yaml]\n").unwrap();
    gpuops_testkit::git(&remote, &["init", "-q", "-b", "main"]);
    gpuops_testkit::git(&remote, &["add", "."]);
    gpuops_testkit::git(&remote, &["commit", "-q", "-m", "remote base"]);
    let served = tmp.path().join("served");
    std::fs::create_dir(&served).unwrap();
    gpuops_testkit::git(&served, &["clone", "-q", "--bare", remote.to_str().unwrap(), "remote.git"]);
    let port = crate::guard::git_http::serve(&served);
    let path = "apps/remote";
    ws.write(
        &format!("{path}/kustomization.yaml"),
        &format!("resources:\n- http://127.0.0.1:{port}/remote.git//plain?ref=main\n"),
    );
    let host = ws.generate(&Source::at(path));
    assert_eq!(host.status.code(), Some(0), "{}", text(&host.stderr));
    assert!(text(&host.stdout).contains("name: from-remote"));
    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--user", "999", "--network", "host", "--tmpfs", "/tmp", "--read-only"])
        .arg("-v")
        .arg(format!("{}:/tmp/_cmp_server/app:ro", ws.root.display()))
        .args(["-w", &format!("/tmp/_cmp_server/app/{path}")])
        .args(["-e", &format!("ARGOCD_APP_SOURCE_PATH={path}")])
        .args([IMAGE, "generate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), text(&host.stdout), "the container renders the remote base as the host does");
    // Debian's CA bundle is where git's libcurl (GIT_SSL_CAINFO) reads it.
    let ca = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "none", "--entrypoint", "/bin/sh", IMAGE, "-c"])
        .arg("test -s \"$GIT_SSL_CAINFO\" && git --version")
        .output()
        .unwrap();
    assert!(ca.status.success(), "{}", text(&ca.stderr));
}
