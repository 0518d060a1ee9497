//! Weights vLLM holds on a TP rank beyond its 1/TP share of the
//! checkpoint, for MoE and MLA (DeepSeek V2/V3) models: layers it keeps
//! whole on every rank, and the V0 MLA backend's absorbed matrices. Both
//! are inside what vLLM logs as "model weights take" (V0 measures the
//! weights as the torch allocation left after `get_model`, which runs
//! `process_weights_after_loading`: v0.7.3 worker/model_runner.py:1111-1114,
//! platforms/cuda.py:146-150, model_executor/model_loader/loader.py:156-177).

use super::engine::Generation;
use super::version::VllmVersion;
use crate::shape::{MlaDims, ModelShape};

const GIB: f64 = (1u64 << 30) as f64;

/// Bytes a TP rank holds beyond its share of the checkpoint (GiB), for the
/// `stage_layers` of its pipeline stage:
/// - [`replicated_bytes`]: the MoE router and MLA's down-projections,
///   built whole on every rank;
/// - [`absorbed_bytes`]: V0's absorbed MLA matrices (0.7.2–0.7.3).
///
/// `weight_bytes` is what a quantized weight takes (1 for an FP8
/// checkpoint), `dtype_bytes` the model dtype's.
pub fn extra_weights_gib(
    model: &ModelShape,
    version: VllmVersion,
    generation: Generation,
    tp: u64,
    stage_layers: u64,
    weight_bytes: f64,
    dtype_bytes: f64,
) -> f64 {
    let tp = tp.max(1);
    let share = stage_layers as f64 / model.layers.max(1) as f64;
    let replicated = replicated_bytes(model, tp, weight_bytes, dtype_bytes) * share;
    let absorbed = if absorbs_mla_weights(version, generation) {
        model.mla.map_or(0.0, |dims| {
            let heads = model.heads.unwrap_or(0) / tp;
            absorbed_bytes(dims, model.hidden, heads, weight_bytes < dtype_bytes, dtype_bytes) * stage_layers as f64
        })
    } else {
        0.0
    };
    (replicated + absorbed) / GIB
}

/// What the rank holds beyond its 1/TP share of the layers vLLM replicates
/// (bytes, all layers): the layers are counted in the checkpoint's
/// parameters at `weight_bytes`, split by TP, but each rank holds them whole.
/// - The router: `self.gate = ReplicatedLinear(hidden, n_experts,
///   quant_config=None)` (v0.7.3 model_executor/models/deepseek_v2.py:118-122,
///   qwen2_moe.py:120-123; mixtral.py:80), so at the model dtype even in a
///   quantized checkpoint.
/// - MLA's down-projections `q_a_proj` (`hidden × q_lora_rank`) and
///   `kv_a_proj_with_mqa` (`hidden × (kv_lora_rank + qk_rope_head_dim)`),
///   `ReplicatedLinear` with the model's quantization (v0.7.3
///   deepseek_v2.py:374-378, 395-400; the same at v0.7.2 :385, :406).
pub fn replicated_bytes(model: &ModelShape, tp: u64, weight_bytes: f64, dtype_bytes: f64) -> f64 {
    if tp <= 1 {
        return 0.0;
    }
    let split = 1.0 / tp as f64;
    let router = model.router_b * 1e9 * (dtype_bytes - weight_bytes * split);
    let down = model.mla.map_or(0.0, |d| {
        let params = model.hidden * (d.q_lora_rank.unwrap_or(0) + d.kv_lora_rank + d.qk_rope_head_dim);
        params as f64 * weight_bytes * (1.0 - split) * model.layers as f64
    });
    router.max(0.0) + down
}

/// V0's MLA backend absorbs the up-projections into the queries and the
/// output for decode and keeps the raw weights for prefill
/// (`MLACommonImpl.process_weights_after_loading`, v0.7.3
/// attention/backends/mla/utils.py:279-388, v0.7.2 :304-394,
/// `VLLM_MLA_PERFORM_MATRIX_ABSORPTION` default "1", v0.7.3 envs.py:546-547).
/// Per layer and rank (`heads` local heads), it keeps:
/// - `W_QR`: the rope part of the query up-projection, `(q_lora_rank or
///   hidden) × heads·qk_rope` in the model dtype (:322-327);
/// - `W_UK`/`W_UV`, views of `kv_b_proj` dequantized to the model dtype
///   (`kv_lora_rank × heads·(qk_nope + v)`) when the checkpoint is
///   quantized; an unquantized one is the parameter itself (:279-297, :348);
/// - `W_Q_UK`, `(q_lora_rank or hidden) × heads·kv_lora_rank`, and
///   `W_UV_O`, `heads·kv_lora_rank × hidden`: requantized to FP8 for an FP8
///   checkpoint (`VLLM_MLA_DISABLE_REQUANTIZATION` default "0"), else in
///   the model dtype (:353-384). Their block scales are a few KiB.
pub fn absorbed_bytes(dims: MlaDims, hidden: u64, heads: u64, quantized: bool, dtype_bytes: f64) -> f64 {
    let q_in = dims.q_lora_rank.unwrap_or(hidden) as f64;
    let heads = heads as f64;
    let kv_lora = dims.kv_lora_rank as f64;
    let w_qr = q_in * heads * dims.qk_rope_head_dim as f64 * dtype_bytes;
    let kv_b =
        if quantized { kv_lora * heads * (dims.qk_nope_head_dim + dims.v_head_dim) as f64 * dtype_bytes } else { 0.0 };
    let absorbed_bytes = if quantized { 1.0 } else { dtype_bytes };
    let w_q_uk = q_in * heads * kv_lora * absorbed_bytes;
    let w_uv_o = heads * kv_lora * hidden as f64 * absorbed_bytes;
    w_qr + kv_b + w_q_uk + w_uv_o
}

