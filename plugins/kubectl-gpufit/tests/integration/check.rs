//! check, model, nodes and local on files, dumps and synthetic pools.

use crate::util::{assert_golden, gpufit, gpufit_with_stdin, repo_root, text};

const POOLS: &[(&str, &str)] = &[("dev", "2*4xL40S"), ("staging", "4*2xL4"), ("prod", "3*8xA100-40GB,5*1xT4")];

#[test]
fn multi_model_rl_overlays_against_their_pools() {
    for (env, pool) in POOLS {
        let out = gpufit(&["check", "-k", &format!("examples/multi-model-rl/overlays/{env}"), "--nodes", pool]);
        // Staging does not fit; dev and prod place everything, but the
        // vision judge (Qwen2.5-VL-32B) is not sized: unchecked, exit 3.
        let expected_code = if *env == "staging" { 1 } else { 3 };
        assert_eq!(out.status.code(), Some(expected_code), "{env}: {}", text(&out.stderr));
        assert_golden(&repo_root().join(format!("examples/multi-model-rl/expected/{env}.txt")), &text(&out.stdout));
    }
}

#[test]
fn staging_explains_why_in_the_schedulers_words() {
    let out = gpufit(&["check", "-k", "examples/multi-model-rl/overlays/staging", "--nodes", "4*2xL4", "-o", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["fits"], false);
    let judge = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == "InferenceService/zelda-rl-staging/vision-judge")
        .unwrap();
    // One L4 node is also short of memory once the other replicas are placed.
    assert_eq!(judge["message"], "0/4 nodes are available: 1 Insufficient memory, 4 Insufficient nvidia.com/gpu.");
    // Its weights alone overrun an L4 pair: no encoder term can make it fit.
    assert_eq!(judge["memory"]["status"], "does-not-fit");
    // At TP 4 it is not sized (its encoder's profile), so no TP is named.
    assert_eq!(judge["memory"]["smallestTp"], serde_json::Value::Null);
    let planner = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["workload"] == "InferenceService/zelda-rl-staging/dialog-planner")
        .unwrap();
    assert_eq!((planner["placed"].as_u64(), planner["fits"].as_bool()), (Some(2), Some(true)));
}

