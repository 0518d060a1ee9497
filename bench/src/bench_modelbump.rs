//! Benchmark for kubectl-modelbump (issue 3's performance targets). Prints
//! numbers; run with `scripts/bench.sh modelbump`.
//!
//! A repository of 1,000 YAML files holding 200 references to 50 policies,
//! over 50 repositories of 2,000 tags each on a local docker-registry:
//! - walk + reference discovery alone (target < 0.3 s),
//! - a full `kubectl-modelbump scan` (target < 3 s),
//! - the same scan with `--concurrency 1`, for the speed-up;
//! - the same tree under 1 and under 10 ImageUpdateAutomations (each
//!   with its own `spec.update.path`), `scan` and `apply --dry-run`
//!   (issue 23 target: 10 automations <= 1.5x one);
//! - with a PEER binary (an earlier build), each figure for both, in
//!   alternating rounds: `bench-modelbump BINARY PEER [ROUNDS]`.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use gpuops_testkit::{Registry, push_model_tags, seeding_client};

const FILES: usize = 1000;
const REPOSITORIES: usize = 50;
const REFERENCES: usize = 200;
const TAGS: usize = 2000;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The tree's groups of teams when it has automations: automation `g` of
/// 10 updates `apps/group-g` (one automation: all of `apps`).
const GROUPS: usize = 10;

/// `automations` = 0: no ImageUpdateAutomation, teams under `apps/`;
/// otherwise teams under `apps/group-G/` and that many automations in
/// flux-system (one: path ./apps; ten: one per group).
fn write_tree(root: &Path, host: &str, automations: usize) {
    let mut policies = String::new();
    for r in 0..REPOSITORIES {
        write!(
            policies,
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata:\n  name: model-{r}\n  namespace: flux-system\nspec:\n  image: {host}/models/model-{r}\n  interval: 5m\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata:\n  name: model-{r}\n  namespace: flux-system\nspec:\n  imageRepositoryRef:\n    name: model-{r}\n  policy:\n    semver:\n      range: '>=1.0.0 <2.0.0'\n"
        )
        .expect("write");
    }
    std::fs::create_dir_all(root.join("flux")).expect("mkdir");
    std::fs::write(root.join("flux/policies.yaml"), policies).expect("write");
    let mut objects = String::new();
    for a in 0..automations {
        let path = if automations == 1 { "./apps".to_string() } else { format!("./apps/group-{a}") };
        write!(
            objects,
            "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: models-{a}\n  namespace: flux-system\nspec:\n  interval: 5m\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  git:\n    commit:\n      author:\n        name: fluxcdbot\n        email: fluxcdbot@users.noreply.github.com\n      messageTemplate: 'bump {{{{ range .Changed.Changes }}}}{{{{ .NewValue }}}} {{{{ end }}}}'\n  update:\n    path: {path}\n    strategy: Setters\n"
        )
        .expect("write");
    }
    if automations > 0 {
        std::fs::write(root.join("flux/automations.yaml"), objects).expect("write");
    }
    // FILES in all, with flux/policies.yaml (automations.yaml is not counted).
    for f in 0..FILES - 1 {
        let team = f % 40;
        let dir = if automations == 0 {
            root.join(format!("apps/team-{team}"))
        } else {
            root.join(format!("apps/group-{}/team-{team}", team % GROUPS))
        };
        std::fs::create_dir_all(&dir).expect("mkdir");
        let marker = if f < REFERENCES {
            let r = f % REPOSITORIES;
            format!(
                "          image: {host}/models/model-{r}:1.0.0 # {{\"$imagepolicy\": \"flux-system:model-{r}\"}}\n"
            )
        } else {
            "          image: registry.example.com/tools/proxy:1.2.3\n".to_string()
        };
        let text = format!(
            "# app {f}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{f}\n  labels:\n    app: app-{f}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app-{f}\n  template:\n    metadata:\n      labels:\n        app: app-{f}\n    spec:\n      containers:\n        - name: main\n{marker}          args: [--port=8080]\n          resources:\n            limits:\n              nvidia.com/gpu: 1\n"
        );
        std::fs::write(dir.join(format!("app-{f}.yaml")), text).expect("write");
    }
}

