//! .github/workflows/release.yml (issue 24: 5): its shape checked against
//! the krew templates — every platform a template lists is built by a job
//! on a runner of that OS and architecture, and nothing else is — the job
//! order (build → manifests → release → krew-release-bot), pinned actions,
//! `run:` scripts that take `${{ }}` values only through `env:`; and the
//! linux amd64 build job's `run:` steps run here for real, followed by the
//! manifests job's step, which must refuse the release while the other
//! platforms' archives are missing. Linux releases are static musl builds
//! (issue 24: 5), packed from the one static build the images share. actionlint is not installable on these
//! machines (its PyPI package downloads the binary at install time), so
//! these checks stand in for it; the `run:` scripts were shellchecked.
#![allow(clippy::disallowed_methods)] // the harness reads its own environment (cargo's variables)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn workflow() -> Value {
    let text = std::fs::read_to_string(repo().join(".github/workflows/release.yml")).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// (os, arch, rust target) of every platform in a krew template, read from
/// its selector lines and its `addURIAndSha` archive name; and the `bin`.
fn template_platforms(name: &str) -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(repo().join(format!("krew-manifests/{name}.yaml"))).unwrap();
    let (mut os, mut arch, mut target) = (String::new(), String::new(), String::new());
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(v) = line.strip_prefix("os: ") {
            os = v.to_string();
        } else if let Some(v) = line.strip_prefix("arch: ") {
            arch = v.to_string();
        } else if line.contains("addURIAndSha") {
            let file = line.split('"').nth(1).unwrap().rsplit('/').next().unwrap();
            let rest = file.split("{{ .TagName }}-").nth(1).unwrap();
            target = rest.trim_end_matches(".tar.gz").trim_end_matches(".zip").to_string();
            assert_eq!(file.ends_with(".zip"), os == "windows", "{name}: {file}: .zip exactly for windows");
        } else if let Some(bin) = line.strip_prefix("bin: ") {
            assert_eq!(bin, format!("kubectl-{name}{}", if os == "windows" { ".exe" } else { "" }));
            out.push((os.clone(), arch.clone(), target.clone(), bin.to_string()));
        }
    }
    out
}

fn build_matrix(wf: &Value) -> Vec<&Value> {
    wf["jobs"]["build"]["strategy"]["matrix"]["include"].as_array().unwrap().iter().collect()
}

/// GitHub-hosted runner labels with their OS and architecture (GitHub's
/// "GitHub-hosted runners" reference: standard runners).
const RUNNERS: &[(&str, &str, &str)] = &[
    ("ubuntu-24.04", "linux", "amd64"),
    ("ubuntu-24.04-arm", "linux", "arm64"),
    ("macos-15-intel", "darwin", "amd64"),
    ("macos-15", "darwin", "arm64"),
    ("windows-2025", "windows", "amd64"),
];

#[test]
fn the_build_matrix_is_exactly_the_templates_platforms_on_their_own_runners() {
    let wf = workflow();
    let built: BTreeSet<(String, String, String)> = build_matrix(&wf)
        .iter()
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap().to_string();
            let runner = RUNNERS.iter().find(|r| r.0 == s("runner")).unwrap_or_else(|| panic!("unknown runner {m}"));
            assert_eq!((runner.1, runner.2), (s("os").as_str(), s("arch").as_str()), "{m}: runs on its own OS/arch");
            (s("os"), s("arch"), s("target"))
        })
        .collect();
    assert_eq!(wf["jobs"]["build"]["runs-on"], "${{ matrix.runner }}");
    for name in ["gpufit", "modelbump"] {
        let listed: BTreeSet<(String, String, String)> =
            template_platforms(name).into_iter().map(|(o, a, t, _)| (o, a, t)).collect();
        assert_eq!(listed, built, "krew-manifests/{name}.yaml lists exactly what the workflow builds");
    }
    assert_eq!(built.len(), 5);
    // Linux archives carry static musl binaries, built on their own
    // architecture (scripts/static-packages.sh: `<arch>-unknown-linux-musl`).
    for (os, arch, target) in &built {
        if os == "linux" {
            let machine = if arch == "amd64" { "x86_64" } else { "aarch64" };
            assert_eq!(target, &format!("{machine}-unknown-linux-musl"), "{os}/{arch}");
        }
    }
}