#[test]
fn gpu_scheduler_map_against_a_cluster_dump() {
    let out = gpufit(&[
        "check",
        "-f",
        "examples/gpu-scheduler-appset/rendered",
        "--cluster-file",
        "examples/gpu-scheduler-appset/cluster.yaml",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_golden(&repo_root().join("examples/gpu-scheduler-appset/expected/check.txt"), &text(&out.stdout));
    let out = gpufit(&["nodes", "--cluster-file", "examples/gpu-scheduler-appset/cluster.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_golden(&repo_root().join("examples/gpu-scheduler-appset/expected/nodes.txt"), &text(&out.stdout));

    // The same dump as `-o json` goes through the lean JSON reader: same answers.
    let yaml = std::fs::read_to_string(repo_root().join("examples/gpu-scheduler-appset/cluster.yaml")).unwrap();
    let value = gpuops_manifest::yaml::parse_stream(&yaml, "cluster.yaml").unwrap().remove(0).value;
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("cluster.json");
    std::fs::write(&json, serde_json::to_string(&value).unwrap()).unwrap();
    let out = gpufit(&["nodes", "--cluster-file", json.to_str().unwrap()]);
    assert_golden(&repo_root().join("examples/gpu-scheduler-appset/expected/nodes.txt"), &text(&out.stdout));
}

const DEPLOYMENT: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: llama-70b
  namespace: llm
spec:
  replicas: 1
  template:
    spec:
      containers:
      - name: vllm
        image: vllm/vllm-openai:v0.8.5
        args: [--model, meta-llama/Llama-3.1-70B-Instruct, --tensor-parallel-size, '8', --max-model-len, 32k]
        resources:
          limits:
            nvidia.com/gpu: 8
";

#[test]
fn rolling_update_that_needs_gpus_nobody_has_is_a_failure_unless_ignored() {
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*8xH100-80GB"], DEPLOYMENT);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("rollout: a rolling update starts 1 new pod(s) with 8 GPU(s) each before stopping old ones"),
        "{stdout}"
    );
    assert!(
        stdout.contains("fix: set spec.strategy.type: Recreate, or rollingUpdate maxSurge: 0 with maxUnavailable: 1"),
        "{stdout}"
    );

    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*8xH100-80GB", "--ignore-rollout"], DEPLOYMENT);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let recreate = DEPLOYMENT.replace("  replicas: 1\n", "  replicas: 1\n  strategy:\n    type: Recreate\n");
    assert_eq!(gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*8xH100-80GB"], &recreate).status.code(), Some(0));
    // Two nodes: the surge has somewhere to go.
    assert_eq!(gpufit_with_stdin(&["check", "-f", "-", "--nodes", "2*8xH100-80GB"], DEPLOYMENT).status.code(), Some(0));
}

#[test]
fn model_calculator() {
    let out = gpufit(&["model", "Qwen/Qwen2.5-32B-Instruct", "--gpu", "A100-40GB", "--tp", "2"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("verdict:      does not fit"), "{stdout}");
    assert!(stdout.contains("the estimated maximum model length is"), "{stdout}");
    assert!(stdout.contains("smallest TP that fits: 4"), "{stdout}");
    let out = gpufit(&["model", "Qwen2.5-0.5B", "--gpu", "L4", "--tp", "4", "-o", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["tpValid"], false);
    let out = gpufit(&["model", "mistral-7b", "--gpu", "L4"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("pass its config.json with --model-config FILE|DIR"), "{}", text(&out.stderr));
}

#[test]
fn models_outside_the_catalog_from_their_config_json_or_the_hub_cache() {
    // mistralai/Mistral-7B-Instruct-v0.3 config.json (architecture fields as published).
    let config = serde_json::json!({"architectures": ["MistralForCausalLM"], "model_type": "mistral", "hidden_size": 4096,
        "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "vocab_size": 32768, "max_position_embeddings": 32768, "tie_word_embeddings": false, "torch_dtype": "bfloat16"});
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.json");
    std::fs::write(&file, config.to_string()).unwrap();
    let out = gpufit(&[
        "model",
        "mistralai/Mistral-7B-Instruct-v0.3",
        "--gpu",
        "L4",
        "--model-config",
        file.to_str().unwrap(),
        "-o",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    // 7.25B bf16 = 13.5 GiB of weights.
    assert!((json["weightsPerGpuGib"].as_f64().unwrap() - 13.5).abs() < 0.1, "{json}");
    // The same config in an HF_HOME hub cache, as huggingface_hub lays it out.
    // (A name outside the catalog, so the cache is what answers.)
    let repo = dir.path().join("hub/models--acme--mistral-like-7b");
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    // (huggingface_hub writes full 40-hex commits; the reader accepts no other.)
    let commit = "e0bc86c2b1f6a1c4f3c1ad2e37c1c3a0f1e2d3c4";
    std::fs::create_dir_all(repo.join("snapshots").join(commit)).unwrap();
    std::fs::write(repo.join("refs/main"), format!("{commit}\n")).unwrap();
    std::fs::copy(&file, repo.join("snapshots").join(commit).join("config.json")).unwrap();
    let out = crate::util::gpufit_env(
        &["model", "hf://acme/mistral-like-7b", "--gpu", "L4", "-o", "json"],
        &[("HF_HOME", dir.path())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let cached: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cached["weightsPerGpuGib"], json["weightsPerGpuGib"]);
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"hidden_size\": 1}").unwrap();
    let out = gpufit(&["model", "x/y", "--gpu", "L4", "--model-config", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad.json: num_hidden_layers is missing"), "{}", text(&out.stderr));
}

/// A model directory in the repository (`--model ./models/…`) is read for
/// both commands, and `model` and `check` give the same numbers for the
/// same engine arguments: one memory model behind both.
#[test]
fn model_and_check_agree_on_a_model_directory_in_the_repo() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("models/acme-13b");
    std::fs::create_dir_all(&model).unwrap();
    // meta-llama/Llama-2-13b-chat-hf's architecture.
    let config = serde_json::json!({"model_type": "llama", "hidden_size": 5120, "intermediate_size": 13824,
        "num_hidden_layers": 40, "num_attention_heads": 40, "num_key_value_heads": 40, "vocab_size": 32000,
        "max_position_embeddings": 4096, "torch_dtype": "float16"});
    std::fs::write(model.join("config.json"), config.to_string()).unwrap();
    let path = model.to_str().unwrap();
    let out = gpufit(&["model", path, "--gpu", "L40S", "--max-model-len", "4096", "--engine", "0.10.1", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let alone: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let manifest = dir.path().join("deploy.yaml");
    std::fs::write(
        &manifest,
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: acme, namespace: llm}}\nspec:\n  strategy: {{type: Recreate}}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.10.1\n        args: [--model={path}, --max-model-len=4096]\n        resources: {{limits: {{nvidia.com/gpu: 1}}}}\n"
        ),
    )
    .unwrap();
    let out = gpufit(&["check", "-f", manifest.to_str().unwrap(), "--nodes", "1xL40S", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fit = &report["workloads"][0]["memory"]["fit"];
    for key in ["weightsPerGpuGib", "kvBudgetGib", "kvPoolTokens", "maxContext", "engine"] {
        assert_eq!(fit[key], alone[key], "{key}: check {} vs model {}", fit[key], alone[key]);
    }
    assert_eq!(alone["engine"], "v1");
}

#[test]
fn bad_input_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x\n").unwrap();
    let out = gpufit(&["check", "-f", file.to_str().unwrap(), "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: ") && stderr.contains("broken.yaml: line 3 column 11: unclosed bracket"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    std::fs::write(&file, DEPLOYMENT).unwrap();
    let out = gpufit(&["check", "-f", file.to_str().unwrap(), "--nodes", "8xB999"]);
    assert!(text(&out.stderr).contains("unknown GPU product"), "{}", text(&out.stderr));
    let out = gpufit(&["check", "--nodes", "8xL4"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn local_gpus_or_one_line_without_a_driver() {
    let out = gpufit(&["local"]);
    match out.status.code() {
        Some(0) => assert!(text(&out.stdout).starts_with("INDEX"), "{}", text(&out.stdout)),
        Some(2) => {
            let stderr = text(&out.stderr);
            assert!(stderr.starts_with("error: no NVIDIA driver or NVML on this machine"), "{stderr}");
            assert_eq!(stderr.trim().lines().count(), 1);
        }
        other => panic!("unexpected exit {other:?}"),
    }
}

#[test]
fn help_speaks_as_a_kubectl_plugin() {
    let out = gpufit(&["check", "--help"]);
    let help = text(&out.stdout);
    assert!(help.contains("Usage: kubectl gpufit check [OPTIONS]"), "{help}");
    for flag in [
        "--kubeconfig",
        "--context",
        "--namespace",
        "--selector",
        "--output",
        "--no-headers",
        "--cluster-file",
        "--nodes",
    ] {
        assert!(help.contains(flag), "{flag} missing");
    }
    let nodes = text(&gpufit(&["nodes", "--help"]).stdout);
    assert!(nodes.contains("-A, --all-namespaces") && nodes.contains("-l, --selector <SELECTOR>"), "{nodes}");
}

#[test]
fn synthetic_pools_carry_labels_and_taints_like_real_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("gke.yaml");
    // A GKE manifest selecting its accelerator and the OS, as real ones do.
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: llm, namespace: ml}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      nodeSelector: {cloud.google.com/gke-accelerator: nvidia-l4, kubernetes.io/os: linux}\n      containers:\n      - name: vllm\n        resources: {limits: {nvidia.com/gpu: 1, ephemeral-storage: 50Gi}}\n",
    )
    .unwrap();
    let path = manifest.to_str().unwrap();
    let out = crate::util::gpufit(&["check", "-f", path, "--nodes", "1xL4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::util::text(&out.stdout)
            .contains("hint: would fit on 1 node(s) if its nodeSelector/affinity allowed them (l4-0)"),
        "{}",
        crate::util::text(&out.stdout)
    );
    let out =
        crate::util::gpufit(&["check", "-f", path, "--nodes", "1xL4[cloud.google.com/gke-accelerator=nvidia-l4]"]);
    assert_eq!(out.status.code(), Some(0), "{}", crate::util::text(&out.stdout));
    let out = crate::util::gpufit(&[
        "check",
        "-f",
        path,
        "--nodes",
        "1xL4",
        "--node-label",
        "cloud.google.com/gke-accelerator=nvidia-l4",
        "--node-taint",
        "nvidia.com/gpu=present:NoSchedule",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        crate::util::text(&out.stdout).contains("1 node(s) had untolerated taint(s)"),
        "{}",
        crate::util::text(&out.stdout)
    );
    let out =
        crate::util::gpufit(&["check", "-f", path, "--nodes", "1xL4", "--node-taint", "nvidia.com/gpu:Sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::util::text(&out.stderr).contains("the effect must be NoSchedule, PreferNoSchedule or NoExecute"));
}

#[test]
fn an_unknown_model_is_not_a_fit_exit_3_and_how_to_supply_it() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: m, namespace: ml}\nspec:\n  strategy: {type: Recreate}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: vllm/vllm-openai:v0.8.5\n        args: [--model, acme/custom-13b]\n        resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .unwrap();
    let out = gpufit(&["check", "-f", manifest.to_str().unwrap(), "--nodes", "1xL40S"]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("placed, memory unchecked"), "{stdout}");
    assert!(
        stdout.contains(
            "memory unchecked: acme/custom-13b is not in the catalog: put its config.json in the Hugging Face cache"
        ),
        "{stdout}"
    );
}

/// Numbers the API server would never accept get an error naming the
/// object or flag, not a verdict: a bound pod with a negative request
/// (which would free capacity), a manifest asking for "-1" GPUs or -3
/// replicas, pools no cluster has, and zero parallelism.
#[test]
fn invalid_numbers_are_errors_not_verdicts() {
    let dir = tempfile::tempdir().unwrap();
    let cluster = dir.path().join("cluster.json");
    std::fs::write(
        &cluster,
        serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "gpu-0"},
             "status": {"allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": "8"}}},
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "negative", "namespace": "ml"},
             "spec": {"nodeName": "gpu-0", "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "-8"}}}]},
             "status": {"phase": "Running"}}]})
        .to_string(),
    )
    .unwrap();
    let manifest = dir.path().join("job.yaml");
    std::fs::write(&manifest, DEPLOYMENT).unwrap();
    let out = gpufit(&["check", "-f", manifest.to_str().unwrap(), "--cluster-file", cluster.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("negative") && stderr.contains("nvidia.com/gpu"), "{stderr}");

    let asks = |gpus: &str, replicas: &str| {
        let text = DEPLOYMENT.replace("replicas: 1", &format!("replicas: {replicas}"));
        let text = text.replace("nvidia.com/gpu: 8", &format!("nvidia.com/gpu: {gpus}"));
        std::fs::write(&manifest, text).unwrap();
        gpufit(&["check", "-f", manifest.to_str().unwrap(), "--nodes", "8xH100-80GB"])
    };
    let out = asks("\"-1\"", "1");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(
        text(&out.stderr).contains("Deployment/llm/llama-70b") && text(&out.stderr).contains("negative"),
        "{}",
        text(&out.stderr)
    );
    let out = asks("8", "-3");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    assert!(text(&out.stderr).contains("spec.replicas: -3 is not a non-negative integer"), "{}", text(&out.stderr));

    for (args, expect) in [
        (&["check", "-f", "-", "--nodes", "1*-8xH100-80GB"][..], "is not a GPU count"),
        (&["check", "-f", "-", "--nodes", "100000000*8xH100-80GB"][..], "a pool has 1 to 50000"),
        (&["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--tp", "0"][..], "--tp"),
        (&["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--pp", "0"][..], "--pp"),
        // No batch holds zero sequences or tokens: not a setting to size.
        (&["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--max-num-seqs", "0"][..], "--max-num-seqs"),
        (
            &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--max-num-batched-tokens", "0"][..],
            "--max-num-batched-tokens",
        ),
        (
            &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--gpu-memory-utilization", "NaN"][..],
            "must be within (0, 1]",
        ),
        (
            &["model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "L40S", "--gpu-memory-utilization", "5"][..],
            "must be within (0, 1]",
        ),
    ] {
        let out = gpufit(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stdout));
        assert!(text(&out.stderr).contains(expect), "{args:?}: {}", text(&out.stderr));
    }
}

/// `kubectl gpufit <TAB>`: the kubectl_complete-gpufit script kubectl (>=
/// 1.26) runs answers in Cobra's format, contexts from the kubeconfig and
/// GPU products from the catalog included; static scripts for each shell.
#[test]
fn completion_for_kubectl_and_shells() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_kubectl-gpufit"), dir.path().join("kubectl-gpufit")).unwrap();
    let shim = dir.path().join("kubectl_complete-gpufit");
    std::fs::write(&shim, gpufit(&["completion", "kubectl"]).stdout).unwrap();
    let kubeconfig = gpuops_testkit::ApiServer::write_kubeconfig(
        dir.path(),
        &[("prod-east", "http://127.0.0.1:9"), ("staging", "http://127.0.0.1:9")],
    );
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let complete = |words: &[&str]| {
        let out = std::process::Command::new("sh")
            .arg(&shim)
            .args(words)
            .env("PATH", &path)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert_eq!(complete(&["check", "--context", "prod"]), "prod-east\n:4\n");
    let subcommands = complete(&[""]);
    assert!(
        subcommands.starts_with("check\t") && subcommands.contains("\nmodel\t") && subcommands.ends_with(":4\n"),
        "{subcommands}"
    );
    assert!(!subcommands.contains("__complete"), "hidden: {subcommands}");
    assert!(complete(&["model", "x", "--gpu", "H1"]).contains("H100"), "GPU products from the catalog");
    // The catalog's ids with the prefix, in catalog order (the list grows
    // with data/models.json; at least the base model and its FP8 variant).
    let prefixed: Vec<String> = gpuops_model::catalog::models()
        .into_iter()
        .map(|m| m.id)
        .filter(|id| id.starts_with("Qwen/Qwen3-235B"))
        .collect();
    assert!(prefixed.len() >= 2, "{prefixed:?}");
    assert_eq!(
        complete(&["model", "--gpu", "H100", "Qwen/Qwen3-235B"]),
        format!("{}\n:4\n", prefixed.join("\n")),
        "model ids from the catalog"
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = gpufit(&["completion", shell]);
        assert!(out.status.success() && text(&out.stdout).contains("kubectl-gpufit"), "{shell}");
    }
}

/// Every `$ kubectl gpufit …` example of the README prints what the README
/// shows, byte for byte.
#[test]
fn readme_examples_print_what_the_readme_shows() {
    let readme = std::fs::read_to_string(gpuops_testkit::readme::path()).unwrap();
    let examples: Vec<_> = gpuops_testkit::readme::examples(&readme)
        .into_iter()
        .filter(|e| e.command.starts_with("kubectl gpufit "))
        .collect();
    assert!(!examples.is_empty(), "the README shows gpufit examples");
    for example in examples {
        let words = gpuops_testkit::readme::words(&example.command);
        let out = gpufit(&words[2..].iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(text(&out.stdout), example.output, "README.md:{}: `{}`", example.line, example.command);
    }
}

/// `-l` selects nodes as `kubectl get nodes -l` does (apimachinery's
/// selector syntax): `nodes` lists only the pool, `check` places only on
/// it, and a selector kubectl would refuse is refused with its words.
#[test]
fn label_selector_scopes_nodes_and_placement() {
    let pools = "2*8xH100-80GB[pool=train],2*1xL4[pool=serve,spot=true]";
    let out = gpufit(&["nodes", "--nodes", pools, "-l", "pool in (serve),!spot", "--no-headers"]);
    assert_eq!((out.status.code(), text(&out.stdout)), (Some(0), String::new()), "no node is both");
    let out = gpufit(&["nodes", "--nodes", pools, "-l", "pool=serve", "--no-headers"]);
    let names: Vec<String> =
        text(&out.stdout).lines().map(|l| l.split_whitespace().next().unwrap().to_string()).collect();
    assert_eq!(names, ["l4-0", "l4-1"]);

    // Two GPUs per pod fit the train pool, not the 1-GPU serve pool.
    let workload = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w, namespace: llm}\nspec:\n  replicas: 1\n  template:\n    spec:\n      tolerations: [{operator: Exists}]\n      containers:\n      - name: main\n        resources: {limits: {nvidia.com/gpu: 2}}\n";
    let check = |selector: &str| gpufit_with_stdin(&["check", "-f", "-", "--nodes", pools, "-l", selector], workload);
    assert_eq!(check("pool=train").status.code(), Some(0));
    let serve = check("pool=serve");
    assert_eq!(serve.status.code(), Some(1));
    assert!(
        text(&serve.stdout).contains("0/2 nodes are available: 2 Insufficient nvidia.com/gpu."),
        "{}",
        text(&serve.stdout)
    );

    let bad = gpufit(&["nodes", "--nodes", pools, "-l", "pool in (serve"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("unable to parse requirement: found '', expected: ',', ')' or identifier"),
        "{}",
        text(&bad.stderr)
    );
}

/// `nodes -n NS` adds what that namespace's pods use (kubectl-view-allocations
/// -n), `-A` undoes it; the free count stays the cluster's. `check` has no
/// -A: placement always counts every namespace's pods.
#[test]
fn namespace_scopes_the_use_shown_by_nodes() {
    let dump = "examples/gpu-scheduler-appset/cluster.yaml";
    let used = |args: &[&str]| -> Vec<serde_json::Value> {
        let out = gpufit(&[&["nodes", "--cluster-file", dump, "-o", "json"], args].concat());
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["items"].as_array().unwrap().clone()
    };
    let ml = used(&["-n", "ml"]);
    let node2 = ml.iter().find(|r| r["node"] == "node2").unwrap();
    assert_eq!(
        (&node2["used"], &node2["usedByNamespace"], &node2["free"]),
        (&serde_json::json!(2), &serde_json::json!(2), &serde_json::json!(2))
    );
    let other = used(&["-n", "other"]);
    let node2 = other.iter().find(|r| r["node"] == "node2").unwrap();
    assert_eq!(
        (&node2["used"], &node2["usedByNamespace"], &node2["free"]),
        (&serde_json::json!(2), &serde_json::json!(0), &serde_json::json!(2))
    );
    assert!(used(&["-n", "ml", "-A"]).iter().all(|r| r.get("usedByNamespace").is_none()), "-A: every namespace");
    let table = gpufit(&["nodes", "--cluster-file", dump, "-n", "ml"]);
    assert!(
        text(&table.stdout)
            .starts_with("NODE    PRODUCT       MEMORY   RESOURCE         ALLOCATABLE   USED   USED(ML)   FREE")
    );
    let check = gpufit(&["check", "-A", "-f", "-"]);
    assert_eq!(check.status.code(), Some(2));
}

/// A vLLM pod that requests no GPU is not "memory ok": with vLLM's GPU
/// image it stops at startup ("RuntimeError: Failed to infer device type",
/// vllm/config/device.py `DeviceConfig`), a problem (exit 1); a CPU build
/// runs on CPU and is said to be unchecked. Before, the first was placed on
/// a GPU node and sized against that node's whole GPU ("ok").
#[test]
fn a_vllm_pod_without_a_gpu_is_not_memory_ok() {
    let deployment = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: qwen, namespace: llm}}\nspec:\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: {image}\n        args: [--model, Qwen/Qwen2.5-7B-Instruct]\n        resources: {{limits: {{cpu: '8'}}}}\n"
        )
    };
    let gpu_image =
        gpufit_with_stdin(&["check", "-f", "-", "--nodes", "2*1xL40S"], &deployment("vllm/vllm-openai:v0.10.1"));
    let out = text(&gpu_image.stdout);
    assert_eq!(gpu_image.status.code(), Some(1), "{out}");
    assert!(out.contains("no GPU requested") && out.contains("Failed to infer device type"), "{out}");
    let json = gpufit_with_stdin(
        &["check", "-f", "-", "--nodes", "2*1xL40S", "-o", "json"],
        &deployment("vllm/vllm-openai:v0.10.1"),
    );
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["workloads"][0]["memory"]["status"], "no-gpu", "{doc}");
    let cpu = gpufit_with_stdin(
        &["check", "-f", "-", "--nodes", "2*1xL40S"],
        &deployment("public.ecr.aws/q9t5s3a7/vllm-cpu-release-repo:v0.10.1"),
    );
    let out = text(&cpu.stdout);
    assert_eq!(cpu.status.code(), Some(0), "{out}");
    assert!(out.contains("CPU: not checked") && !out.contains("ok:"), "{out}");
}

/// A one-GPU vLLM Deployment (Recreate, so no rolling-update surge) of
/// `image` with `args`, the inside of a YAML flow list.
fn vllm_deployment(image: &str, args: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: vllm, namespace: llm}}\nspec:\n  strategy: {{type: Recreate}}\n  template:\n    spec:\n      containers:\n      - name: vllm\n        image: {image}\n        args: [{args}]\n        resources: {{limits: {{nvidia.com/gpu: '1'}}}}\n"
    )
}

/// A refusal after the KV cache held the request (here a fixed
/// `--kv-cache-memory-bytes` the GPU cannot hold beside the weights) is
/// `no: CUDA out of memory`, vLLM's own words. Before, the cell read
/// `no: 63k max len, 8k asked`: a "max len" longer than the one asked,
/// as if that were the reason.
#[test]
fn out_of_memory_after_the_cache_is_not_a_max_len_refusal() {
    let deployment = vllm_deployment(
        "vllm/vllm-openai:v0.17.1",
        "--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192', --kv-cache-memory-bytes, 10G",
    );
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xRTX-3090"], &deployment);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("   no: CUDA out of memory   does not fit"), "{stdout}");
    assert!(!stdout.contains("max len"), "{stdout}");
    assert!(stdout.contains("  memory: CUDA out of memory: "), "the whole refusal under the table: {stdout}");
}

/// A startup refusal whose cache would hold the request (Llama-3.1-8B asked
/// for 262,144 tokens, twice its derived 131,072: vLLM 0.11 refuses before
/// loading anything, config/model.py `_get_and_verify_max_len`) reads `no:
/// refused at startup`, not a "max len" the cache could hold.
#[test]
fn a_startup_refusal_is_not_a_max_len_refusal() {
    let deployment = vllm_deployment(
        "vllm/vllm-openai:v0.11.0",
        "--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '262144'",
    );
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xH200"], &deployment);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("   no: refused at startup   does not fit"), "{stdout}");
    assert!(!stdout.contains("max len,"), "{stdout}");
    assert!(
        stdout.contains("User-specified max_model_len (262144) is greater than the derived max_model_len"),
        "{stdout}"
    );
    let json = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xH200", "-o", "json"], &deployment);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["workloads"][0]["memory"]["fit"]["refusal"], "startup", "{doc}");
}

/// The cell follows the refusal vLLM meets first: on an L4, 262,144 tokens
/// of Llama-3.1-8B neither pass vLLM 0.11's startup check (above the
/// derived 131,072, config/model.py `_get_and_verify_max_len`) nor fit the
/// cache, and vLLM stops at the startup check, so the cell reads `no:
/// refused at startup`, not the cache's "max len" that vLLM never reaches.
#[test]
fn the_memory_cell_names_the_refusal_vllm_meets_first() {
    let deployment = vllm_deployment(
        "vllm/vllm-openai:v0.11.0",
        "--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '262144'",
    );
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xL4"], &deployment);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("   no: refused at startup   does not fit"), "{stdout}");
    assert!(!stdout.contains("max len,"), "{stdout}");
}

/// A vision-language model on vLLM's V0 engine is not sized (its profile
/// gives every dummy sequence the largest image, worker/model_runner.py
/// v0.8.4:1300-1325): `check` says unchecked, exit 3, never "ok". On V1
/// Gemma 3 is sized (its fit rows bear the encoder allowance out), and
/// Qwen2.5-VL, whose largest image is 16,384 tokens, is not (vllm#16570),
/// unless even the figures without its encoder do not fit.
#[test]
fn a_vision_language_model_on_v0_is_unchecked() {
    let pod = |image: &str, model: &str| vllm_deployment(image, &format!("--model, {model}, --max-model-len, '8192'"));
    let nodes = ["check", "-f", "-", "--nodes", "1*1xRTX-3090"];
    let v0 = gpufit_with_stdin(&nodes, &pod("vllm/vllm-openai:v0.7.3", "Qwen/Qwen2.5-VL-7B-Instruct"));
    let stdout = text(&v0.stdout);
    assert_eq!(v0.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("not-sized   placed, memory unchecked"), "{stdout}");
    assert!(stdout.contains("is a vision-language model on vLLM's V0 engine"), "{stdout}");
    let gemma = gpufit_with_stdin(&nodes, &pod("vllm/vllm-openai:v0.11.0", "google/gemma-3-4b-it"));
    assert_eq!(gemma.status.code(), Some(0), "{}", text(&gemma.stdout));
    let gemma_v0 = gpufit_with_stdin(&nodes, &pod("vllm/vllm-openai:v0.7.3", "google/gemma-3-4b-it"));
    assert_eq!(gemma_v0.status.code(), Some(3), "{}", text(&gemma_v0.stdout));
    let qwen_v1 = gpufit_with_stdin(&nodes, &pod("vllm/vllm-openai:v0.11.0", "Qwen/Qwen2.5-VL-7B-Instruct"));
    let stdout = text(&qwen_v1.stdout);
    assert_eq!(qwen_v1.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("whose vLLM profile run encodes the largest image it takes"), "{stdout}");
    // Weights alone over the GPU: a refusal whatever the encoder takes.
    let big = gpufit_with_stdin(&nodes, &pod("vllm/vllm-openai:v0.11.0", "Qwen/Qwen2.5-VL-72B-Instruct"));
    let stdout = text(&big.stdout);
    assert_eq!(big.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("lower bound: Qwen/Qwen2.5-VL-72B-Instruct is a vision-language model"), "{stdout}");
}

/// A flag that moves memory in a way gpuops does not model (speculative
/// decoding here: a draft model on the same GPUs) reaches the user as a
/// warning under the table naming the flag, never as a silent "ok" on
/// figures that assume it absent.
#[test]
fn an_unmodelled_flag_is_a_warning_naming_it() {
    let deployment = vllm_deployment(
        "vllm/vllm-openai:v0.11.0",
        "--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192', --speculative-config, '{\"method\": \"ngram\"}'",
    );
    let out = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xH100"], &deployment);
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  warning: speculative decoding (--speculative-config) is not modelled: a draft model"),
        "{stdout}"
    );
    let plain = gpufit_with_stdin(
        &["check", "-f", "-", "--nodes", "1*1xH100"],
        &vllm_deployment(
            "vllm/vllm-openai:v0.11.0",
            "--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192'",
        ),
    );
    assert!(!text(&plain.stdout).contains("warning:"), "{}", text(&plain.stdout));
}

/// LoRA's adapter slots are sized from vLLM's source (`memory::lora`): a
/// rank vLLM refuses is refused in its words, and LoRA on a mixture of
/// experts (every expert wrapped from 0.11.1) is unchecked (exit 3), not
/// an "ok" on figures without the slots.
#[test]
fn lora_is_sized_refused_or_unchecked_as_vllm_would_run_it() {
    let nodes = ["check", "-f", "-", "--nodes", "1*1xH100"];
    let llama = |flags: &str| {
        vllm_deployment(
            "vllm/vllm-openai:v0.10.1",
            &format!("--model, meta-llama/Llama-3.1-8B-Instruct, --max-model-len, '8192', --enable-lora{flags}"),
        )
    };
    let ok = gpufit_with_stdin(&nodes, &llama(", --max-loras, '4', --max-lora-rank, '64'"));
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stdout));
    let rank = gpufit_with_stdin(&nodes, &llama(", --max-lora-rank, '24'"));
    let stdout = text(&rank.stdout);
    assert_eq!(rank.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("max_lora_rank (24) must be one of (8, 16, 32, 64, 128, 256, 320, 512)."), "{stdout}");
    let moe = vllm_deployment(
        "vllm/vllm-openai:v0.19.0",
        "--model, Qwen/Qwen3-30B-A3B, --max-model-len, '8192', --enable-lora",
    );
    let out = gpufit_with_stdin(&nodes, &moe);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("not-sized   placed, memory unchecked"), "{stdout}");
    assert!(stdout.contains("LoRA (--enable-lora) on the mixture of experts Qwen/Qwen3-30B-A3B"), "{stdout}");
}

