//! Cross-crate behaviour of the fit engine.
//!
//! One test binary for the crate: every file under integration/ is a
//! module of it (one link instead of twelve in the suite).

/// inject's `strategy: auto` and gpufit's rollout check read a rolling
/// update through the same model (`gpuops_manifest::rollout`): on a cluster
/// with no spare GPU, gpufit reports a blocked rollout exactly when inject
/// would have switched the Deployment to Recreate, and both count the same
/// extra GPUs. Percentages round like the Deployment controller
/// (`ResolveFenceposts`: surge up, unavailable down, both 0 → unavailable 1).
#[test]
fn inject_and_fit_agree_on_every_surge_and_unavailable_combination() {
    use serde_json::{Value, json};

    let fences: [Option<Value>; 6] =
        [None, Some(json!(0)), Some(json!(1)), Some(json!("25%")), Some(json!("50%")), Some(json!("100%"))];
    let mut checked = 0;
    for replicas in [1u64, 2, 3, 4, 8, 10] {
        for surge in &fences {
            for unavailable in &fences {
                let mut rolling = serde_json::Map::new();
                if let Some(s) = surge {
                    rolling.insert("maxSurge".into(), s.clone());
                }
                if let Some(u) = unavailable {
                    rolling.insert("maxUnavailable".into(), u.clone());
                }
                if rolling.get("maxSurge") == Some(&json!(0)) && rolling.get("maxUnavailable") == Some(&json!(0)) {
                    continue; // the API server rejects both 0
                }
                let deployment = json!({
                    "apiVersion": "apps/v1", "kind": "Deployment",
                    "metadata": {"name": "llm", "namespace": "ml"},
                    "spec": {"replicas": replicas, "strategy": {"type": "RollingUpdate", "rollingUpdate": rolling},
                        "template": {"spec": {"containers": [{"name": "vllm", "image": "vllm/vllm-openai:v0.8.5",
                            "resources": {"limits": {"nvidia.com/gpu": 1}}}]}}}
                });

                // inject, strategy: auto.
                let profile = json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "GpuProfile", "metadata": {"name": "p"},
                    "spec": {"gpu": {"count": 1}, "strategy": "auto", "tensorParallel": "off"}});
                let config = gpuops_inject::decode(&profile).unwrap().unwrap();
                let mut items = vec![deployment.clone()];
                let outcome =
                    gpuops_inject::transform(&config, &mut items, &gpuops_model::resolve::Resolver::catalog());
                let recreated = items[0].pointer("/spec/strategy/type") == Some(&json!("Recreate"));
                let saved: Option<u64> = outcome.results.iter().find_map(|r| {
                    let m = r.message.split("would need ").nth(1)?;
                    m.split(' ').next()?.parse().ok()
                });

                // fit, on nodes with exactly `replicas` GPUs: no spare one.
                let cluster = gpuops_fit::pools::synthetic(&format!("{replicas}*1xH100-80GB")).unwrap();
                let report = gpuops_fit::report::check(&cluster, &[deployment], Default::default()).unwrap();
                let rollout = report.workloads[0].rollout.as_ref();
                let blocked = rollout.is_some_and(|r| !r.fits);

                let case = format!("replicas {replicas}, maxSurge {surge:?}, maxUnavailable {unavailable:?}");
                assert_eq!(recreated, blocked, "{case}: inject recreated={recreated}, fit blocked={blocked}");
                if blocked {
                    assert_eq!(saved, rollout.map(|r| r.gpus_needed as u64), "{case}: extra GPUs");
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 150, "{checked}");
}

#[path = "integration/real_world.rs"]
mod real_world;

#[path = "integration/scheduler_table.rs"]
mod scheduler_table;

#[path = "integration/admission.rs"]
mod admission;

#[path = "integration/budget.rs"]
mod budget;

#[path = "integration/kueue.rs"]
mod kueue;

#[path = "integration/memory.rs"]
mod memory;

#[path = "integration/memory_edge.rs"]
mod memory_edge;

#[path = "integration/pdb_report.rs"]
mod pdb_report;

#[path = "integration/pod_groups.rs"]
mod pod_groups;

#[path = "integration/scheduler_hints.rs"]
mod scheduler_hints;

#[path = "integration/shared_gpu.rs"]
mod shared_gpu;

#[path = "integration/upstream_preemption.rs"]
mod upstream_preemption;

#[path = "integration/upstream_scheduler.rs"]
mod upstream_scheduler;
