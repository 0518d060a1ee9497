//! Our YAML emitter beside serde-saphyr's serializer (the crate gpuops
//! reads YAML with), on what kustomize users see: every example render of
//! the repository, and a 10,000-object stream. Prints, per emitter, how many
//! documents come back byte-identical to kustomize's own output and the time
//! to emit the large stream. Run with `scripts/bench.sh emit`.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

/// kustomize-rendered documents from the reviewed example snapshots.
fn kustomize_documents(root: &Path) -> Vec<String> {
    let mut docs = Vec::new();
    for example in ["llmops-overlays", "progressive-stages"] {
        let dir = root.join("examples").join(example).join("expected");
        let mut files: Vec<_> = std::fs::read_dir(&dir).expect("expected/").flatten().map(|e| e.path()).collect();
        files.sort();
        for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "snap")) {
            let text = std::fs::read_to_string(file).expect("snapshot");
            // insta's header, then the render.
            let body = text.splitn(3, "---\n").nth(2).unwrap_or_default();
            docs.extend(body.split("\n---\n").map(|d| format!("{}\n", d.trim_end_matches('\n'))));
        }
    }
    docs
}

fn saphyr(value: &Value) -> String {
    let mut options = serde_saphyr::SerializerOptions::default();
    options.compact_list_indent = true;
    serde_saphyr::to_string_with_options(value, options).unwrap_or_else(|e| format!("error: {e}"))
}

fn time(mut f: impl FnMut()) -> Duration {
    let mut samples: Vec<Duration> = (0..5)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    samples.sort();
    samples[2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("repo root").to_path_buf();
    let docs = kustomize_documents(&root);
    let values: Vec<Value> =
        docs.iter().map(|d| gpuops_manifest::yaml::parse_document(d, "render", 1).expect("parses")).collect();
    let ours = docs.iter().zip(&values).filter(|(d, v)| gpuops_manifest::yaml::to_yaml_string(v) == **d).count();
    let theirs = docs.iter().zip(&values).filter(|(d, v)| saphyr(v) == **d).count();
    let differ = |emit: &dyn Fn(&Value) -> String| -> Vec<usize> {
        docs.iter().zip(&values).enumerate().filter(|(_, (d, v))| emit(v) != **d).map(|(i, _)| i).collect()
    };
    println!(
        "documents differing: gpuops {:?}, serde-saphyr {:?}",
        differ(&gpuops_manifest::yaml::to_yaml_string),
        differ(&saphyr)
    );
    println!("fidelity on {} kustomize-rendered documents of examples/:", docs.len());
    println!("  gpuops emitter:      {ours} byte-identical");
    println!("  serde-saphyr 2.1:    {theirs} byte-identical (compact_list_indent)");
    if let Some((d, v)) = docs.iter().zip(&values).find(|(d, v)| gpuops_manifest::yaml::to_yaml_string(v) != **d) {
        let emitted = gpuops_manifest::yaml::to_yaml_string(v);
        let first = d.lines().zip(emitted.lines()).find(|(a, b)| a != b);
        println!("  first gpuops difference: {first:?}");
    }
    if let Some((d, v)) = docs.iter().zip(&values).find(|(d, v)| saphyr(v) != **d) {
        let emitted = saphyr(v);
        let first = d.lines().zip(emitted.lines()).find(|(a, b)| a != b);
        println!("  first serde-saphyr difference: {first:?}");
    }

    // Speed: the documents repeated to 10,000.
    let many: Vec<&Value> = values.iter().cycle().take(10_000).collect();
    let t_ours = time(|| {
        let mut out = String::new();
        for v in &many {
            gpuops_manifest::yaml::write_document(&mut out, v);
        }
        assert!(!out.is_empty());
    });
    let t_theirs = time(|| {
        let mut out = String::new();
        for v in &many {
            out.push_str(&saphyr(v));
        }
        assert!(!out.is_empty());
    });
    println!(
        "emitting 10,000 documents: gpuops {:.0} ms, serde-saphyr {:.0} ms (median of 5)",
        t_ours.as_secs_f64() * 1e3,
        t_theirs.as_secs_f64() * 1e3
    );
}
