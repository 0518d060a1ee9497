//! `check`: one report per cluster, as a table (wide: with each
//! workload's nodes and the free GPUs per node after placement) or as a
//! `FitReport` / `FitReportList` document.

use gpuops_cli::{Kind, OutputArgs, OutputFormat, Table};
use gpuops_fit::report::{MemoryReport, MemoryStatus, Report};
use gpuops_model::catalog::find_model;
use gpuops_model::memory::edge::Edge;
use gpuops_model::memory::{MemoryFit, Refusal};

use super::{Items, document, is_document};
use crate::Error;

/// The answer of `check`: one cluster's report, or a fleet's, in the order
/// the contexts were given.
pub(crate) fn check(reports: &[Report], args: &OutputArgs) -> Result<String, Error> {
    if is_document(args.output) {
        return match reports {
            [one] => document(Kind::FitReport, one, args.output),
            fleet => document(Kind::FitReportList, Items { items: fleet }, args.output),
        };
    }
    let mut out = String::new();
    for (i, report) in reports.iter().enumerate() {
        if reports.len() > 1 {
            out.push_str(&format!("{}# {}\n", if i > 0 { "\n" } else { "" }, report.cluster));
        }
        out.push_str(&check_table(report, args.output == OutputFormat::Wide, args.no_headers));
    }
    Ok(out)
}

fn short_model(id: &str) -> String {
    find_model(id).map_or_else(
        || id.rsplit('/').next().unwrap_or(id).to_string(),
        |m| m.id.rsplit('/').next().unwrap_or(&m.id).trim_end_matches("-Instruct").to_string(),
    )
}

fn memory_cell(m: Option<&MemoryReport>) -> (String, String) {
    let Some(m) = m else { return (String::new(), String::new()) };
    let model = match &m.fit {
        Some(f) => format!(
            "{} TP{}{}",
            short_model(&f.model),
            f.tensor_parallel,
            if f.pipeline_parallel > 1 { format!(" PP{}", f.pipeline_parallel) } else { String::new() }
        ),
        None => short_model(&m.reference),
    };
    let memory = match (m.status, &m.fit) {
        // Inside the model's own error vLLM has both started and refused
        // (`MemoryFit::edge`): neither `ok` nor `no`, whichever way the
        // model leans; the warning under the table names the limit and
        // the error.
        (MemoryStatus::Fits | MemoryStatus::DoesNotFit, Some(MemoryFit { edge: Some(edge), fits, .. })) => {
            edge_cell(edge, *fits)
        }
        // vLLM's "Maximum concurrency for N tokens per request: X.XXx".
        (MemoryStatus::Fits, Some(f)) => format!("ok: {:.2}x at {}", f.max_concurrency, tokens(f.max_model_len)),
        (MemoryStatus::DoesNotFit, Some(f)) if f.kv_budget_gib <= 0.0 => "weights do not fit".to_string(),
        (MemoryStatus::DoesNotFit, Some(f)) if !f.tp_valid => "TP invalid".to_string(),
        (MemoryStatus::DoesNotFit, Some(f)) if !f.dtype_supported => "dtype unsupported".to_string(),
        // vLLM's startup check: another pod on its time-sliced GPU holds
        // the memory (the whole refusal is under the table).
        (MemoryStatus::DoesNotFit, Some(f)) if f.refusal == Some(Refusal::FreeMemory) => {
            "no: GPU memory in use".to_string()
        }
        // The GPU ran out: beside other processes' memory, or once the cache
        // held the request (graphs captured after it, a fixed KV budget,
        // the sampler warm-up); the whole refusal is under the table.
        (MemoryStatus::DoesNotFit, Some(f))
            if matches!(f.refusal, Some(Refusal::OutOfMemoryBesideOthers | Refusal::OutOfMemoryAfterCache)) =>
        {
            "no: CUDA out of memory".to_string()
        }
        // Another startup check (`max_model_len` above the derived one,
        // `VLLM_USE_V1=1` where V1 lacks a feature, …): not a length the
        // cache could not hold.
        (MemoryStatus::DoesNotFit, Some(f)) if f.refusal == Some(Refusal::Startup) => {
            "no: refused at startup".to_string()
        }
        // vLLM's "the estimated maximum model length is N": the cache-size
        // refusal, when vLLM meets no other refusal first (`MemoryFit::refusal`).
        (MemoryStatus::DoesNotFit, Some(f)) => {
            format!("no: {} max len, {} asked", tokens(f.max_context), tokens(f.max_model_len))
        }
        (MemoryStatus::NoGpu, _) => "no GPU requested".to_string(),
        (MemoryStatus::Cpu, _) => "CPU: not checked".to_string(),
        (other, _) => other.as_str().to_string(),
    };
    (model, memory)
}