/// `--dtype auto` on a T4 (no bfloat16): from vLLM 0.9.0 a bfloat16
/// checkpoint falls back to float16 with vLLM's warning (config.py
/// v0.9.0:3084-3101), so the pod is sized; before 0.9.0 the checkpoint's
/// dtype decides the start and the catalog keeps none, so `check` says
/// unchecked (exit 3) and what to supply, never a guessed "no".
#[test]
fn auto_dtype_on_a_gpu_without_bfloat16_by_release() {
    let pod = |image: &str| vllm_deployment(image, "--model, Qwen/Qwen2.5-3B-Instruct, --max-model-len, '8192'");
    let new = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xT4"], &pod("vllm/vllm-openai:v0.10.1"));
    let stdout = text(&new.stdout);
    assert_eq!(new.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("doesn't support torch.bfloat16. Falling back to torch.float16 for compatibility."),
        "{stdout}"
    );
    let old = gpufit_with_stdin(&["check", "-f", "-", "--nodes", "1*1xT4"], &pod("vllm/vllm-openai:v0.8.5"));
    let stdout = text(&old.stdout);
    assert_eq!(old.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("memory unchecked: the checkpoint's torch_dtype is not known here"), "{stdout}");
    assert!(!stdout.contains("Bfloat16 is only supported"), "{stdout}");
}

