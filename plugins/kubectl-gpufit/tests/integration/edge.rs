//! `model` at the edge of vLLM's limits: where the margin that decides the
//! verdict is inside the model's own error (`MemoryFit::edge`), the answer
//! says so instead of a confident "fits" / "does not fit". Qwen2.5-7B on an
//! RTX 3090 at vLLM 0.17.1 with 8,192 tokens is the calibration's pair of
//! logs with both outcomes at utilization 0.65 (TheBuccaneer's 16:19 start
//! and 16:23 refusal).

use serde_json::Value;

use crate::util::{gpufit, gpufit_with_stdin, repo_root, text};

const BASE: &[&str] = &[
    "model",
    "Qwen/Qwen2.5-7B-Instruct",
    "--gpu",
    "RTX-3090",
    "--gpu-memory",
    "23.54GiB",
    "--max-model-len",
    "8192",
    "--engine",
    "0.17.1",
];

fn at(utilization: &str, more: &[&'static str]) -> Vec<String> {
    let mut args: Vec<String> = BASE.iter().map(|a| a.to_string()).collect();
    args.extend(["--gpu-memory-utilization".to_string(), utilization.to_string()]);
    args.extend(more.iter().map(|a| a.to_string()));
    args
}

fn run(args: &[String]) -> std::process::Output {
    gpufit(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The exit code stays the model's verdict (0 fits, 1 does not); the
/// verdict line names the limit, the margin and the error, and a start at
/// the edge warns on stderr. Past the error the answer is plain again.
/// A reviewed snapshot of the three answers.
#[test]
fn a_verdict_inside_the_models_error_says_it_is_at_the_edge() {
    let mut all = String::new();
    for (utilization, code, edge) in [("0.65", 1, true), ("0.66", 0, true), ("0.70", 0, false)] {
        let args = at(utilization, &[]);
        let out = run(&args);
        let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(code), "{utilization}: {stdout}{stderr}");
        let verdict = stdout.lines().find(|l| l.starts_with("verdict:")).unwrap_or_else(|| panic!("{stdout}"));
        assert_eq!(verdict.contains("at the edge"), edge, "{utilization}: {verdict}");
        assert_eq!(stderr.starts_with("warning: fits, at the edge: "), edge && code == 0, "{utilization}: {stderr}");
        all.push_str(&gpuops_testkit::snapshot::entry(&format!("kubectl-gpufit {}", args.join(" ")), &out));
    }
    gpuops_testkit::assert_reviewed!(
        repo_root().join("plugins/kubectl-gpufit/tests/integration/snapshots"),
        "gpufit-model-edge",
        all
    );
}

/// `-o json` carries the edge as a typed object: which limit, the margin
/// (room left, negative when short) and the error it is inside.
#[test]
fn the_json_names_the_limit_the_margin_and_the_error() {
    let out = run(&at("0.66", &["-o", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let edge = &json["edge"];
    assert_eq!((json["fits"].as_bool(), edge["limit"].as_str()), (Some(true), Some("maxModelLen")), "{json}");
    let (margin, error) = (edge["marginGib"].as_f64().unwrap(), edge["uncertaintyGib"].as_f64().unwrap());
    assert!(margin > 0.0 && margin < error, "{edge}");
    assert!(text(&out.stderr).starts_with("warning: fits, at the edge: "), "{}", text(&out.stderr));
    let refused: Value = serde_json::from_slice(&run(&at("0.65", &["-o", "json"])).stdout).unwrap();
    assert!(refused["fits"] == false && refused["edge"]["marginGib"].as_f64().unwrap() < 0.0, "{refused}");
    let plain: Value = serde_json::from_slice(&run(&at("0.70", &["-o", "json"])).stdout).unwrap();
    assert!(plain.get("edge").is_none(), "a confident verdict has no edge: {plain}");
}

/// The same Qwen2.5-7B pod on one RTX 3090 as a Deployment, `--max-model-len
/// 8192` at `utilization`.
fn deployment(utilization: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: qwen, namespace: llm}}\nspec:\n  strategy: {{type: Recreate}}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.17.1\n        args: [--model, Qwen/Qwen2.5-7B-Instruct, --max-model-len, '8192', --gpu-memory-utilization, '{utilization}']\n        resources: {{limits: {{nvidia.com/gpu: '1'}}}}\n"
    )
}

/// `check`'s memory column at the edge reads neither `ok` nor `no`: a user
/// scanning the table books GPUs on `ok`. It says `edge:` and how far the
/// start is from the limit, the way the model leans; the warning under
/// the table says which limit and the error. The exit code stays the
/// model's (as `model`'s), and past the error the cell is `ok` again.
/// A reviewed snapshot of the answers, `-o wide` included.
#[test]
fn check_does_not_say_ok_or_no_at_the_edge() {
    let mut all = String::new();
    for (utilization, code, cell, wide) in [
        ("0.64", 1, "edge: ", false),
        ("0.66", 0, "edge: ", false),
        ("0.66", 0, "edge: ", true),
        ("0.70", 0, "ok: ", false),
    ] {
        let mut args = vec!["check", "-f", "-", "--nodes", "1*1xRTX-3090"];
        if wide {
            args.extend(["-o", "wide"]);
        }
        let out = gpufit_with_stdin(&args, &deployment(utilization));
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{utilization}: {stdout}{}", text(&out.stderr));
        let row = stdout.lines().nth(1).unwrap_or_else(|| panic!("{stdout}"));
        let memory = row
            .split("   ")
            .map(str::trim)
            .find(|c| c.starts_with("ok") || c.starts_with("no") || c.starts_with("edge"));
        let memory = memory.unwrap_or_else(|| panic!("{utilization}: no memory cell in {row}"));
        assert!(memory.starts_with(cell), "{utilization}: {row}");
        let edge = cell == "edge: ";
        if edge {
            let way = if code == 0 { " GiB spare" } else { " GiB short" };
            assert!(memory.ends_with(way), "{utilization}: {memory}");
        }
        let warning =
            if code == 0 { "  warning: fits, at the edge: " } else { "  warning: does not fit, at the edge: " };
        assert_eq!(stdout.contains(warning), edge, "{utilization}: {stdout}");
        let label = format!(
            "kubectl-gpufit {} <<< Qwen2.5-7B-Instruct, vLLM 0.17.1, --max-model-len 8192 --gpu-memory-utilization {utilization}",
            args.join(" ")
        );
        all.push_str(&gpuops_testkit::snapshot::entry(&label, &out));
    }
    gpuops_testkit::assert_reviewed!(
        repo_root().join("plugins/kubectl-gpufit/tests/integration/snapshots"),
        "gpufit-check-edge",
        all
    );
    // `-o json` carries the edge already, unrenamed: `memory.fit.edge`.
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xRTX-3090", "-o", "json"], &deployment("0.66"));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let memory = &json["workloads"][0]["memory"];
    assert_eq!(
        (memory["status"].as_str(), memory["fit"]["edge"]["limit"].as_str()),
        (Some("fits"), Some("maxModelLen")),
        "{json}"
    );
}
