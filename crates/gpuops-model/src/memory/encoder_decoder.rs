//! Encoder-decoder multimodal models (Mllama: Llama 3.2 Vision), which
//! gpuops does not size.
//!
//! vLLM V0 profiles them through `EncoderDecoderModelRunner.profile_run`
//! (vllm/worker/enc_dec_model_runner.py, v0.7.0:265-341; the same code in
//! v0.6.6.post1 up to formatting): every one of the `max_num_seqs` dummy
//! sequences gets the encoder dummy data of the model (:281-295), which for
//! Mllama is one 1024 × 1024 image (vllm/model_executor/models/mllama.py
//! v0.7.0:216-232, `limit_mm_per_prompt` 1), cut into `max_num_tiles` tiles
//! of `image_size` pixels. The whole batch of images then runs through the
//! vision encoder at once. Read term by term ([`mllama_vision_peak_gib`]),
//! that profile peaks far above what vLLM logged for the one public log
//! of it (Llama-3.2-11B-Vision, 128 sequences: 58.6 GiB read from the
//! source against 36.63 logged), so the source reading misses something
//! and no constant is fitted on that row (vllm#12126; a fit row since the
//! 2026-12-03 audit moved its publisher, who had been cited for other
//! constants, out of the checking half).
//! gpuops therefore says it cannot size these models ([`unsized_reason`]).
//!
//! Versions: the reading is of V0 (0.6.6.post1, 0.7.0). Releases from 0.8
//! default to V1 but start encoder-decoder models on V0; V1's own path
//! was not read. No version is sized.

use super::Generation;
use crate::catalog::ModelShape;

const GIB: f64 = (1u64 << 30) as f64;

/// `model_type`s whose profile run is the encoder-decoder one above.
const ENCODER_DECODER_MULTIMODAL: &[&str] = &["mllama"];

/// The same models by the class vLLM registers for them
/// (vllm/model_executor/models/registry.py v0.7.0: `"MllamaForConditionalGeneration":
/// ("mllama", "MllamaForConditionalGeneration")` under `_MULTIMODAL_MODELS`),
/// for a `config.json` whose `model_type` was rewritten or left out.
const ENCODER_DECODER_ARCHITECTURES: &[&str] = &["MllamaForConditionalGeneration"];

/// Whether the model's vLLM profile run is the encoder-decoder multimodal
/// one, decided from the architecture the shape carries (its `config.json`'s
/// `model_type` or `architectures`), wherever the shape came from: the
/// catalog, the Hugging Face cache, the hub or an OCI artifact.
pub fn is_encoder_decoder_multimodal(model: &ModelShape) -> bool {
    ENCODER_DECODER_MULTIMODAL.contains(&model.model_type.as_str())
        || model.architectures.iter().any(|a| ENCODER_DECODER_ARCHITECTURES.contains(&a.as_str()))
}

