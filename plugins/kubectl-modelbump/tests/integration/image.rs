//! The image the example CronJob runs, through the real docker engine.

use crate::util::{Repo, seeded_registry, text};

/// The CronJob of examples/flux-oci-models, run as the cluster would run
/// it: its own script, in the image built by build-image.sh, as uid 65534
/// with a read-only root filesystem and an emptyDir at /work — against a
/// local git remote and the local registry. The pushed commit is checked.
#[test]
fn the_cronjob_image_clones_bumps_commits_and_pushes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let image = "gpuops/modelbump:test";
    gpuops_testkit::build_image("plugins/kubectl-modelbump/build-image.sh", image);

    // The example's CronJob script, exactly.
    let cronjob =
        std::fs::read_to_string(root.join("examples/flux-oci-models/automation/modelbump-cronjob.yaml")).unwrap();
    let doc = gpuops_manifest::yaml::parse_stream(&cronjob, "modelbump-cronjob.yaml").unwrap().remove(0).value;
    let container = &doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0];
    let command: Vec<String> =
        container["command"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    assert_eq!(command[..2], ["/bin/sh", "-ec"]);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);

    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let remote = tempfile::tempdir().unwrap();
    let bare = remote.path().join("gitops.git");
    gpuops_testkit::git(
        remote.path(),
        &["clone", "--quiet", "--bare", repo.path().to_str().unwrap(), bare.to_str().unwrap()],
    );
    // The job runs as nobody; the remote must be its to push to.
    let chown = std::process::Command::new("chown").args(["-R", "65534:65534"]).arg(remote.path()).status().unwrap();
    assert!(chown.success(), "chown the remote to 65534 (tests run as root)");

    let out = std::process::Command::new("docker")
        .args(["run", "--rm", "--network", "host", "--user", "65534:65534", "--read-only"])
        .args(["--tmpfs", "/work:uid=65534,gid=65534", "--tmpfs", "/tmp"])
        .arg("-v")
        .arg(format!("{}:/remote", remote.path().display()))
        .args(["-e", "GIT_URL=file:///remote/gitops.git", "-e", "HOME=/work"])
        .args(["--entrypoint", &command[0], image, &command[1], &command[2]])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    // The remote now belongs to 65534: read it as root with git's consent.
    let log = gpuops_testkit::git(&bare, &["-c", "safe.directory=*", "log", "-1", "--format=%an <%ae>%n%B", "main"]);
    assert!(
        log.starts_with(
            "gpuops modelbump <modelbump@gpuops.dev>\nUpdate GPU model to newest allowed tag (1 change(s))"
        ),
        "{log}"
    );
    let file =
        gpuops_testkit::git(&bare, &["-c", "safe.directory=*", "show", "main:apps/foundry-gpu-oras/helmrelease.yaml"]);
    assert!(file.contains("tag: v2.0.0 # {\"$imagepolicy\""), "{file}");
}
