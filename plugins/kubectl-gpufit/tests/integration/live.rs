//! A live cluster through kube-rs against a local API server that speaks
//! the list wire format with `limit`/`continue` pagination.

use gpuops_testkit::ApiServer;
use serde_json::{Value, json};

use crate::util::{gpufit, text};

fn node(name: &str, gpus: u32, product: &str, taint: bool) -> Value {
    let mut n = json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, "nvidia.com/gpu.product": product}},
        "spec": {},
        "status": {"allocatable": {"cpu": "64", "memory": "512Gi", "pods": "110", "nvidia.com/gpu": gpus.to_string()}}});
    if taint {
        n["spec"]["taints"] = json!([{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"}]);
    }
    n
}

fn pod(name: &str, node: &str, gpus: u32, phase: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "ml"},
        "spec": {"nodeName": node, "containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": gpus.to_string()}}}]},
        "status": {"phase": phase}})
}

#[test]
fn nodes_and_pods_are_listed_page_by_page() {
    let nodes: Vec<Value> = (0..5).map(|i| node(&format!("gpu-{i}"), 8, "NVIDIA-H100-80GB-HBM3", i == 4)).collect();
    let mut pods: Vec<Value> =
        (0..7).map(|i| pod(&format!("train-{i}"), &format!("gpu-{}", i % 3), 1, "Running")).collect();
    pods.push(pod("done", "gpu-0", 8, "Succeeded"));
    let server = ApiServer::start(&nodes, &pods);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
    let out = gpufit(&["nodes", "--kubeconfig", kubeconfig.to_str().unwrap(), "--chunk-size", "2", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let items = json["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["used"], 3, "3 running pods on gpu-0; the Succeeded one does not count");
    assert_eq!(items[4]["taints"][0], "nvidia.com/gpu=present:NoSchedule", "tainted GPU nodes are shown");
    let requests = server.requests();
    let node_pages = requests.iter().filter(|r| r.starts_with("/api/v1/nodes")).count();
    let pod_pages = requests.iter().filter(|r| r.starts_with("/api/v1/pods")).count();
    assert_eq!((node_pages, pod_pages), (3, 4), "5 nodes and 7 pods at 2 per page: {requests:?}");
    assert!(requests.iter().any(|r| r.contains("continue=")), "{requests:?}");
    assert!(
        requests.iter().all(|r| !r.starts_with("/api/v1/pods") || r.contains("fieldSelector=status.phase")),
        "{requests:?}"
    );
}

#[test]
fn a_fleet_check_covers_every_context() {
    let small = ApiServer::start(&[node("a", 2, "NVIDIA-L4", false)], &[]);
    let big = ApiServer::start(&[node("b", 8, "NVIDIA-H100-80GB-HBM3", false)], &[]);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("edge", &small.url()), ("core", &big.url())]);
    let manifest = dir.path().join("job.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: batch/v1\nkind: Job\nmetadata: {name: finetune, namespace: ml}\nspec:\n  template:\n    spec:\n      containers:\n      - name: t\n        resources: {limits: {nvidia.com/gpu: 4}}\n",
    )
    .unwrap();
    let args = [
        "check",
        "-f",
        manifest.to_str().unwrap(),
        "--kubeconfig",
        kubeconfig.to_str().unwrap(),
        "--context",
        "edge",
        "--context",
        "core",
    ];
    let out = gpufit(&args);
    assert_eq!(out.status.code(), Some(1), "fits on core only: {}", text(&out.stdout));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("# edge") && stdout.contains("# core"), "{stdout}");
    assert!(stdout.contains("0/1 nodes are available: 1 Insufficient nvidia.com/gpu."), "{stdout}");

    // A fleet's document: one FitReport payload per context, in the order asked.
    let out = gpufit(&[&args[..], &["-o", "json"]].concat());
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let fleet: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (fleet["apiVersion"].as_str(), fleet["kind"].as_str()),
        (Some("gpuops.dev/v1alpha1"), Some("FitReportList"))
    );
    let fits: Vec<(&str, bool)> = fleet["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["cluster"].as_str().unwrap(), r["fits"].as_bool().unwrap()))
        .collect();
    assert_eq!(fits, [("edge", false), ("core", true)]);
}