/// Why gpuops cannot size this model's startup budget on `generation`,
/// and what to take from vLLM instead; `None` when it can.
///
/// Besides the encoder-decoder models above, a decoder-only vision model
/// under V0: V0's profile run gives `max(1, min(max_num_seqs,
/// max_num_batched_tokens // max_mm_tokens))` dummy sequences the largest
/// multimodal input the model takes, each (worker/model_runner.py
/// `_dummy_run`, v0.8.4:1300-1325: "the number of seqs (batch_size) is
/// chosen to maximize the number of images processed"), and the vision
/// encoder's peak on it is not derived here (the V1 path keeps the 1 GiB
/// allowance, [`super::overhead::activation_gib`]). The public log that
/// showed it: Qwen2.5-VL-7B on an RTX 3090 at 0.8.4 under V0 held 2,400
/// tokens of KV cache where the allowance leaves 62,496 (gpustack#1800).
pub fn unsized_reason(model: &ModelShape, generation: Generation) -> Option<String> {
    let read =
        "read 'PyTorch activation peak memory' and '# CUDA blocks' from a vLLM startup log with the same flags and GPU";
    if is_encoder_decoder_multimodal(model) {
        return Some(format!(
            "not sized by gpuops: {} is an encoder-decoder multimodal model, whose vLLM profile run encodes one \
             largest image per dummy sequence (max_num_seqs of them) and gpuops cannot derive that peak; {read}",
            model.id
        ));
    }
    if model.vision && generation == Generation::V0 {
        return Some(format!(
            "not sized by gpuops: {} is a vision-language model on vLLM's V0 engine, whose profile run gives its dummy \
             sequences the largest images the model takes and gpuops cannot derive the vision encoder's peak on them; {read}",
            model.id
        ));
    }
    let model_type = model.model_type.as_str();
    if !model.vision || ALLOWANCE_BORNE_OUT.contains(&model_type) {
        return None;
    }
    let read = "read 'GPU KV cache size' from a vLLM startup log with the same flags and GPU";
    Some(if LARGE_IMAGE_VISION.contains(&model_type) {
        format!(
            "not sized by gpuops: {} is a vision-language model whose vLLM profile run encodes the largest image it \
             takes (16,384 tokens, 65,536 patches through the vision tower) and gpuops cannot derive that peak: the \
             1 GiB allowance it keeps for other vision models left 24,320 tokens of KV cache for Qwen2.5-VL-72B at \
             TP 4 on A100 40GB where vLLM 0.8.3 logged 9,072 (vllm#16570); {read}",
            model.id
        )
    } else {
        format!(
            "not sized by gpuops: {} is a vision-language model whose vLLM profile run encodes the largest images it \
             takes, and gpuops cannot derive that peak: its 1 GiB allowance is borne out by public logs only for \
             Gemma 3, Mistral Small 3.1 and Llama 4; {read}",
            model.id
        )
    })
}

/// Vision-language models whose encoder's profile peak the 1 GiB allowance
/// ([`super::overhead::activation_gib`]) is borne out for: the fit half's
/// Gemma 3 27B (−1.8 % KV at 0.19), Mistral Small 3.1 (−2.8 %) and Llama 4
/// Scout (+11.1 %). Any other vision model is not sized on V1: the one
/// other family with a public V1 log missed it by 168 % ([`LARGE_IMAGE_VISION`]).
const ALLOWANCE_BORNE_OUT: &[&str] = &["gemma3", "mistral3", "llama4"];

/// Vision-language models whose largest image runs to thousands of tokens:
/// Qwen2-VL and Qwen2.5-VL take `max_pixels` 12,845,056 (28² pixels a
/// token after the 2 × 2 merge: 16,384 tokens). V1's profile run encodes
/// `min(encoder_budget // max_tokens_per_item, max_num_seqs × images per
/// prompt)` of them, the budget being at least one item (v0.8.5
/// v1/worker/gpu_model_runner.py:1584-1650): one full-size image even at
/// `max_num_seqs` 2. The 1 GiB allowance ([`super::overhead::activation_gib`])
/// holds for Gemma 3, Mistral Small 3.1 and Llama 4 (fit rows at 0.19);
/// on Qwen2.5-VL-72B at 0.8.3 (vllm#16570, a check row) it left 2.7 times
/// the KV cache vLLM logged.
const LARGE_IMAGE_VISION: &[&str] = &["qwen2_vl", "qwen2_5_vl"];

/// The vision configuration fields the profile depends on (Mllama's
/// `vision_config`; `data/models.json` carries only the widths and layer
/// counts, so callers give the rest from the model's own `config.json`).
#[derive(Debug, Clone, Copy)]
pub struct MllamaVision {
    /// One image per dummy sequence: `max_num_seqs`.
    pub images: u64,
    pub max_num_tiles: u64,
    pub image_size: u64,
    pub patch_size: u64,
    pub hidden: u64,
    pub intermediate: u64,
    /// `len(intermediate_layers_indices)`: local-encoder inputs kept.
    pub kept_layers: u64,
}

