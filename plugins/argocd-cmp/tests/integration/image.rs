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

/// Zombies (state Z) in the container, from /proc, read with the image's
/// own shell (dash builtins only: the image has no ps).
fn zombies(container: &str) -> Vec<String> {
    let out = std::process::Command::new("docker")
        .args(["exec", container, "/bin/sh", "-c"])
        .arg("for f in /proc/[0-9]*/stat; do read -r l < \"$f\" && echo \"$l\"; done 2>/dev/null")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    // pid (comm) state …: the state follows the last ')'.
    text(&out.stdout)
        .lines()
        .filter(|l| l.rsplit_once(") ").is_some_and(|(_, rest)| rest.starts_with('Z')))
        .map(str::to_string)
        .collect()
}

/// Issue 22, deliverable 1: when Argo CD kills a render at the deadline
/// (cmpserver/plugin/plugin.go: SIGKILL to the plugin, SIGTERM then
/// SIGKILL to its group), the render's processes die with their parent
/// gone, so the kernel hands them to PID 1. argocd-cmp-server, the
/// container's command in argo-cd's install, never waits for them (argo-cd
/// #29349): they stay zombies. The image's tini, PID 1 in the install
/// overlay, reaps them. The stand-in server here is a shell that orphans a
/// child the same way (its parent exits first) and then blocks, as the
/// server does, without waiting; without tini the zombie stays, which is
/// what this test would catch.
#[test]
fn tini_reaps_what_a_killed_render_leaves_to_pid_1() {
    gpuops_testkit::build_image("plugins/argocd-cmp/build-image.sh", IMAGE);
    // `( child & )`: the subshell exits at once, so `child` (a busy loop of
    // some tens of milliseconds) is an orphan handed to PID 1; the server
    // then execs a shell that blocks in `read` on the open stdin (docker
    // -i) and, like argocd-cmp-server, never waits for children it did not
    // start.
    let server = "( /bin/sh -c 'i=0; while [ $i -lt 30000 ]; do i=$((i+1)); done' & ); exec /bin/sh -c 'read -r line'";
    let run = |entrypoint: &[&str]| {
        let name = format!("gpuops-reap-{}-{}", std::process::id(), entrypoint.len());
        let out = std::process::Command::new("docker")
            .args(["run", "-d", "-i", "--rm", "--name", &name, "--user", "999", "--network", "none", "--read-only"])
            .args(["--entrypoint", entrypoint[0], IMAGE])
            .args(&entrypoint[1..])
            .args(["/bin/sh", "-c", server])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        // The orphans exit within milliseconds; give them a second.
        std::thread::sleep(std::time::Duration::from_secs(1));
        let found = zombies(&name);
        let _ = std::process::Command::new("docker").args(["rm", "-f", &name]).output();
        found
    };
    // The image's tini as the install overlay runs it: nothing left.
    assert_eq!(run(&["/usr/bin/tini", "-g", "--"]), Vec::<String>::new(), "tini left zombies");
    // The same server as PID 1 itself (argo-cd's own install): both stay.
    let without = run(&["/bin/sh", "-c", "exec \"$@\"", "server"]);
    assert_eq!(without.len(), 1, "the contrast: a PID 1 that does not reap keeps the orphan as a zombie: {without:?}");
}