#[test]
fn jobs_run_in_order_with_least_permissions_and_pinned_actions() {
    let wf = workflow();
    assert_eq!(wf["on"]["push"]["tags"][0], "v*.*.*");
    assert_eq!(wf["permissions"], serde_json::json!({"contents": "read"}));
    let jobs = wf["jobs"].as_object().unwrap();
    assert_eq!(jobs.keys().collect::<Vec<_>>(), ["build", "manifests", "release", "krew"]);
    for (job, needs) in [("manifests", "build"), ("release", "manifests"), ("krew", "release")] {
        assert_eq!(jobs[job]["needs"], needs, "{job} needs {needs}");
    }
    for (name, job) in jobs {
        let write = job["permissions"]["contents"] == "write";
        assert_eq!(write, name == "release", "{name}: only the release job writes");
        for step in job["steps"].as_array().unwrap() {
            if let Some(uses) = step["uses"].as_str() {
                let (action, version) = uses.split_once('@').unwrap_or_else(|| panic!("{name}: {uses} unpinned"));
                assert!(
                    [
                        "actions/checkout",
                        "actions/upload-artifact",
                        "actions/download-artifact",
                        "dtolnay/rust-toolchain",
                        "rajatjindal/krew-release-bot"
                    ]
                    .contains(&action),
                    "{name}: {uses}"
                );
                assert!(version.starts_with('v') || version == "stable", "{name}: {uses}");
            }
            if let Some(run) = step["run"].as_str() {
                // Values reach scripts through env: only (no expression
                // expanded into shell text), and in bash on every runner.
                assert!(!run.contains("${{"), "{name}: {run}");
                assert_eq!(step["shell"], "bash", "{name}: {run}");
            }
            if let Some(env) = step["env"].as_object() {
                assert!(env.keys().all(|k| k.chars().all(|c| c.is_ascii_uppercase() || c == '_')), "{name}: {env:?}");
            }
        }
    }
    let plugins: BTreeSet<String> = jobs["krew"]["strategy"]["matrix"]["plugin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_string())
        .collect();
    let templates: BTreeSet<String> = std::fs::read_dir(repo().join("krew-manifests"))
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().unwrap().strip_suffix(".yaml").map(String::from))
        .collect();
    assert_eq!(plugins, templates, "krew-release-bot runs once per template");
    let bot = &jobs["krew"]["steps"][1];
    assert_eq!(bot["with"]["krew_template_file"], "krew-manifests/${{ matrix.plugin }}.yaml");
}

/// `${{ github.ref_name }}` and `${{ matrix.KEY }}` as GitHub would expand
/// them in a step's `env:`.
fn expand(value: &str, tag: &str, matrix: &Value) -> String {
    let mut out = value.replace("${{ github.ref_name }}", tag);
    for (k, v) in matrix.as_object().unwrap() {
        out = out.replace(&format!("${{{{ matrix.{k} }}}}"), v.as_str().unwrap());
    }
    assert!(!out.contains("${{"), "unexpanded: {out}");
    out
}

/// A step's `if:` for this matrix entry: no condition, or the one form the
/// workflow uses, `matrix.KEY == 'VALUE'` (anything else fails the test
/// rather than being guessed).
fn step_runs(step: &Value, matrix: &Value) -> bool {
    let Some(cond) = step["if"].as_str() else { return true };
    let (key, value) = cond
        .strip_prefix("matrix.")
        .and_then(|c| c.split_once(" == "))
        .and_then(|(k, v)| Some((k, v.strip_prefix('\'')?.strip_suffix('\'')?)))
        .unwrap_or_else(|| panic!("if: {cond}: not of the form matrix.KEY == 'VALUE'"));
    matrix[key].as_str().unwrap_or_else(|| panic!("if: {cond}: no matrix.{key}")) == value
}

