//! A model's shape: what the memory accounting reads of a checkpoint
//! (layers, heads, widths, parameters, quantization), whichever source it
//! came from — `config.json` ([`crate::hfconfig`]), the catalog
//! ([`crate::catalog`]) or a workload's annotations ([`crate::resolve`]).

/// A model's shape, from its `config.json` (see `hfconfig::shape`).
#[derive(Debug, Clone, PartialEq)]
pub struct ModelShape {
    /// Hugging Face id.
    pub id: String,
    pub layers: u64,
    pub heads: Option<u64>,
    pub kv_heads: u64,
    pub head_dim: u64,
    /// Parameters (billions), all of them (vision tower included).
    pub params_b: f64,
    /// Embedding + lm_head parameters (billions): they stay 16-bit under quantization.
    pub embedding_b: f64,
    /// Routed and shared expert parameters (billions); what MXFP4 checkpoints quantize.
    pub expert_b: f64,
    /// One expert's MLP width (`moe_intermediate_size`, else
    /// `intermediate_size`); 0 for a dense model. Sizes the padded MXFP4
    /// expert tensors.
    pub expert_width: u64,
    pub max_position: u64,
    pub vision: bool,
    /// MLA (DeepSeek V2/V3): the width of the one latent cached per token
    /// and layer (`kv_lora_rank + qk_rope_head_dim`), not split by TP.
    pub mla_latent: Option<u64>,
    /// MLA's projection widths, for the weights vLLM builds from them
    /// (`memory::mla_weights`); `None` for other attention.
    pub mla: Option<MlaDims>,
    /// Router (`gate`) parameters of all MoE layers (billions): vLLM keeps
    /// them whole on every TP rank and unquantized.
    pub router_b: f64,
    /// Routed experts each token goes to (`num_experts_per_tok`); 0 for a
    /// dense model. Sizes the fused-MoE kernel's intermediate caches.
    pub experts_per_token: u64,
    /// Bytes per weight of the checkpoint's own quantization
    /// (`quantization_config`), when it has one.
    pub checkpoint_bytes: Option<f64>,
    /// The checkpoint's own quantization method, as far as its config
    /// was read (what `--quantization` is checked against).
    pub checkpoint_quant: CheckpointQuant,
    /// Whether the checkpoint's quantization covers only the experts (MXFP4).
    pub experts_only_quantized: bool,
    pub hidden: u64,
    pub vocab: u64,
    /// The MLP width one token passes through (dense `intermediate_size`, or
    /// the routed experts it picks plus shared ones): sizes the activations.
    pub ffn_active: u64,
    /// Sliding-window (or chunked local) attention: the window, and how many
    /// of the layers use it (Mistral v0.1: all; Gemma 2: half; Gemma 3: 5 of 6).
    pub sliding_window: Option<u64>,
    pub sliding_layers: u64,
    pub moe: bool,
    /// The checkpoint's architecture: the top-level `model_type` of its
    /// `config.json` (for a multimodal model the outer one, `mllama`, not
    /// `text_config`'s `mllama_text_model`), else the text model's; empty
    /// when unknown (a shape from counts). With `architectures` it decides
    /// which vLLM profile run the model gets (`memory::encoder_decoder`).
    pub model_type: String,
    /// The checkpoint's `torch_dtype` (`dtype` in newer transformers) as
    /// the config spells it (`bfloat16`, `float16`, `float32`): what
    /// `--dtype auto` resolves to. `None` where the config was not read
    /// (the catalog keeps only the keys the memory model needs).
    pub torch_dtype: Option<String>,
    /// `architectures` of the `config.json` (vLLM picks the model class by it).
    pub architectures: Vec<String>,
}

/// What the checkpoint's config says of its own quantization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointQuant {
    /// No config of this checkpoint was read: a shape from counts, or a
    /// catalog entry of the same family standing in for it.
    NotRead,
    /// Its `config.json` has no `quantization_config` (nor a ModelOpt
    /// `hf_quant_config.json` beside it): unquantized weights.
    Unquantized,
    /// `quantization_config.quant_method` (lower case; `modelopt` for an
    /// `hf_quant_config.json`).
    Method(String),
}

/// The widths of DeepSeek V2/V3's multi-head latent attention, as its
/// `config.json` gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MlaDims {
    /// `q_lora_rank`: `None` when queries are projected from the hidden
    /// state directly (DeepSeek-V2-Lite).
    pub q_lora_rank: Option<u64>,
    pub kv_lora_rank: u64,
    pub qk_nope_head_dim: u64,
    pub qk_rope_head_dim: u64,
    pub v_head_dim: u64,
}

impl ModelShape {
    /// A shape from the four numbers a user can annotate (no config.json).
    pub fn from_counts(id: &str, params_b: f64, layers: u64, kv_heads: u64, head_dim: u64, max_position: u64) -> Self {
        Self {
            id: id.to_string(),
            layers,
            heads: None,
            kv_heads,
            head_dim,
            params_b,
            embedding_b: 0.0,
            expert_b: 0.0,
            expert_width: 0,
            max_position,
            vision: false,
            mla_latent: None,
            mla: None,
            router_b: 0.0,
            experts_per_token: 0,
            checkpoint_bytes: None,
            checkpoint_quant: CheckpointQuant::NotRead,
            experts_only_quantized: false,
            // Activations scale with width; a dense model of this size has
            // about this hidden size (Llama: 8B ↔ 4096, 70B ↔ 8192).
            hidden: (kv_heads * head_dim * 4).max(1024),
            vocab: 128_000,
            ffn_active: (kv_heads * head_dim * 14).max(4096),
            sliding_window: None,
            sliding_layers: 0,
            moe: false,
            model_type: String::new(),
            torch_dtype: None,
            architectures: Vec::new(),
        }
    }
}