/// `model` on a model gpuops cannot size says unchecked and exits 3, as
/// `check` does, with the room the figures without the unsized term leave;
/// LoRA on a dense model is sized and shown in the weights line.
#[test]
fn model_says_unchecked_for_what_it_cannot_size() {
    let args = |extra: &[&str]| {
        let mut a = vec!["model", "--engine", "0.19.0", "--max-model-len", "8192"];
        a.extend_from_slice(extra);
        gpufit(&a)
    };
    let vl = args(&["Qwen/Qwen2.5-VL-7B-Instruct", "--gpu", "H100"]);
    let stdout = text(&vl.stdout);
    assert_eq!(vl.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("verdict:      unchecked (not sized by gpuops: see below)"), "{stdout}");
    assert!(
        stdout.contains("note:         without the vision encoder's profile peak the figures fit, with "),
        "{stdout}"
    );
    let moe = args(&["Qwen/Qwen3-30B-A3B", "--gpu", "H100", "--enable-lora"]);
    let stdout = text(&moe.stdout);
    assert_eq!(moe.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("without LoRA's slots on the experts the figures fit"), "{stdout}");
    let dense = args(&[
        "meta-llama/Llama-3.1-8B-Instruct",
        "--gpu",
        "L4",
        "--enable-lora",
        "--max-loras",
        "4",
        "--max-lora-rank",
        "64",
    ]);
    let stdout = text(&dense.stdout);
    assert_eq!(dense.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("weights/GPU:  16.33 GiB (LoRA adapter slots 1.38 GiB included)"), "{stdout}");
    let rank = args(&["meta-llama/Llama-3.1-8B-Instruct", "--gpu", "L4", "--enable-lora", "--max-lora-rank", "24"]);
    assert_eq!(rank.status.code(), Some(1));
    assert!(text(&rank.stdout).contains("argument --max-lora-rank: invalid choice: 24"), "{}", text(&rank.stdout));
}

/// `--recommend` on a model gpuops does not size recommends nothing, and
/// says why, rather than "none starts" and "no catalog GPU serves it".
#[test]
fn nothing_is_recommended_for_a_model_that_is_not_sized() {
    let out =
        gpufit(&["model", "Qwen/Qwen2.5-VL-7B-Instruct", "--gpu", "L4", "--max-model-len", "8192", "--recommend"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("recommend:    nothing: gpuops does not size this model (see above)"), "{stdout}");
    assert!(!stdout.contains("none starts") && !stdout.contains("no catalog GPU serves it"), "{stdout}");
    // At its 128000 the figures without the encoder already fail (a
    // certain refusal): still nothing to recommend at shorter contexts.
    let json = gpufit(&["model", "Qwen/Qwen2.5-VL-7B-Instruct", "--gpu", "L4", "--recommend", "-o", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json.status.code(), Some(1), "{doc}");
    assert!(doc.get("recommendation").is_none(), "{doc}");
    assert_eq!(doc["lowerBound"], true, "{doc}");
    assert!(doc["notes"].as_array().unwrap().iter().any(|n| n.as_str().unwrap().starts_with("lower bound: ")), "{doc}");
}