/// `edge: 0.22 GiB spare` / `edge: 0.02 GiB short`: how far the start is
/// from the limit that decides it, the way the model leans — the figure
/// and the words of the warning under the table (`Edge::text`).
fn edge_cell(edge: &Edge, fits: bool) -> String {
    if fits {
        format!("edge: {:.2} GiB spare", edge.margin_gib)
    } else {
        format!("edge: {:.2} GiB short", -edge.margin_gib)
    }
}

fn tokens(n: u64) -> String {
    if n >= 1000 { format!("{}k", n / 1000) } else { n.to_string() }
}

fn check_table(report: &Report, wide: bool, no_headers: bool) -> String {
    let mut headers = vec!["workload", "pods", "gpus/pod", "placed", "model", "memory", "status"];
    if wide {
        headers.extend(["nodes", "rollout"]);
    }
    let mut t = Table::new(&headers);
    for w in &report.workloads {
        let name = match &w.role {
            None => w.workload.to_string(),
            Some(role) => format!("{} [{role}]", w.workload),
        };
        let (model, memory) = memory_cell(w.memory.as_ref());
        let mut row = vec![
            name,
            w.replicas.to_string(),
            w.gpus_per_pod.to_string(),
            format!("{}/{}", w.placed, w.replicas),
            model,
            memory,
            w.status().as_str().to_string(),
        ];
        if wide {
            let rollout = match &w.rollout {
                None => "-".to_string(),
                Some(r) if r.fits => format!("surge {} ok", r.surge),
                Some(r) => format!("surge {} blocked", r.surge),
            };
            row.push(nodes_cell(&w.nodes));
            row.push(rollout);
        }
        t.push(row);
    }
    let mut out = t.render(no_headers);
    out.push_str(&report.explain_with(wide));
    if wide {
        out.push('\n');
        let mut t = Table::new(&["node", "resource", "allocatable", "free before", "free after"]);
        for n in &report.nodes_after {
            t.push(vec![
                n.node.clone(),
                n.resource.clone(),
                n.allocatable.to_string(),
                n.free_before.to_string(),
                n.free_after.to_string(),
            ]);
        }
        out.push_str(&t.render(no_headers));
    }
    out.push('\n');
    for g in &report.gpus {
        out.push_str(&format!(
            "{}: {} allocatable on {} node(s), {} in use before, {} free after placement, at most {} on one node\n",
            g.resource, g.allocatable, report.nodes, g.in_use_before, g.free_after, g.max_free_on_one_node
        ));
    }
    out
}

/// The nodes a workload's pods landed on, a run of one node as
/// `NODE×COUNT` (`gpu-0×3,gpu-1`); `-` when none was placed.
fn nodes_cell(placed: &[String]) -> String {
    let mut nodes: Vec<String> = Vec::new();
    for n in placed {
        match nodes.last_mut() {
            Some(last) if last.split('×').next() == Some(n.as_str()) || last == n => {
                let count = last.split('×').nth(1).and_then(|c| c.parse::<u32>().ok()).unwrap_or(1) + 1;
                *last = format!("{n}×{count}");
            }
            _ => nodes.push(n.clone()),
        }
    }
    if nodes.is_empty() { "-".into() } else { nodes.join(",") }
}

#[cfg(test)]
mod tests {
    use super::nodes_cell;

    #[test]
    fn runs_of_one_node_are_counted() {
        let placed = ["gpu-0", "gpu-0", "gpu-0", "gpu-1", "gpu-0"].map(String::from);
        assert_eq!(nodes_cell(&placed), "gpu-0×3,gpu-1,gpu-0");
        assert_eq!(nodes_cell(&[]), "-");
    }
}
