//! What an answer says it assumed or does not model, beside the verdict:
//! shown as `note:` by `model`, as warnings by `check` and the Argo CD gate.

use super::EngineArgs;
use super::budget::{Budget, Settings};
use super::overhead;
use crate::catalog::{GpuInfo, ModelShape, Vendor};

/// What gpuops cannot say about a KV connector: vLLM builds it beside the
/// cache (`KVConnectorFactory`, vllm/distributed/kv_transfer/kv_connector/
/// factory.py v0.8.5:79-111) and its buffers are its own — the P2P NCCL
/// connector's `kv_buffer_size` defaults to 1e9 bytes on `cuda`
/// (vllm/config.py v0.8.5:3240-3244), LMCache keeps its own GPU staging
/// buffers — none of which the budget (`budget.rs`) counts.
fn kv_connector_note(connector: &str) -> String {
    format!(
        "KV connector {connector} (--kv-transfer-config) is not modelled: the GPU memory it holds beside vLLM's KV cache (transfer or staging buffers) is not in these figures, nor what it offloads; leave room for it or check a startup log"
    )
}

/// The notes of one answer, in a fixed order: the settled release's own
/// (an assumed version), the V1 oracle's fallback, the dtype's fallback to
/// float16, a KV connector, LoRA's adapter slots where they are an upper
/// bound, flags the budget does not model, the vision
/// allowance, an assumed multicast granularity, V0's communication
/// buffers where no fit row bears them out, an assumed SM count.
pub(super) fn answer_notes(
    model: &ModelShape,
    gpu: &GpuInfo,
    args: &EngineArgs,
    s: &Settings,
    b: &Budget,
    not_sized: bool,
) -> Vec<String> {
    let mut notes = s.notes.clone();
    if let Some(fallback) = &s.v1_fallback {
        // The engine line says v0 where the release defaults to V1: say
        // why, in the words vLLM logs it.
        notes.push(fallback.fallback_message());
    }
    let engine_chosen_by_oracle = args.engine.is_none() && args.vllm_env.use_v1.is_none() && s.version.has_v1_oracle();
    if engine_chosen_by_oracle && gpu.vendor == Vendor::Nvidia && gpu.compute_assumed && s.v1_fallback.is_none() {
        // `GpuInfo::cuda_capability` gives the oracle no assumed capability:
        // the checks that read it (below 8.0; fp8 KV cache off
        // FlashAttention 3) cannot send the pod to V0 here.
        notes.push(format!(
            "the compute capability of {} is not known: vLLM {} falls back to its V0 engine below 8.0 and, for an fp8 KV cache, off FlashAttention 3; V1 assumed, name the GPU product to have it checked",
            gpu.label, s.version
        ));
    }
    if s.dtype == super::dtype::DtypeOutcome::FallsBackToFloat16 {
        notes.push(super::dtype::bf16_fallback_note(&gpu.label, &gpu.compute));
    }
    if let Some(connector) = &args.kv_connector {
        notes.push(kv_connector_note(connector));
    }
    if let (Some(lora), Some(memory)) = (&args.lora, &b.lora)
        && !not_sized
    {
        notes.extend(super::lora::note(lora, memory));
    }
    notes.extend(args.unmodelled.iter().filter(|f| f.applies(model.moe)).map(|f| f.note()));
    if model.vision && !not_sized {
        // The 1 GiB allowance (`overhead::activation_gib`) is no reading of
        // the encoder's profile: say so where the verdict is shown.
        notes.push(
            "the vision encoder's profile peak is a 1 GiB allowance, not derived from vLLM's source: public logs bear \
             it out for Gemma 3, Mistral Small 3.1 and Llama 4 at vLLM 0.19 (other vision models are not sized)"
                .to_string(),
        );
    }
    if super::allreduce_fusion::assumed_granularity(gpu, b.fi_allreduce_fusion_gib) {
        notes.push(format!(
            "FlashInfer's all-reduce fusion workspace ({:.2} GiB a GPU) is sized with the H100's 512 MiB multicast granularity; {}'s is not established",
            b.fi_allreduce_fusion_gib, gpu.label
        ));
    }
    notes.extend(overhead::v0_comms_note(s.generation, gpu, s.tp, b.non_torch_gib));
    if b.compute_units_assumed {
        // The Triton kernel keeps one vocabulary-wide row per program, up to
        // one per SM (`overhead::triton_buffer_rows`): a GPU given by its
        // memory alone has no SM count.
        notes.push(format!(
            "the GPU's compute units are unknown ({}): the sampler's Triton scratch is sized for {} SMs, an H100's; name the GPU product for its own",
            gpu.label,
            overhead::ASSUMED_COMPUTE_UNITS
        ));
    }
    notes
}