#[test]
fn unreachable_api_server_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("gone", "http://127.0.0.1:9")]);
    let out = gpufit(&["nodes", "--kubeconfig", kubeconfig.to_str().unwrap(), "--request-timeout", "2s"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("error: http://127.0.0.1:9/"), "{stderr}");
}

/// `KUBECONFIG` with several files, as kubectl reads it: a missing file is
/// skipped, the first file's current-context wins, contexts of later files
/// are found; at -v 4 every page is logged on stderr, stdout stays clean.
#[test]
fn a_multi_file_kubeconfig_is_merged_like_kubectl_and_pages_show_at_v4() {
    let edge = ApiServer::start(&[node("a", 2, "NVIDIA-L4", false)], &[]);
    let core = ApiServer::start(&[node("b", 8, "NVIDIA-H100-80GB-HBM3", false)], &[]);
    let (first, second) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let edge_config = ApiServer::write_kubeconfig(first.path(), &[("edge", &edge.url())]);
    let core_config = ApiServer::write_kubeconfig(second.path(), &[("core", &core.url())]);
    let chain = std::env::join_paths([first.path().join("missing"), edge_config, core_config]).unwrap();
    let run = |args: &[&str]| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kubectl-gpufit"));
        cmd.args(args).env("KUBECONFIG", &chain).env("HOME", first.path()).env_remove("GPUOPS_LOG");
        cmd.output().unwrap()
    };
    let out = run(&["nodes", "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["items"][0]["node"], "a", "the first file's current-context (edge)");
    assert_eq!(text(&out.stderr), "", "nothing on stderr without -v");

    let out = run(&["nodes", "--context", "core", "-o", "json", "-v", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["items"][0]["node"], "b", "a context from the second file");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("listed a page") && stderr.contains("/api/v1/pods"), "{stderr}");
}

#[test]
fn messages_follow_the_servers_version_and_its_priority_classes_count() {
    // /version says v1.31.2: the scheduler of that version names the taint.
    let nodes = [node("gpu-0", 8, "NVIDIA-H100-80GB-HBM3", true)];
    let classes = [inference_class()];
    let pods = [
        // A batch pod holding every GPU, at the default priority.
        pod("batch", "gpu-0", 8, "Running"),
    ];
    let server = ApiServer::start_with(&nodes, &pods, &classes, "v1.31.2");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
    let manifest = dir.path().join("serve.yaml");
    let write = |extra: &str| {
        std::fs::write(
            &manifest,
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: serve, namespace: ml}}\nspec:\n  {extra}\n  containers:\n  - name: vllm\n    resources: {{limits: {{nvidia.com/gpu: 8}}}}\n"
            ),
        )
        .unwrap();
    };
    write("schedulerName: default-scheduler");
    let check = |more: &[&str]| {
        let mut args = vec!["check", "-f", manifest.to_str().unwrap(), "--kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(more);
        gpufit(&args)
    };
    let out = check(&["-o", "wide"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("0/1 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}."),
        "{stdout}"
    );
    assert!(
        stdout.contains("event: Warning FailedScheduling default-scheduler: 0/1 nodes are available: 1 node(s) had untolerated taint {nvidia.com/gpu: present}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."),
        "{stdout}"
    );
    // --kube-version wins over the server's.
    let out = check(&["--kube-version", "1.35"]);
    assert!(text(&out.stdout).contains("1 node(s) had untolerated taint(s)."), "{}", text(&out.stdout));
    assert!(server.requests().iter().any(|r| r == "/version"), "{:?}", server.requests());

    // Tolerating the taint and outranking the batch pod: it preempts it.
    write("priorityClassName: inference\n  tolerations: [{operator: Exists}]");
    let out = check(&["-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["workloads"][0]["preempts"], json!(["ml/batch"]));
    let out = check(&[]);
    assert!(text(&out.stdout).contains("fits by preempting 1 pod(s)"), "{}", text(&out.stdout));
}

/// A kubeconfig whose user gets its token from an exec plugin `script`.
fn exec_kubeconfig(dir: &std::path::Path, server: &str, script: &str) -> std::path::PathBuf {
    let plugin = dir.join("credential-plugin");
    std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::process::Command::new("chmod").arg("755").arg(&plugin).status().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir, &[("lab", server)]);
    let text = std::fs::read_to_string(&kubeconfig).unwrap().replace(
        &format!("    token: {}\n", gpuops_testkit::API_TOKEN),
        &format!(
            "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [--secret-arg]\n      interactiveMode: Never\n",
            plugin.display()
        ),
    );
    std::fs::write(&kubeconfig, text).unwrap();
    kubeconfig
}

/// client-go's exec plugin contract (exec.go): KUBERNETES_EXEC_INFO in, an
/// ExecCredential out. A failing plugin's stdout (the token) is never
/// shown; a hanging one is stopped at the deadline.
#[test]
fn exec_credential_plugins_give_a_token_never_leak_it_and_cannot_hang() {
    let server = ApiServer::start(&[node("gpu-0", 8, "NVIDIA-H100-80GB-HBM3", false)], &[]);
    let dir = tempfile::tempdir().unwrap();
    let token = gpuops_testkit::API_TOKEN;
    let ok = exec_kubeconfig(
        dir.path(),
        &server.url(),
        &format!(
            "echo \"$KUBERNETES_EXEC_INFO\" | grep -q '\"interactive\":false' || exit 3\necho '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"{token}\"}}}}'"
        ),
    );
    let out = gpufit(&["nodes", "--kubeconfig", ok.to_str().unwrap(), "-o", "json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("gpu-0"));

    let failing = exec_kubeconfig(
        dir.path(),
        &server.url(),
        "echo '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{\"token\":\"leaked-token-123\"}}'\necho 'login expired' >&2\nexit 1",
    );
    let out = gpufit(&["nodes", "--kubeconfig", failing.to_str().unwrap()]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("leaked-token-123") && !text(&out.stdout).contains("leaked-token-123"), "{stderr}");
    assert!(!stderr.contains("--secret-arg"), "arguments may hold secrets: {stderr}");
    assert!(stderr.contains("credential-plugin") && stderr.contains("exited with exit status: 1"), "{stderr}");
    assert!(stderr.contains("login expired"), "the plugin's own stderr reaches the user: {stderr}");

    let hanging = exec_kubeconfig(dir.path(), &server.url(), "sleep 30");
    let started = std::time::Instant::now();
    let out = gpufit(&["nodes", "--kubeconfig", hanging.to_str().unwrap(), "--request-timeout", "1s"]);
    let stderr = text(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("did not finish within 1s"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
}

/// A server that loops its continue tokens, never ends its chain, or drips
/// its answer: each is stopped with a message naming the list, and a
/// dripping answer is bounded by --request-timeout as a deadline.
#[test]
fn live_reads_that_would_never_end_are_stopped() {
    use gpuops_testkit::Misbehave;
    let nodes = [node("gpu-0", 8, "NVIDIA-H100-80GB-HBM3", false)];
    let run = |misbehave, extra: &[&str]| {
        let server = ApiServer::start_misbehaving(&nodes, &[], &[], "v1.35.0", misbehave);
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
        let mut args = vec!["nodes", "--kubeconfig", kubeconfig.to_str().unwrap()];
        args.extend_from_slice(extra);
        let started = std::time::Instant::now();
        let out = gpufit(&args);
        (out, started.elapsed(), server.requests().len())
    };
    let (out, _, requests) = run(Misbehave::RepeatContinue, &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/api/v1/nodes: the API server sent the same continue token twice (page 2)"), "{stderr}");
    assert_eq!(requests, 2, "stopped at the first repeat");

    let (out, _, requests) = run(Misbehave::EndlessContinue, &["--max-pages", "40"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("still more after 40 pages of 500 items") && stderr.contains("--max-pages"), "{stderr}");
    assert_eq!(requests, 40);

    let (out, elapsed, _) = run(Misbehave::Drip, &["--request-timeout", "1s"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("/api/v1/nodes: no complete answer within 1s (--request-timeout)"), "{stderr}");
    assert!(elapsed < std::time::Duration::from_secs(5), "the deadline held: {elapsed:?}");
}

/// Progress shows on a terminal while the cluster is read, and never when
/// stderr is piped or the output is for programs (`-o json`).
#[test]
fn progress_only_on_a_terminal() {
    use gpuops_testkit::Misbehave;
    let server = ApiServer::start_misbehaving(
        &[node("gpu-0", 8, "NVIDIA-H100-80GB-HBM3", false)],
        &[],
        &[],
        "v1.35.0",
        Misbehave::Drip,
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
    let bin = env!("CARGO_BIN_EXE_kubectl-gpufit");
    let args = format!("nodes --kubeconfig {} --request-timeout 1s", kubeconfig.display());
    // util-linux `script` gives the command a pseudo-terminal.
    let on_terminal = |extra: &str| {
        let out = std::process::Command::new("script")
            .args(["-q", "-e", "-c", &format!("{bin} {args} {extra}"), "/dev/null"])
            .env("TERM", "xterm")
            .output()
            .expect("script (util-linux)");
        text(&out.stdout)
    };
    assert!(on_terminal("").contains("reading nodes and pods of the current context"), "{}", on_terminal(""));
    assert!(!on_terminal("-o json").contains("reading nodes"), "no progress with -o json");
    let piped = gpufit(&["nodes", "--kubeconfig", kubeconfig.to_str().unwrap(), "--request-timeout", "1s"]);
    assert!(!text(&piped.stderr).contains("reading nodes"), "{}", text(&piped.stderr));
}

/// PodDisruptionBudgets read from the live cluster (`GET
/// /apis/policy/v1/poddisruptionbudgets`, a `PodDisruptionBudgetList`)
/// steer preemption as kube-scheduler's PDB lister does: of two nodes
/// whose one batch pod each would make room, the one whose victim no PDB
/// protects is picked (pickOneNodeForPreemption, criterion 1: fewest PDB
/// violations), though the first node wins the tie without PDBs; when
/// every victim is protected the report counts the violation.
#[test]
fn live_pdbs_change_which_node_preemption_picks_and_are_reported() {
    let nodes = [node("gpu-a", 1, "NVIDIA-L4", false), node("gpu-b", 1, "NVIDIA-L4", false)];
    let mut pods = [pod("batch-a", "gpu-a", 1, "Running"), pod("batch-b", "gpu-b", 1, "Running")];
    pods[0]["metadata"]["labels"] = json!({"app": "trainer", "shard": "a"});
    pods[1]["metadata"]["labels"] = json!({"app": "trainer", "shard": "b"});
    let classes = [inference_class()];
    let pdb = |selector: Value| {
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "trainer", "namespace": "ml"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": selector}}, "status": {"disruptionsAllowed": 0}})
    };
    let dir = tempfile::tempdir().unwrap();
    let manifest = serve_pod(dir.path());
    let check = |pdbs: &[Value]| {
        let server = ApiServer::start_with_pdbs(&nodes, &pods, &classes, pdbs, "v1.35.0");
        let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
        let args = ["check", "-f", manifest.to_str().unwrap(), "--kubeconfig", kubeconfig.to_str().unwrap()];
        let json_out = gpufit(&[&args[..], &["-o", "json"]].concat());
        assert_eq!(json_out.status.code(), Some(0), "{}{}", text(&json_out.stdout), text(&json_out.stderr));
        let table = text(&gpufit(&args).stdout);
        let requests = server.requests();
        assert!(requests.iter().any(|r| r == "/apis/policy/v1/poddisruptionbudgets"), "{requests:?}");
        (serde_json::from_slice::<Value>(&json_out.stdout).unwrap()["workloads"][0].clone(), table)
    };

    let (workload, _) = check(&[]);
    assert_eq!(workload["preempts"], json!(["ml/batch-a"]), "without PDBs the first node wins the tie");
    assert_eq!(workload.get("pdbViolations"), None);

    let (workload, table) = check(&[pdb(json!({"app": "trainer", "shard": "a"}))]);
    assert_eq!(workload["preempts"], json!(["ml/batch-b"]), "batch-a's PDB moves preemption to gpu-b");
    assert_eq!(workload["nodes"], json!(["gpu-b"]));
    assert_eq!(workload.get("pdbViolations"), None, "batch-b is not protected");
    assert!(table.contains("fits by preempting 1 pod(s)"), "{table}");

    let (workload, table) = check(&[pdb(json!({"app": "trainer"}))]);
    assert_eq!(workload["preempts"], json!(["ml/batch-a"]), "both protected: the tie again");
    assert_eq!(workload["pdbViolations"], json!(1));
    assert!(table.contains("fits by preempting 1 pod(s), 1 violating a PodDisruptionBudget"), "{table}");
    assert!(table.contains("  preempts 1 pod(s), 1 violating a PodDisruptionBudget: ml/batch-a"), "{table}");
}

/// The PriorityClass (value 100000) the tests' high-priority pods name.
fn inference_class() -> Value {
    json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
        "metadata": {"name": "inference"}, "value": 100000})
}

/// A one-GPU pod of class `inference` (which can preempt the batch pods),
/// written to `dir/serve.yaml`.
fn serve_pod(dir: &std::path::Path) -> std::path::PathBuf {
    let manifest = dir.join("serve.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: serve, namespace: llm}\nspec:\n  priorityClassName: inference\n  containers:\n  - name: vllm\n    resources: {limits: {nvidia.com/gpu: 1}}\n",
    )
    .unwrap();
    manifest
}

/// A PodDisruptionBudget list RBAC refuses (`403 Forbidden`) is said where
/// it matters: when preemption chose victims, which budgets would have
/// steered, the table run says so on stderr and `-o json` carries it in the
/// report's `warnings`; a workload that fits without evicting anyone, and
/// a cluster whose (empty) list was read, say nothing.
#[test]
fn an_unreadable_pdb_list_is_warned_about_when_preemption_picks_victims() {
    const WARNING: &str =
        "warning: PodDisruptionBudgets could not be listed (403 Forbidden): preemption victims are chosen without them";
    let pdbs = "/apis/policy/v1/poddisruptionbudgets";
    let nodes = [node("gpu-a", 1, "NVIDIA-L4", false), node("gpu-b", 1, "NVIDIA-L4", false)];
    let classes = [inference_class()];
    let dir = tempfile::tempdir().unwrap();
    let manifest = serve_pod(dir.path());
    // (stderr of the table run, the JSON report, stderr of the JSON run)
    let check = |server: &ApiServer| {
        let kubeconfig = ApiServer::write_kubeconfig(dir.path(), &[("lab", &server.url())]);
        let args = ["check", "-f", manifest.to_str().unwrap(), "--kubeconfig", kubeconfig.to_str().unwrap()];
        let table = gpufit(&args);
        assert_eq!(table.status.code(), Some(0), "{}{}", text(&table.stdout), text(&table.stderr));
        let json_out = gpufit(&[&args[..], &["-o", "json"]].concat());
        assert_eq!(json_out.status.code(), Some(0), "{}", text(&json_out.stderr));
        let report: Value = serde_json::from_slice(&json_out.stdout).unwrap();
        assert!(server.requests().iter().any(|r| r == pdbs), "{:?}", server.requests());
        (text(&table.stderr), report, text(&json_out.stderr))
    };
    let full = [pod("batch-a", "gpu-a", 1, "Running"), pod("batch-b", "gpu-b", 1, "Running")];

    let refused = ApiServer::start_forbidding(&nodes, &full, &classes, "v1.35.0", &[pdbs]);
    let (stderr, report, json_stderr) = check(&refused);
    assert_eq!(report["workloads"][0]["preempts"], json!(["ml/batch-a"]), "{report}");
    assert_eq!(stderr.lines().filter(|l| *l == WARNING).count(), 1, "once, on stderr: {stderr}");
    let entry = WARNING.strip_prefix("warning: ").unwrap();
    assert_eq!(report["warnings"], json!([entry]), "{report}");
    assert!(json_stderr.contains(WARNING), "stderr says it with -o json too: {json_stderr}");

    // A free GPU: no victims, nothing a budget could have changed.
    let room = ApiServer::start_forbidding(&nodes, &full[..1], &classes, "v1.35.0", &[pdbs]);
    let (stderr, report, _) = check(&room);
    assert_eq!(report["workloads"][0].get("preempts"), None, "{report}");
    assert!(!stderr.contains("PodDisruptionBudgets"), "{stderr}");
    assert_eq!(report.get("warnings"), None, "{report}");

    // Read, and empty: preemption went by what the cluster has.
    let read = ApiServer::start_with_pdbs(&nodes, &full, &classes, &[], "v1.35.0");
    let (stderr, report, _) = check(&read);
    assert_eq!(report["workloads"][0]["preempts"], json!(["ml/batch-a"]), "{report}");
    assert!(!stderr.contains("PodDisruptionBudgets"), "{stderr}");
    assert_eq!(report.get("warnings"), None, "{report}");
}