fn main() {
    // bench-modelbump [BINARY [PEER [ROUNDS]]]: PEER, an earlier build, is
    // timed in the same rounds, alternating.
    let binary =
        std::env::args().nth(1).map_or_else(|| PathBuf::from("target/release/kubectl-modelbump"), PathBuf::from);
    let peer = std::env::args().nth(2).map(PathBuf::from);
    let rounds: usize = std::env::args().nth(3).map_or(3, |r| r.parse().expect("ROUNDS is a number"));
    assert!(binary.exists(), "{} missing: cargo build --release -p kubectl-modelbump", binary.display());
    let registry = Registry::start();
    let client = seeding_client();
    let seed_start = Instant::now();
    let tags: Vec<String> = (1..TAGS).map(|i| format!("1.{}.{}", i / 100, i % 100)).collect();
    for r in 0..REPOSITORIES {
        let repository = format!("models/model-{r}");
        push_model_tags(&client, &format!("{}/{repository}", registry.host()), &["1.0.0"]);
        registry.clone_tags(&repository, "1.0.0", &tags);
    }
    let listed = client.list_tags(&format!("{}/models/model-0", registry.host())).expect("list");
    assert_eq!(listed.len(), TAGS, "seeded tags visible through the API");
    println!("seeded {REPOSITORIES} repositories x {TAGS} tags in {:.1} s", seed_start.elapsed().as_secs_f64());

    let repo = tempfile::tempdir().expect("tempdir");
    write_tree(repo.path(), &registry.host(), 0);

    let walk: Vec<Duration> = (0..5)
        .map(|_| {
            let start = Instant::now();
            let scan = gpuops_gitops::scan_tree(repo.path()).expect("scan");
            assert_eq!(
                (scan.files_scanned, scan.references.len(), scan.policies.len()),
                (FILES, REFERENCES, REPOSITORIES)
            );
            start.elapsed()
        })
        .collect();
    println!(
        "walk + discovery: {FILES} files, {REFERENCES} references: median {:.0} ms (target < 300 ms)",
        median(walk).as_secs_f64() * 1000.0
    );

    // Ours and, when given, the peer (an earlier build), in alternating
    // rounds: this machine's speed drifts between minutes.
    let binaries: Vec<(&str, &Path)> =
        std::iter::once(("now", binary.as_path())).chain(peer.as_deref().map(|p| ("peer", p))).collect();
    let once = |bin: &Path, command: &str, concurrency: &str, root: &Path| {
        let start = Instant::now();
        let mut cmd = Command::new(bin);
        if command == "scan" {
            cmd.args(["scan", "-o", "json"]);
        } else {
            cmd.args(["apply", "--dry-run"]);
        }
        let out = cmd.args(["--concurrency", concurrency]).arg(root).output().expect("run modelbump");
        let elapsed = start.elapsed();
        assert!(out.status.success(), "{command} failed: {}", String::from_utf8_lossy(&out.stderr));
        if command == "scan" {
            let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
            let items = json["items"].as_array().expect("items");
            assert_eq!(items.len(), REFERENCES);
            assert!(items.iter().all(|i| i["latest"] == "1.19.99"), "policy picks the newest 1.x");
        } else {
            let diff = String::from_utf8_lossy(&out.stdout);
            assert_eq!(diff.matches("+          image: ").count(), REFERENCES, "every reference in the diff");
        }
        elapsed
    };
    // Median per binary over `rounds` alternating rounds.
    let run_command = |command: &str, concurrency: &str, root: &Path, rounds: usize| -> Vec<Duration> {
        let mut samples = vec![Vec::new(); binaries.len()];
        for _ in 0..rounds {
            for (i, (_, bin)) in binaries.iter().enumerate() {
                samples[i].push(once(bin, command, concurrency, root));
            }
        }
        samples.into_iter().map(median).collect()
    };
    let run = |concurrency: &str, root: &Path, rounds: usize| run_command("scan", concurrency, root, rounds);
    let side_by_side = |what: &str, medians: &[Duration]| {
        let cells: Vec<String> =
            binaries.iter().zip(medians).map(|((name, _), d)| format!("{name} {:.3} s", d.as_secs_f64())).collect();
        println!("{what:<44} {}", cells.join("   "));
    };
    let parallel = run("8", repo.path(), rounds);
    let serial = run("1", repo.path(), rounds);
    side_by_side("full scan, concurrency 8 (default), < 3 s:", &parallel);
    side_by_side("full scan, concurrency 1:", &serial);
    let speedups: Vec<String> = binaries
        .iter()
        .zip(parallel.iter().zip(&serial))
        .map(|((name, _), (p, s))| format!("{name} {:.2}x", s.as_secs_f64() / p.as_secs_f64()))
        .collect();
    println!("{:<44} {}", "speed-up of 8 over 1 (loopback registry):", speedups.join("   "));

    // Issue 23: the same references under 1 and under 10 automations.
    let one = tempfile::tempdir().expect("tempdir");
    write_tree(one.path(), &registry.host(), 1);
    let ten = tempfile::tempdir().expect("tempdir");
    write_tree(ten.path(), &registry.host(), GROUPS);
    // 1 and 10 alternate within each round too: drift hits both alike.
    for command in ["scan", "apply --dry-run"] {
        let mut samples = vec![(Vec::new(), Vec::new()); binaries.len()];
        for _ in 0..rounds {
            for (i, (_, bin)) in binaries.iter().enumerate() {
                samples[i].0.push(once(bin, command, "8", one.path()));
                samples[i].1.push(once(bin, command, "8", ten.path()));
            }
        }
        let (single, many): (Vec<Duration>, Vec<Duration>) =
            samples.into_iter().map(|(s, m)| (median(s), median(m))).unzip();
        side_by_side(&format!("{command}, 1 automation:"), &single);
        side_by_side(&format!("{command}, 10 automations:"), &many);
        let ratios: Vec<String> = binaries
            .iter()
            .zip(single.iter().zip(&many))
            .map(|((name, _), (s, m))| format!("{name} {:.2}x", m.as_secs_f64() / s.as_secs_f64()))
            .collect();
        println!("{:<44} {}", format!("{command}, 10 / 1 automations (<= 1.5x):"), ratios.join("   "));
    }

    // A remote registry answers in tens of milliseconds, not one: the same
    // scan through a proxy adding 50 ms to every request.
    let proxy = gpuops_testkit::Proxy::start(registry.port(), gpuops_testkit::Fault::Slow(Duration::from_millis(50)));
    let remote = tempfile::tempdir().expect("tempdir");
    write_tree(remote.path(), &proxy.host(), 0);
    side_by_side("with 50 ms per request, concurrency 8:", &run("8", remote.path(), 3));
    side_by_side("with 50 ms per request, concurrency 1:", &run("1", remote.path(), 3));
}