/// Whether the release's V0 MLA backend keeps absorbed copies: read at
/// v0.7.2 and v0.7.3 (the code above). V1 (its own MLA backend) and the
/// releases not read (0.7.0–0.7.1, V0 of 0.8+) do not get the term.
pub fn absorbs_mla_weights(version: VllmVersion, generation: Generation) -> bool {
    generation == Generation::V0 && version >= VllmVersion::new(0, 7, 2) && version < VllmVersion::new(0, 8, 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r1() -> MlaDims {
        // deepseek-ai/DeepSeek-R1 config.json.
        MlaDims {
            q_lora_rank: Some(1536),
            kv_lora_rank: 512,
            qk_nope_head_dim: 128,
            qk_rope_head_dim: 64,
            v_head_dim: 128,
        }
    }

    /// attention/backends/mla/utils.py v0.7.3:322-384 — DeepSeek-R1 (FP8)
    /// at TP8, 16 heads a rank: W_QR 3 MiB (bf16), the dequantized kv_b
    /// 4 MiB (bf16), W_Q_UK 12 MiB and W_UV_O 56 MiB (FP8): 75 MiB a layer,
    /// 4.47 GiB over 61 layers.
    #[test]
    fn deepseek_r1_fp8_absorbed_matrices_per_layer() {
        let bytes = absorbed_bytes(r1(), 7168, 16, true, 2.0);
        assert_eq!(bytes, (3 + 4 + 12 + 56) as f64 * 1024.0 * 1024.0);
    }

    /// The same code unquantized (DeepSeek-V2-Lite, bf16, no q_lora, 2 heads
    /// a rank at TP8): W_UK/W_UV are views of the kv_b parameter (no copy),
    /// W_QR 0.5 MiB, W_Q_UK and W_UV_O 4 MiB each in bf16.
    #[test]
    fn unquantized_absorption_keeps_no_kv_b_copy() {
        let lite = MlaDims { q_lora_rank: None, ..r1() };
        let bytes = absorbed_bytes(lite, 2048, 2, false, 2.0);
        assert_eq!(bytes, (0.5 + 4.0 + 4.0) * 1024.0 * 1024.0);
    }

    /// deepseek_v2.py v0.7.3:118-122 (router, unquantized) and :374-400
    /// (q_a_proj, kv_a_proj_with_mqa): DeepSeek-R1 at TP8 holds its 58
    /// routers (7168 × 256, bf16) and 61 × 7168 × 2112 FP8 down-projections
    /// whole on every rank.
    #[test]
    fn replicated_layers_are_held_whole_on_every_rank() {
        let mut shape = ModelShape::from_counts("r1", 671.0, 61, 1, 576, 163_840);
        shape.hidden = 7168;
        shape.mla = Some(r1());
        shape.router_b = 58.0 * 7168.0 * 256.0 / 1e9;
        let router = 58.0 * 7168.0 * 256.0 * (2.0 - 1.0 / 8.0);
        let down = 61.0 * 7168.0 * 2112.0 * (1.0 - 1.0 / 8.0);
        assert!((replicated_bytes(&shape, 8, 1.0, 2.0) - (router + down)).abs() < 1.0);
        assert_eq!(replicated_bytes(&shape, 1, 1.0, 2.0), 0.0, "one rank holds its share already");
    }

    /// V0 at 0.7.2–0.7.3 only (read there); not V1, not 0.7.1, not 0.8.
    #[test]
    fn absorption_band() {
        let v = |t: &str| VllmVersion::parse(t).unwrap();
        assert!(absorbs_mla_weights(v("0.7.3"), Generation::V0));
        assert!(absorbs_mla_weights(v("0.7.2"), Generation::V0));
        assert!(!absorbs_mla_weights(v("0.7.1"), Generation::V0));
        assert!(!absorbs_mla_weights(v("0.8.5"), Generation::V1));
        assert!(!absorbs_mla_weights(v("0.10.1"), Generation::V0));
    }
}
