//! Peak memory of `argocd-gpuops-cmp generate` on a 40 MiB render, beside
//! the render's size. Prints numbers; not part of the test suite.
//!
//! ```text
//! cargo run -p gpuops-bench --release --bin bench-cmp-memory -- \
//!     [target/release/argocd-gpuops-cmp] [OLD-BINARY] [MiB]
//! ```
//!
//! kustomize is stood in for by `cat` of a pre-built render (the sidecar's
//! own `GPUOPS_KUSTOMIZE`), so the peak is the sidecar's, not kustomize's:
//! the peak RSS of a child includes its waited-for descendants, and `cat`
//! holds a few pages. Target: at most 3x the render after kustomize.
//!
//! Measured (release, 2 cores, 40 MiB render of 35,593 Deployments that
//! do not fit the 8-GPU node): the fit gate held every object as a Value
//! and a clone of each pod spec, 1027 MiB (25.7x); with gpuops-fit's
//! `Inputs` (pod groups as objects are parsed, scheduling fields only) and
//! `check_each` (each workload explained and dropped), 171 MiB (4.3x):
//! the render (44 MiB), the pod groups (~60 MiB: labels and requests are
//! BTreeMaps, ~0.5 KiB each), placement (~20 MiB) and the explanation
//! printed on stderr (24 MiB); with the explanation capped at 64 KiB (the
//! first workloads that do not fit, then a count), 147 MiB (3.7x).
#![allow(clippy::print_stdout)]
#![allow(unsafe_code)] // wait4 for the child's own rusage

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Peak RSS (bytes), wall time and success of one run.
struct Run {
    peak: u64,
    wall: Duration,
    ok: bool,
}

fn measure(mut cmd: Command) -> Run {
    let started = Instant::now();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("spawn");
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    let mut status = 0;
    // SAFETY: wait4 writes one status int and one rusage struct we own;
    // the child is ours and not waited for elsewhere (std's Child is
    // dropped without wait, which does not reap).
    let usage = unsafe {
        let mut usage = std::mem::zeroed::<libc::rusage>();
        assert_eq!(libc::wait4(pid, &raw mut status, 0, &raw mut usage), pid);
        usage
    };
    let wall = started.elapsed();
    drop(child);
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    // ru_maxrss is in KiB on Linux.
    Run { peak: u64::try_from(usage.ru_maxrss).unwrap_or(0) * 1024, wall, ok }
}

/// Deployments of a vLLM server, ~1.2 KiB each, up to `bytes`.
fn render(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 4096);
    let mut i = 0;
    while text.len() < bytes {
        if i > 0 {
            text.push_str("---\n");
        }
        let _ = write!(
            text,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: llm-{i}\n  namespace: ml\n  labels:\n    app: llm-{i}\n    team: inference\n  annotations:\n    description: \"a vLLM server for model number {i}\"\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: llm-{i}\n  template:\n    metadata:\n      labels:\n        app: llm-{i}\n    spec:\n      containers:\n      - name: vllm\n        image: registry.example.com/models/qwen:v1.0.0\n        args:\n        - --model\n        - /models/qwen\n        - --tensor-parallel-size\n        - \"1\"\n        env:\n        - name: HF_HOME\n          value: /models/cache\n        - name: VLLM_LOGGING_LEVEL\n          value: INFO\n        ports:\n        - containerPort: 8000\n          name: http\n        readinessProbe:\n          httpGet:\n            path: /health\n            port: 8000\n          periodSeconds: 10\n        resources:\n          limits:\n            nvidia.com/gpu: 1\n            memory: 32Gi\n          requests:\n            cpu: \"4\"\n            memory: 32Gi\n        volumeMounts:\n        - name: models\n          mountPath: /models\n      volumes:\n      - name: models\n        persistentVolumeClaim:\n          claimName: models\n"
        );
        i += 1;
    }
    text
}

const MIB: f64 = 1024.0 * 1024.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let absolute = |p: &str| PathBuf::from(p).canonicalize().unwrap_or_else(|e| panic!("{p}: {e} (build it first)"));
    let ours = absolute(args.first().map_or("target/release/argocd-gpuops-cmp", String::as_str));
    let old = args.get(1).filter(|p| !p.is_empty()).map(|p| absolute(p));
    let mib: usize = args.get(2).map_or(40, |m| m.parse().expect("MiB is a number"));

    let dir = tempfile::tempdir().expect("tempdir");
    let text = render(mib << 20);
    let size = text.len();
    let file = dir.path().join("render.yaml");
    std::fs::write(&file, &text).unwrap();
    drop(text);
    let kustomize = dir.path().join("kustomize");
    std::fs::write(&kustomize, format!("#!/bin/sh\nexec cat '{}'\n", file.display())).unwrap();
    std::fs::set_permissions(&kustomize, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let app = dir.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(app.join("kustomization.yaml"), "resources: []\n").unwrap();
    // The same render as a plain directory (no kustomization).
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::hard_link(&file, plain.join("render.yaml")).unwrap();

    let modes: [(&str, &Path, &str); 5] = [
        ("kustomize, no parameters", &app, "null"),
        (
            "kustomize, gpu-count + model-tags",
            &app,
            r#"[{"name":"gpu-count","string":"2"},{"map":{"registry.example.com/models/qwen":"v2.0.0"},"name":"model-tags"}]"#,
        ),
        (
            "kustomize, fit gate warn",
            &app,
            r#"[{"name":"fit-gate","string":"warn"},{"name":"capacity","string":"1*8xH100-80GB"}]"#,
        ),
        // Refuses the render (exit 1, shown as failed): the peak is what counts.
        (
            "kustomize, fit gate enforce",
            &app,
            r#"[{"name":"fit-gate","string":"enforce"},{"name":"capacity","string":"1*8xH100-80GB"}]"#,
        ),
        ("plain directory, gpu-count", &plain, r#"[{"name":"gpu-count","string":"2"}]"#),
    ];
    println!("render: {:.1} MiB ({size} bytes); peak RSS of generate (target <= 3x the render)", size as f64 / MIB);
    for (what, cwd, params) in modes {
        let run = |binary: &Path| {
            let mut c = Command::new(binary);
            c.arg("generate")
                .current_dir(cwd)
                .env_clear()
                .env("PATH", std::env::var_os("PATH").unwrap_or_default())
                .env("GPUOPS_KUSTOMIZE", &kustomize)
                .env("GPUOPS_DEADLINE", "600")
                .env("ARGOCD_APP_PARAMETERS", params);
            measure(c)
        };
        let line = |who: &str, r: &Run| {
            format!(
                "{who} {:.0} MiB = {:.2}x in {:.1} s{}",
                r.peak as f64 / MIB,
                r.peak as f64 / size as f64,
                r.wall.as_secs_f64(),
                if r.ok { "" } else { " (failed)" }
            )
        };
        let now = run(&ours);
        match old.as_deref().map(run) {
            Some(before) => println!("{what}: {}; {}", line("before", &before), line("after", &now)),
            None => println!("{what}: {}", line("peak", &now)),
        }
    }
}