/// Run a job's `run:` steps in the repository with bash, as the runner
/// would, with RUNNER_TEMP given; `uses:` steps (checkout, toolchain,
/// artifacts) are this checkout and this machine's toolchain.
fn run_steps(job: &Value, matrix: &Value, tag: &str, runner_temp: &Path) -> Vec<std::process::Output> {
    let target_dir = Path::new(env!("CARGO_BIN_EXE_gpuops-dist")).parent().and_then(Path::parent).unwrap();
    let mut outputs = Vec::new();
    for step in job["steps"].as_array().unwrap() {
        let Some(run) = step["run"].as_str() else { continue };
        if !step_runs(step, matrix) {
            continue;
        }
        let mut cmd = Command::new("bash");
        cmd.args(["-e", "-c", run]).current_dir(repo());
        // Not the variables cargo sets for this test (scripts/dist.sh's
        // nested build would rebuild what tracks them; see tests/dist.rs).
        for (k, _) in std::env::vars_os() {
            let ours = |k: &str| k == "CARGO_HOME" || k.starts_with("CARGO_PROFILE_");
            if k.to_str().is_some_and(|k| k == "CARGO" || (k.starts_with("CARGO_") && !ours(k))) {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUNNER_TEMP", runner_temp).env("CARGO_TARGET_DIR", target_dir);
        cmd.env("GPUOPS_DIST", env!("CARGO_BIN_EXE_gpuops-dist"));
        for (k, v) in step["env"].as_object().into_iter().flatten() {
            cmd.env(k, expand(v.as_str().unwrap(), tag, matrix));
        }
        let out = cmd.output().unwrap();
        let failed = !out.status.success();
        outputs.push(out);
        if failed {
            break;
        }
    }
    outputs
}

#[test]
#[allow(clippy::print_stderr)]
fn the_linux_amd64_build_job_runs_here_and_the_manifests_job_refuses_a_partial_release() {
    let host = String::from_utf8(Command::new("rustc").arg("-vV").output().unwrap().stdout).unwrap();
    if !host.contains("host: x86_64-unknown-linux-") {
        eprintln!("skipped: the linux amd64 job runs on an x86_64 linux machine");
        return;
    }
    let wf = workflow();
    let matrix = build_matrix(&wf).into_iter().find(|m| m["target"] == "x86_64-unknown-linux-musl").unwrap().clone();
    let temp = tempfile::tempdir().unwrap();
    let tag = format!("v{}", env!("CARGO_PKG_VERSION"));
    let outs = run_steps(&wf["jobs"]["build"], &matrix, &tag, temp.path());
    assert_eq!(outs.len(), 4, "musl-gcc, build and pack, sbom, smoke test");
    for out in &outs {
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{text}");
    }
    assert!(String::from_utf8_lossy(&outs[3].stdout).contains("answer --help"));
    // What upload-artifact would take: the two archives of this platform
    // and their SBOMs.
    let dist = temp.path().join("dist");
    let mut archives: Vec<String> =
        std::fs::read_dir(&dist).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    archives.sort();
    assert_eq!(
        archives,
        [
            format!("kubectl-gpufit-{tag}-x86_64-unknown-linux-musl.spdx.json"),
            format!("kubectl-gpufit-{tag}-x86_64-unknown-linux-musl.tar.gz"),
            format!("kubectl-modelbump-{tag}-x86_64-unknown-linux-musl.spdx.json"),
            format!("kubectl-modelbump-{tag}-x86_64-unknown-linux-musl.tar.gz")
        ]
    );
    let sbom: Value = serde_json::from_str(
        &std::fs::read_to_string(dist.join(format!("kubectl-gpufit-{tag}-x86_64-unknown-linux-musl.spdx.json")))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(sbom["name"], format!("kubectl-gpufit-{}", env!("CARGO_PKG_VERSION")));
    // The manifests job with only this platform's archives: refused before
    // anything is published, naming what is missing (krew-release-bot
    // would fail on the first missing asset after the release).
    let outs = run_steps(&wf["jobs"]["manifests"], &Value::Object(Default::default()), &tag, temp.path());
    let out = outs.last().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "krew-manifests/modelbump.yaml lists archives not built: kubectl-modelbump-{tag}-aarch64-unknown-linux-musl.tar.gz, kubectl-modelbump-{tag}-x86_64-apple-darwin.tar.gz, kubectl-modelbump-{tag}-aarch64-apple-darwin.tar.gz, kubectl-modelbump-{tag}-x86_64-pc-windows-msvc.zip"
        )),
        "{stderr}"
    );
}
