//! Benchmark for kubectl-modelbump (issue 3's performance targets). Prints
//! numbers; run with `scripts/bench.sh modelbump`.
//!
//! A repository of 1,000 YAML files holding 200 references to 50 policies,
//! over 50 repositories of 2,000 tags each on a local docker-registry:
//! - walk + reference discovery alone (target < 0.3 s),
//! - a full `kubectl-modelbump scan` (target < 3 s),
//! - the same scan with `--concurrency 1`, for the speed-up;
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

fn write_tree(root: &Path, host: &str) {
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
    for f in 0..FILES - 1 {
        let dir = root.join(format!("apps/team-{}", f % 40));
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
    write_tree(repo.path(), &registry.host());

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
    let once = |bin: &Path, concurrency: &str, root: &Path| {
        let start = Instant::now();
        let out = Command::new(bin)
            .args(["scan", "--concurrency", concurrency, "-o", "json"])
            .arg(root)
            .output()
            .expect("run modelbump");
        let elapsed = start.elapsed();
        assert!(out.status.success(), "scan failed: {}", String::from_utf8_lossy(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        let items = json["items"].as_array().expect("items");
        assert_eq!(items.len(), REFERENCES);
        assert!(items.iter().all(|i| i["latest"] == "1.19.99"), "policy picks the newest 1.x");
        elapsed
    };
    // Median per binary over `rounds` alternating rounds.
    let run = |concurrency: &str, root: &Path, rounds: usize| -> Vec<Duration> {
        let mut samples = vec![Vec::new(); binaries.len()];
        for _ in 0..rounds {
            for (i, (_, bin)) in binaries.iter().enumerate() {
                samples[i].push(once(bin, concurrency, root));
            }
        }
        samples.into_iter().map(median).collect()
    };
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

    // A remote registry answers in tens of milliseconds, not one: the same
    // scan through a proxy adding 50 ms to every request.
    let proxy = gpuops_testkit::Proxy::start(registry.port(), gpuops_testkit::Fault::Slow(Duration::from_millis(50)));
    let remote = tempfile::tempdir().expect("tempdir");
    write_tree(remote.path(), &proxy.host());
    side_by_side("with 50 ms per request, concurrency 8:", &run("8", remote.path(), 3));
    side_by_side("with 50 ms per request, concurrency 1:", &run("1", remote.path(), 3));
}