/// The vision encoder's live tensors at the last global layer's GELU, read
/// from vLLM v0.7.0 (GiB above the weights), bf16 activations:
///
/// - the pixel values twice in float32: the batch moved to the GPU as the
///   processor made it (multimodal/inputs.py:439, no dtype cast) and the
///   padded copy `out_images` (mllama.py:1210-1218), `images × tiles × 3
///   × image_size² × 4` bytes each;
/// - the aspect-ratio attention mask, `images × (tiles × P)² × 2` bytes,
///   P the patches of a tile plus the class token padded to a multiple of
///   8 (mllama.py:258, :640), alive through both encoders;
/// - per `H = images × tiles × P × hidden × 2` bytes: the kept local
///   inputs, held by `output` (:520, :660), and their stacked copy (:665),
///   the local encoder's last output (`output[0]`), the global input, the
///   layer input held by the encoder loop (:521), the residual, the
///   post-attention norm, `fc1`'s output and GELU's (clip.py:306-307) —
///   `2 × kept + 5 + 2 × intermediate/hidden` of them.
pub fn mllama_vision_peak_gib(v: &MllamaVision) -> f64 {
    let side = v.image_size as f64;
    let pixels = (v.images * v.max_num_tiles) as f64 * 3.0 * side * side * 4.0;
    let patches = (v.image_size / v.patch_size.max(1)).pow(2) + 1;
    let padded = patches.next_multiple_of(8);
    let per_image = (v.max_num_tiles * padded) as f64;
    let mask = v.images as f64 * per_image * per_image * 2.0;
    let h = v.images as f64 * per_image * v.hidden as f64 * 2.0;
    let copies = 2.0 * v.kept_layers as f64 + 5.0 + 2.0 * v.intermediate as f64 / v.hidden.max(1) as f64;
    (2.0 * pixels + mask + copies * h) / GIB
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::find_model;

    /// Llama-3.2-11B-Vision's `vision_config` (huggingface.co/meta-llama/
    /// Llama-3.2-11B-Vision config.json: image_size 560, patch_size 14,
    /// max_num_tiles 4, hidden_size 1280, intermediate_size 5120,
    /// intermediate_layers_indices [3, 7, 15, 23, 30]) under 128 dummy
    /// sequences (vllm#12126's run). The reading is 58.6 GiB; vLLM logged
    /// 36.63. A KV pool from the reading would be 71.29 − 19.86 − 0.16 −
    /// 58.6 < 0 GiB where vLLM had 14.65: the reading cannot size the row,
    /// which is why gpuops declines to. If a better reading lands within
    /// ±2 GiB of the log (±15 % of its KV pool), this test says so.
    #[test]
    fn the_source_reading_of_the_mllama_profile_is_far_from_its_log() {
        let vision = MllamaVision {
            images: 128,
            max_num_tiles: 4,
            image_size: 560,
            patch_size: 14,
            hidden: 1280,
            intermediate: 5120,
            kept_layers: 5,
        };
        let read = mllama_vision_peak_gib(&vision);
        assert!((58.0..59.5).contains(&read), "{read:.2}");
        let logged = 36.63;
        assert!((read - logged).abs() > 0.15 * 14.65, "within the KV band now: {read:.2} vs {logged}");
    }

    #[test]
    fn mllama_is_unsized_other_models_are_not() {
        for id in ["meta-llama/Llama-3.2-11B-Vision", "meta-llama/Llama-3.2-11B-Vision-Instruct"] {
            let reason = unsized_reason(&find_model(id).unwrap(), Generation::V1).unwrap();
            assert!(reason.starts_with("not sized by gpuops") && reason.contains("PyTorch activation peak memory"));
        }
        // Other vision models go through the decoder-only profile: sized
        // on V1 with the allowance, not on V0 (one largest image per dummy
        // sequence, worker/model_runner.py v0.8.4:1300-1325) …
        let gemma = find_model("google/gemma-3-27b-it").unwrap();
        assert!(gemma.vision && unsized_reason(&gemma, Generation::V1).is_none());
        assert!(unsized_reason(&gemma, Generation::V0).is_some());
        // … but Qwen2-VL and Qwen2.5-VL, whose largest image is 16,384
        // tokens, not on V1 either (vllm#16570) …
        let qwen_vl = find_model("Qwen/Qwen2.5-VL-7B-Instruct").unwrap();
        for generation in [Generation::V1, Generation::V1Graphs] {
            let v1 = unsized_reason(&qwen_vl, generation).unwrap();
            assert!(v1.contains("is a vision-language model whose vLLM profile run encodes the largest image"), "{v1}");
        }
        assert!(unsized_reason(&find_model("Qwen/Qwen2-VL-7B-Instruct").unwrap(), Generation::V1).is_some());
        // A vision family no public log bears the allowance out for (an
        // InternVL config from the HF cache) is not sized either.
        let other = ModelShape { model_type: "internvl_chat".into(), ..gemma };
        let reason = unsized_reason(&other, Generation::V1).unwrap();
        assert!(
            reason.contains("borne out by public logs only for Gemma 3, Mistral Small 3.1 and Llama 4"),
            "{reason}"
        );
        for family in ["mistralai/Mistral-Small-3.1-24B-Instruct-2503", "meta-llama/Llama-4-Scout-17B-16E-Instruct"] {
            assert!(unsized_reason(&find_model(family).unwrap(), Generation::V1).is_none(), "{family}");
        }
        let v0 = unsized_reason(&qwen_vl, Generation::V0).unwrap();
        assert!(
            v0.starts_with(
                "not sized by gpuops: Qwen/Qwen2.5-VL-7B-Instruct is a vision-language model on vLLM's V0 engine"
            ),
            "{v0}"
        );
        for generation in [Generation::V0, Generation::V1, Generation::V1Graphs] {
            assert!(unsized_reason(&find_model("Llama-3.1-8B-Instruct").unwrap(), generation).is_none());
        }
    }

    /// A Mllama `config.json` the catalog does not know (a fine-tune under
    /// its own id, read from the HF cache or the hub) is declined the same
    /// way: the decision reads the config's architecture, not the id. The
    /// config is Llama-3.2-11B-Vision's, trimmed to the fields the shape reads.
    #[test]
    fn any_mllama_config_is_unsized_whatever_its_id() {
        let text = serde_json::json!({"model_type": "mllama_text_model", "hidden_size": 4096, "intermediate_size": 14336,
            "num_hidden_layers": 40, "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 128256,
            "max_position_embeddings": 131072});
        let vision = serde_json::json!({"hidden_size": 1280, "intermediate_size": 5120, "num_hidden_layers": 32,
            "num_global_layers": 8, "image_size": 560, "patch_size": 14, "max_num_tiles": 4});
        let config = serde_json::json!({"architectures": ["MllamaForConditionalGeneration"], "model_type": "mllama",
            "text_config": text, "vision_config": vision});
        let shape = crate::hfconfig::shape("someone/my-vision-finetune", &config, None, "config.json").unwrap();
        assert_eq!(shape.model_type, "mllama");
        assert!(unsized_reason(&shape, Generation::V1).is_some_and(|r| r.contains("someone/my-vision-finetune")));

        // Only the class name left: still recognised.
        let mut by_class = config;
        by_class.as_object_mut().unwrap().remove("model_type");
        let shape = crate::hfconfig::shape("someone/other", &by_class, None, "config.json").unwrap();
        assert!(is_encoder_decoder_multimodal(&shape));

        // The same text model without the Mllama wrapper is sized.
        let mut plain = text;
        plain["model_type"] = "llama".into();
        plain["architectures"] = serde_json::json!(["LlamaForCausalLM"]);
        let shape = crate::hfconfig::shape("someone/text-only", &plain, None, "config.json").unwrap();
        assert!(unsized_reason(&shape, Generation::V0).is_none());
    }
}
