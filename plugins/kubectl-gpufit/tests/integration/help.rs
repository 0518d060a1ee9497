//! Issue 19, deliverable 7: `--help` of every subcommand and every message
//! of a usage error or a bad input, as reviewed snapshots: a wording change
//! is a reviewed change. Each entry is the command line, its exit code and
//! what it printed.

use std::process::Output;

use std::path::Path;

use crate::util::{gpufit, gpufit_env, gpufit_with_stdin, repo_root, text};

fn snapshots() -> std::path::PathBuf {
    repo_root().join("plugins/kubectl-gpufit/tests/integration/snapshots")
}

fn entry(args: &[&str], out: &Output) -> String {
    gpuops_testkit::snapshot::entry(&format!("kubectl-gpufit {}", args.join(" ")), out)
}

#[test]
fn help_of_every_subcommand() {
    let mut all = String::new();
    for args in [
        &["--help"][..],
        &["check", "--help"],
        &["nodes", "--help"],
        &["model", "--help"],
        &["local", "--help"],
        &["completion", "--help"],
        &["help", "check"],
    ] {
        let out = gpufit(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        all.push_str(&entry(args, &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "gpufit-help", all);
}

/// Mistakes on the command line: exit 2, nothing on stdout. (No
/// arguments at all print the help, exit 0: input.rs.)
#[test]
fn usage_errors() {
    let mut all = String::new();
    for args in [
        &["fit"][..],
        &["check", "-o", "xml", "--nodes", "8xL4", "-f", "-"],
        &["check", "--cluster-file", "c.yaml", "--nodes", "8xL4", "-f", "-"],
        &["check", "--node-label", "gpu", "--nodes", "8xL4", "-f", "-"],
        &["check", "--node-taint", "gpu=yes:Sometimes", "--nodes", "8xL4", "-f", "-"],
        &["check", "--node-label", "a=b", "-f", "-"],
        &["check", "-l", "app in (a", "--nodes", "8xL4", "-f", "-"],
        &["check", "--kube-version", "latest", "--nodes", "8xL4", "-f", "-"],
        &["check", "--kube-version", "1.30", "--nodes", "8xL4", "-f", "-"],
        &["check", "-k", "overlays/prod", "-R", "--nodes", "8xL4"],
        &["check", "--request-timeout", "soon", "-f", "-"],
        &["check", "--chunk-size", "0", "-f", "-"],
        &["model", "Qwen/Qwen2.5-7B-Instruct"],
        &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L4", "--tp", "0"],
        &["model", "Qwen/Qwen2.5-7B-Instruct", "--mig", "1g.10gb"],
        &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L4", "--gpu-memory-utilization", "2"],
        &["completion", "tcsh"],
    ] {
        let out = gpufit(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}");
        all.push_str(&entry(args, &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "gpufit-usage-errors", all);
}

/// Inputs that cannot be read: files, pools, manifests, models and GPUs.
#[test]
fn input_errors() {
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n      - {name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}\n";
    let dir = tempfile::tempdir().unwrap();
    let not_a_dump = dir.path().join("cluster.yaml");
    std::fs::write(&not_a_dump, "this: is not a node dump\n").unwrap();
    let not_yaml = dir.path().join("notes.yaml");
    std::fs::write(&not_yaml, "# Cluster\n\nnodes: [a, b\n").unwrap();
    let (not_a_dump, not_yaml) = (not_a_dump.to_str().unwrap(), not_yaml.to_str().unwrap());
    let cases: [(&[&str], &str); 11] = [
        (&["check", "-f", "no/such/file.yaml", "--nodes", "8xL4"], ""),
        (&["check", "-f", "-", "--nodes", "8xL4"], "kind: [unclosed\n"),
        (&["check", "-f", "-", "--nodes", "2*8xNoSuchGPU"], deployment),
        (&["check", "-f", "-", "--nodes", "0*8xL4"], deployment),
        (&["check", "-f", "-", "--cluster-file", "no/such/cluster.yaml"], deployment),
        (&["check", "-f", "-", "--cluster-file", not_yaml], deployment),
        (&["check", "-f", "-", "--cluster-file", not_a_dump], deployment),
        (
            &["check", "-f", "-", "--nodes", "8xL4"],
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  replicas: two\n  template:\n    spec:\n      containers:\n      - {name: c, image: i, resources: {limits: {nvidia.com/gpu: 1}}}\n",
        ),
        (&["nodes", "--cluster-file", "no/such/cluster.yaml"], ""),
        (&["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "NoSuchGPU"], ""),
        (&["model", "Qwen/Qwen2.5-7B-Instruct", "--model-config", "no/such/config.json", "--gpu", "L4"], ""),
    ];
    let mut all = String::new();
    for (args, stdin) in cases {
        let out = gpufit_with_stdin(args, stdin);
        assert!(matches!(out.status.code(), Some(2 | 3)), "{args:?}: {:?} {}", out.status, text(&out.stderr));
        assert!(!out.stderr.is_empty(), "{args:?}: the reason is on stderr");
        all.push_str(&entry(args, &out));
        if !stdin.is_empty() {
            all.push_str(&format!("(stdin:)\n{stdin}\n"));
        }
    }
    // A model the catalog does not know, with the hub out of reach (as
    // HF_HUB_OFFLINE says): the message says how to pass its config instead.
    let args = ["model", "no-such-org/no-such-model", "--gpu", "L4"];
    let out = gpufit_env(&args, &[("HF_HUB_OFFLINE", Path::new("1"))]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    all.push_str(&entry(&args, &out));
    all.push_str("(with HF_HUB_OFFLINE=1)\n");
    gpuops_testkit::assert_reviewed!(snapshots(), "gpufit-input-errors", all);
}
