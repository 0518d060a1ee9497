//! Which vLLM release a container runs, and the `VLLM_*` variables of its
//! env that move the memory budget. Every band boundary below was read in
//! the released wheels of vLLM (`vllm-X.Y.Z-*.whl`, the package's own
//! source at that tag); `docs/vllm-memory-versions.md` has the table with
//! the file and line of each.

use serde::Serialize;

use super::oracle::OracleInputs;

/// A vLLM release, `major.minor.patch` (post/dev suffixes dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct VllmVersion {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl VllmVersion {
    /// The newest release whose source the table was read at: what an
    /// image tagged `latest` (or not vLLM's own tag) is assumed to run.
    pub const ASSUMED: VllmVersion = VllmVersion::new(0, 34, 0);

    /// The oldest release whose source the table was read at
    /// (`docs/vllm-memory-versions.md`): an older one is sized with its
    /// accounting, and the answer says so.
    pub const OLDEST_READ: VllmVersion = VllmVersion::new(0, 6, 4);

    /// What the answer says of a release outside the ones read
    /// ([`Self::OLDEST_READ`] to [`Self::ASSUMED`]'s minor series): the
    /// figures are those releases' accounting, not its own.
    pub fn outside_read_note(self) -> Option<String> {
        let (oldest, newest) = (Self::OLDEST_READ, Self::ASSUMED);
        if self < oldest {
            Some(format!(
                "vLLM {self} predates the releases gpuops has read ({oldest} to {newest}): sized with the accounting of the oldest ones read, whose profile run and defaults it may not share; check a startup log"
            ))
        } else if (self.major, self.minor) > (newest.major, newest.minor) {
            Some(format!(
                "vLLM {self} is newer than the releases gpuops has read ({oldest} to {newest}): sized with {newest}'s accounting; a change to vLLM's memory profile since is not in these figures"
            ))
        } else {
            None
        }
    }

    pub const fn new(major: u64, minor: u64, patch: u64) -> Self {
        Self { major, minor, patch }
    }

    /// `0.6.4`, `v0.10.1.1`, `0.8.5.post1`, `0.11.0rc2`; `None` for
    /// `latest`, `nightly` or anything without two numeric parts.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let text = text.strip_prefix(['v', 'V']).unwrap_or(text);
        let mut parts = text.split(['.', '-', '+']);
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        // `0rc1`, `post1` or nothing: the leading digits, else 0.
        let patch = parts.next().map_or(0, |p| {
            let digits: String = p.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().unwrap_or(0)
        });
        Some(Self { major, minor, patch })
    }

    /// The version of a container image from its tag, when the repository
    /// is vLLM's own (`vllm/vllm-openai:v0.6.4`, `…/vllm-openai:v0.11.0-cu129`);
    /// another project's tag (`kserve/huggingfaceserver:v0.15.2`) says nothing.
    pub fn from_image(image: &str) -> Option<Self> {
        let repo_and_tag = image.split('@').next().unwrap_or(image);
        let (repo, tag) = repo_and_tag.rsplit_once(':').filter(|(_, t)| !t.contains('/'))?;
        if !repo.rsplit('/').next().is_some_and(|name| name.starts_with("vllm")) {
            return None;
        }
        Self::parse(tag)
    }

    pub(super) fn at_least(self, major: u64, minor: u64, patch: u64) -> bool {
        self >= Self::new(major, minor, patch)
    }

    /// The engine this release runs. V1 is the default from 0.8.0
    /// (envs.py `VLLM_USE_V1` default "1" at v0.8.5 envs.py:531, "0" at
    /// v0.7.3 envs.py:504); `VLLM_USE_V1=0` selects V0 while V0 exists
    /// (vllm/worker/worker.py is gone from the v0.11.0 wheel). From 0.20.0
    /// the CUDA graph estimate is inside the budget by default and the
    /// default utilization is 0.92 ([`Self::cuda_graphs_in_budget`]).
    /// Without the deployment's flags and GPU no oracle check fails: see
    /// [`Self::generation_on`].
    pub fn generation(self, env: &VllmEnv) -> Generation {
        self.generation_on(env, &OracleInputs::default())
    }

    /// [`Self::generation`] for a deployment: from 0.8.0 to 0.10.x, with
    /// `VLLM_USE_V1` unset, vLLM falls back to V0 when its V1 oracle
    /// (engine/arg_utils.py `EngineArgs._is_v1_supported_oracle`) finds a
    /// feature V1 lacks ([`Self::v1_fallback`]); with `VLLM_USE_V1=1` it
    /// runs V1, or refuses ([`Self::v1_refused`]).
    pub fn generation_on(self, env: &VllmEnv, inputs: &OracleInputs) -> Generation {
        let v0_default = !self.at_least(0, 8, 0);
        let v0_exists = !self.at_least(0, 11, 0);
        let v0 = match env.use_v1 {
            Some(use_v1) => !use_v1 && v0_exists,
            None => v0_default || self.v1_fallback(env, inputs).is_some(),
        };
        if v0 {
            Generation::V0
        } else if self.at_least(0, 20, 0) {
            Generation::V1Graphs
        } else {
            Generation::V1
        }
    }

    /// Whether `determine_available_memory` takes the CUDA graph estimate
    /// out of the budget: `VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS`
    /// appears in 0.18.0 defaulting to "0" (v0.18.0 envs.py:1636, applied
    /// at v1/worker/gpu_worker.py:413) and defaults to "1" from 0.20.0
    /// (v0.20.0 envs.py:1725; v0.34.0 gpu_worker.py:746,776). V0 captures
    /// graphs after the KV cache, from what `gpu_memory_utilization` leaves.
    pub fn cuda_graphs_in_budget(self, env: &VllmEnv, generation: Generation) -> bool {
        if generation == Generation::V0 || !self.at_least(0, 18, 0) {
            return false;
        }
        env.estimate_cudagraphs.unwrap_or(self.at_least(0, 20, 0))
    }

    /// `--gpu-memory-utilization` when unset: 0.9 up to 0.19
    /// (v0.19.0 config/cache.py:41), 0.92 from 0.20.0 (v0.20.0
    /// config/cache.py:66).
    pub fn default_utilization(self) -> f64 {
        if self.at_least(0, 20, 0) { 0.92 } else { 0.9 }
    }

    /// The top-k/top-p backend the profile's sampler runs
    /// (v1/sample/ops/topk_topp_sampler.py `TopKTopPSampler.__init__`):
    /// - 0.8.x: FlashInfer only below 0.2.3, and every 0.8 image ships a
    ///   newer one, so PyTorch-native (v0.8.5 topk_topp_sampler.py:34-49);
    /// - 0.9–0.11: FlashInfer when importable and the variable is not "0"
    ///   ("None means True": v0.9.0 topk_topp_sampler.py:32-60, v0.10.1.1
    ///   :33-67, v0.11.0 :46). Whether the install has it is not in the
    ///   tag: pip makes it an extra (`Requires-Dist: flashinfer-python;
    ///   extra == "flashinfer"` in the 0.10.1.1 wheel's METADATA). Native is
    ///   assumed unless [`VllmEnv::flashinfer_installed`] says it is there
    ///   (the dennislee22 0.10.1.1 logs: "Using FlashInfer for top-p & top-k
    ///   sampling.") or `VLLM_USE_FLASHINFER_SAMPLER=1`;
    /// - 0.12–0.21: only when `VLLM_USE_FLASHINFER_SAMPLER=1`
    ///   (v0.12.0 topk_topp_sampler.py:35, the env defaults to None);
    /// - from 0.22: on unless "0" (v0.22.0 envs.py:818-822 defaults True).
    ///
    /// The PyTorch path itself changes at 0.17: `apply_top_k_top_p` runs a
    /// Triton kernel instead of sorting `if HAS_TRITON and
    /// logits.shape[0] >= 8` (v0.17.0 topk_topp_sampler.py:251, v0.22.0
    /// :321). V0 samples with its own sampler (FlashInfer off by default,
    /// v0.6.4 envs.py:302).
    pub fn sampler_backend(self, env: &VllmEnv, generation: Generation, seqs: u64) -> SamplerBackend {
        let importable_default =
            env.flashinfer_installed == Some(true) && self.at_least(0, 9, 0) && !self.at_least(0, 12, 0);
        let flashinfer = env.flashinfer_installed != Some(false)
            && match (generation, env.use_flashinfer_sampler) {
                (Generation::V0, explicit) => explicit.unwrap_or(false),
                (_, Some(explicit)) => explicit,
                (_, None) => self.at_least(0, 22, 0) || importable_default,
            };
        if flashinfer {
            SamplerBackend::FlashInfer
        } else if generation != Generation::V0 && self.at_least(0, 17, 0) && seqs >= 8 {
            SamplerBackend::Triton
        } else {
            SamplerBackend::Native
        }
    }

    /// Whether the profile run samples with top-k and top-p: the V1 model
    /// runner's `_dummy_sampler_run` sets `top_k = vocab − 1`, `top_p = 0.9`
    /// (v0.8.5 gpu_model_runner.py:1527-1528, v0.20.0 gpu_model_runner.py
    /// 5646-5647); the V2 runner (vllm/v1/worker/gpu/model_runner.py, opt-in
    /// with `VLLM_USE_V2_MODEL_RUNNER=1` from 0.12, v0.12.0 envs.py:1550)
    /// "may skip top_k, top_p, and logprobs" (v0.22.0 gpu/model_runner.py
    /// 576-578) until 0.34 adds a warm-up-parameter pass to the profile
    /// (v0.34.0 gpu/model_runner.py:1056-1062).
    pub fn profile_samples_top_k_top_p(self, env: &VllmEnv) -> bool {
        let v2_runner = env.use_v2_model_runner.unwrap_or(false) && self.at_least(0, 12, 0);
        !v2_runner || self.at_least(0, 34, 0)
    }

    /// KV-cache layout of a model with sliding-window and full-attention
    /// layers: up to 0.9.0 V1 turns every sliding layer into a full one
    /// (v0.8.5 kv_cache_utils.py:657-683 `unify_hybrid_kv_cache_specs`,
    /// still so at v0.9.0); from 0.9.1 the layers are split into equal-size groups
    /// (v0.9.1 kv_cache_utils.py:825, v0.9.2:826), the group size being the largest
    /// type's count when it is under 1.25 × the smallest from 0.12.0
    /// (v0.12.0 kv_cache_utils.py:1015-1020).
    pub fn hybrid_kv(self, generation: Generation) -> HybridKv {
        match generation {
            Generation::V0 => HybridKv::AllFull,
            _ if !self.at_least(0, 9, 1) => HybridKv::AllFull,
            _ if !self.at_least(0, 12, 0) => HybridKv::Groups { widen_near_equal: false },
            _ => HybridKv::Groups { widen_near_equal: true },
        }
    }

    /// Layers per pipeline stage (vllm/distributed/utils.py
    /// `get_pp_indices`): `VLLM_PP_LAYER_PARTITION` when it names one count
    /// a stage summing to the layers (v0.19.0:111-122); else `layers // pp`
    /// each, the remainder going to the last stage before 0.8 (v0.7.3
    /// utils.py:91 `end_layer = num_hidden_layers`) and, from 0.8.0, one
    /// layer each to the stages before the last, the second-to-last first
    /// (v0.8.0 utils.py:103, v0.19.0:124-129 `partitions[-i] += 1`).
    pub fn pp_partitions(self, layers: u64, pp: u64, partition: Option<&[u64]>) -> Vec<u64> {
        let pp = pp.max(1);
        if let Some(p) = partition.filter(|p| p.len() as u64 == pp && p.iter().sum::<u64>() == layers) {
            return p.to_vec();
        }
        let mut partitions = vec![layers / pp; pp as usize];
        let remaining = (layers % pp) as usize;
        if self.at_least(0, 8, 0) {
            for i in 2..remaining + 2 {
                // Python's partitions[-i]; with remaining < pp it stays in range.
                let at = partitions.len() - i.min(partitions.len());
                partitions[at] += 1;
            }
        } else if let Some(last) = partitions.last_mut() {
            *last += remaining as u64;
        }
        partitions
    }

    /// The alignment (bytes of the model dtype) of one MLA cache entry in
    /// V0, when the release pads it: `CacheEngine._align_cache` (MLA, CUDA,
    /// `VLLM_CUDA_MEM_ALIGN_KV_CACHE` default "1") rounds the 576-wide
    /// latent up to 256 bytes, 640 elements, in the allocation and in
    /// `get_cache_block_size` (v0.7.3 worker/cache_engine.py:84-96,132-165,
    /// utils.py:799-802 `align_to_256bytes`; envs.py:582-583; the same in
    /// v0.7.2). Not in the v0.7.1 nor the v0.8.0 cache engine (the V1 MLA
    /// spec never padded).
    pub fn mla_entry_align_bytes(self, generation: Generation, env: &VllmEnv) -> Option<u64> {
        let band = self.at_least(0, 7, 2) && !self.at_least(0, 8, 0);
        (generation == Generation::V0 && band && env.align_kv_cache != Some(false)).then_some(256)
    }

    /// The startup check against memory other processes hold (v0.9.1
    /// v1/worker/gpu_worker.py:138-147, v0.34.0 v1/worker/utils.py:790; not
    /// in the v0.8.5 nor the v0.9.0 V1 worker): [`CoTenant::Checked`].
    pub fn checks_free_memory(self, generation: Generation) -> bool {
        self.co_tenant(generation) == CoTenant::Checked
    }

    /// What the worker does with GPU memory other processes already hold
    /// when it starts (a shared or time-sliced GPU), band by band as the
    /// released wheels show it (worker/worker.py for V0,
    /// v1/worker/gpu_worker.py for V1; [`CoTenant`] says what each does):
    /// - V0 up to 0.6.3: `peak_memory = self.init_gpu_memory -
    ///   free_gpu_memory`, both free figures, so what others held at
    ///   `init_device` cancels out (v0.6.3 worker.py:171,231; v0.6.0
    ///   :170,230): unseen;
    /// - V0 0.6.4: `non_torch_allocations = total_allocated_bytes -
    ///   torch_allocated_bytes`, `total_allocated_bytes` being the whole
    ///   device's `total - free` (v0.6.4 worker.py:209-217): subtracted;
    /// - V0 from 0.6.5: `memory_profiling` measures non-torch memory from a
    ///   baseline taken before the instance, `total_gpu_memory -
    ///   self.init_gpu_memory` (v0.6.5 worker.py:198-199, utils.py:1736), then
    ///   `self.baseline_snapshot = MemorySnapshot()` in `init_device` and
    ///   `diff_from_create` (v0.7.0 worker.py:160, utils.py:2054; v0.7.3
    ///   worker.py:161,226-236, utils.py:2034-2039; v0.10.1.1 worker.py
    ///   :189,261-264): unseen, to the last V0;
    /// - V1 0.6.4: `self.init_gpu_memory - free_gpu_memory` (v0.6.4
    ///   v1/worker/gpu_worker.py:119): unseen;
    /// - V1 0.6.5 to 0.9.0: the V0 0.6.4 arithmetic, `total_allocated_bytes
    ///   = mem_get_info()[1] - mem_get_info()[0]` less torch's own
    ///   (v0.6.5 gpu_worker.py:156-159; v0.7.3 :174-181; v0.8.5 :203-210;
    ///   v0.9.0 :205-212): subtracted;
    /// - V1 from 0.9.1: `init_device` takes `self.init_snapshot` and refuses
    ///   when its `free_memory < requested_memory` (v0.9.1 gpu_worker.py
    ///   :135-147); the budget is `self.requested_memory -
    ///   profile_result.non_kv_cache_memory`, measured from that snapshot
    ///   (:201-219, utils.py:2410-2415): checked.
    pub fn co_tenant(self, generation: Generation) -> CoTenant {
        match generation {
            Generation::V0 if self == Self::new(0, 6, 4) => CoTenant::Subtracted,
            Generation::V0 => CoTenant::Unseen,
            _ if !self.at_least(0, 6, 5) => CoTenant::Unseen,
            _ if !self.at_least(0, 9, 1) => CoTenant::Subtracted,
            _ => CoTenant::Checked,
        }
    }
}

impl std::fmt::Display for VllmVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// How a vLLM version budgets memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Generation {
    /// The V0 engine (vLLM < 0.8, or `VLLM_USE_V1=0` up to 0.10): the
    /// profile run prefills `max_num_batched_tokens` in one pass, chunked
    /// prefill only above 32K context; CUDA graphs come out of the 10% left.
    #[serde(rename = "v0")]
    V0,
    /// The V1 engine (0.8–0.19): always chunked prefill; CUDA graphs are
    /// captured after the KV cache, outside the budget (0.18–0.19 put the
    /// estimate inside only with `VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS=1`).
    #[serde(rename = "v1")]
    V1,
    /// V1 from 0.20.0, where the profiler's CUDA graph estimate is inside
    /// `gpu_memory_utilization` by default (v0.20.0 envs.py:1725) and the
    /// default utilization rose to 0.92 (v0.20.0 config/cache.py:66); see
    /// [`super::version`].
    #[serde(rename = "v1-graphs")]
    V1Graphs,
}

impl Generation {
    /// What an unknown or `latest` image runs.
    pub const NEWEST: Generation = Generation::V1Graphs;

    /// `v0`, `v1`, `v1-graphs`, or a vLLM version (`0.6.4`, `v0.10.1.1`).
    pub fn parse(text: &str) -> Option<Self> {
        match text.trim().to_ascii_lowercase().as_str() {
            "v0" => Some(Self::V0),
            "v1" => Some(Self::V1),
            "v1-graphs" => Some(Self::V1Graphs),
            version => Self::from_version(version),
        }
    }

    /// The generation of a vLLM release (`0.8.5.post1`, `v0.20.0`) with
    /// its default env.
    pub fn from_version(version: &str) -> Option<Self> {
        Some(VllmVersion::parse(version)?.generation(&VllmEnv::default()))
    }

    /// The generation a container image runs, from its tag
    /// (`vllm/vllm-openai:v0.6.4`, `kserve/huggingfaceserver:v0.15.2-gpu`
    /// is not vLLM's own version and says nothing); `VLLM_USE_V1=0` in the
    /// container's env selects V0 on the versions that still had it.
    pub fn from_image(image: &str, use_v1: Option<&str>) -> Option<Self> {
        let env = VllmEnv::from_vars(|name| (name == "VLLM_USE_V1").then(|| use_v1.map(str::to_string)).flatten());
        Some(VllmVersion::from_image(image)?.generation(&env))
    }

    /// `--gpu-memory-utilization` when unset.
    pub fn default_utilization(self) -> f64 {
        if self == Self::V1Graphs { 0.92 } else { 0.9 }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V0 => "v0",
            Self::V1 => "v1",
            Self::V1Graphs => "v1-graphs",
        }
    }
}

/// The profile sampler's top-k/top-p implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SamplerBackend {
    /// PyTorch: sort the logits, mask, soft-max, scatter back.
    Native,
    /// vLLM's Triton top-k/top-p kernel (0.17+, 8 requests or more): no sort.
    Triton,
    /// FlashInfer's fused kernels: no sort.
    FlashInfer,
}

/// What a vLLM worker does with the GPU memory other processes hold when
/// it starts ([`VllmVersion::co_tenant`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CoTenant {
    /// Measured before the worker starts and left out: the KV budget is
    /// `total × utilization` less the worker's own use, as on an empty GPU,
    /// and the cache may then not fit beside the others ("CUDA out of
    /// memory" while allocating it).
    Unseen,
    /// Counted with the worker's own non-torch memory: it comes out of the
    /// KV budget, and the worker never holds more than `total × utilization`
    /// with the others together.
    Subtracted,
    /// Refused at startup when the free memory is below `total ×
    /// utilization`; otherwise the budget is the worker's own, as `Unseen`.
    Checked,
}

/// How V1 lays out the KV cache of a sliding + full model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HybridKv {
    /// Every layer keeps the whole request (V0; V1 before 0.9.1).
    AllFull,
    /// Equal-size layer groups sharing one block pool.
    Groups { widen_near_equal: bool },
}

/// `VLLM_*` variables (and the one flag) that change the budget, as the
/// container's env sets them; `None` is vLLM's default for the release.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VllmEnv {
    pub use_v1: Option<bool>,
    pub allow_long_max_model_len: bool,
    pub use_flashinfer_sampler: Option<bool>,
    pub estimate_cudagraphs: Option<bool>,
    pub use_v2_model_runner: Option<bool>,
    /// `VLLM_PP_LAYER_PARTITION`: layers per pipeline stage, `"20,20,21,19"`.
    pub pp_layer_partition: Option<Vec<u64>>,
    /// `--disable-custom-all-reduce` (a flag, not a variable).
    pub disable_custom_all_reduce: bool,
    /// Whether the install has FlashInfer importable (not a variable: a
    /// fact of the image, which vLLM logs as "Using FlashInfer for top-p &
    /// top-k sampling." or "FlashInfer is not available. Falling back …",
    /// v0.10.1.1 v1/sample/ops/topk_topp_sampler.py:33-67). `None`: not
    /// known, assumed absent where it matters (0.9–0.11, see
    /// [`VllmVersion::sampler_backend`]).
    pub flashinfer_installed: Option<bool>,
    /// `VLLM_CUDA_MEM_ALIGN_KV_CACHE` (see [`VllmVersion::mla_entry_align_bytes`]).
    pub align_kv_cache: Option<bool>,
    /// `VLLM_ATTENTION_BACKEND` as written (the V1 oracle reads it, see
    /// [`VllmVersion::v1_unsupported`]).
    pub attention_backend: Option<String>,
    /// `VLLM_FLASH_ATTN_VERSION` (2 or 3; `maybe_convert_int`, v0.8.2
    /// envs.py:243-244): which FlashAttention, and so whether an fp8 KV
    /// cache runs on it.
    pub flash_attn_version: Option<u64>,
}

impl VllmEnv {
    /// Reads the variables through `get` (a container's env, by name).
    /// Values are read as vLLM's envs.py reads them: `bool(int(x))`, and
    /// "1"/"true" for `VLLM_ALLOW_LONG_MAX_MODEL_LEN` (v0.11.0 envs.py:797).
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Self {
        let int_bool = |name: &str| get(name).and_then(|v| v.trim().parse::<i64>().ok()).map(|n| n != 0);
        Self {
            use_v1: int_bool("VLLM_USE_V1"),
            allow_long_max_model_len: get("VLLM_ALLOW_LONG_MAX_MODEL_LEN")
                .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true")),
            use_flashinfer_sampler: int_bool("VLLM_USE_FLASHINFER_SAMPLER"),
            estimate_cudagraphs: int_bool("VLLM_MEMORY_PROFILER_ESTIMATE_CUDAGRAPHS"),
            use_v2_model_runner: int_bool("VLLM_USE_V2_MODEL_RUNNER"),
            pp_layer_partition: get("VLLM_PP_LAYER_PARTITION")
                .and_then(|text| text.split(',').map(|n| n.trim().parse().ok()).collect()),
            disable_custom_all_reduce: false,
            flashinfer_installed: None,
            align_kv_cache: int_bool("VLLM_CUDA_MEM_ALIGN_KV_CACHE"),
            attention_backend: get("VLLM_ATTENTION_BACKEND"),
            flash_attn_version: get("VLLM_FLASH_ATTN_VERSION").and_then(|v| v.trim().parse().ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> VllmVersion {
        VllmVersion::parse(text).unwrap()
    }

    #[test]
    fn versions_parse_from_tags_and_annotations() {
        assert_eq!(v("0.6.4"), VllmVersion::new(0, 6, 4));
        assert_eq!(v("v0.10.1.1"), VllmVersion::new(0, 10, 1));
        assert_eq!(v("0.8.5.post1"), VllmVersion::new(0, 8, 5));
        assert_eq!(v("0.11.0rc2"), VllmVersion::new(0, 11, 0));
        assert_eq!(VllmVersion::parse("latest"), None);
        assert_eq!(VllmVersion::from_image("vllm/vllm-openai:v0.11.0-cu129"), Some(VllmVersion::new(0, 11, 0)));
        assert_eq!(VllmVersion::from_image("kserve/huggingfaceserver:v0.15.2-gpu"), None);
        assert_eq!(VllmVersion::from_image("registry:5000/vllm/vllm-openai"), None);
        assert_eq!(VllmVersion::ASSUMED.to_string(), "0.34.0");
    }

    /// v0.7.3 envs.py:504 (V0 default), v0.8.5 envs.py:531 (V1 default);
    /// no V0 worker in v0.11.0; graphs in the budget from v0.20.0.
    #[test]
    fn engine_generation_per_release() {
        let none = VllmEnv::default();
        let v0 = VllmEnv { use_v1: Some(false), ..VllmEnv::default() };
        assert_eq!(v("0.7.3").generation(&none), Generation::V0);
        assert_eq!(v("0.8.0").generation(&none), Generation::V1);
        assert_eq!(v("0.10.1").generation(&v0), Generation::V0);
        assert_eq!(v("0.11.0").generation(&v0), Generation::V1, "V0 was removed");
        assert_eq!(v("0.19.1").generation(&none), Generation::V1);
        assert_eq!(v("0.20.0").generation(&none), Generation::V1Graphs);
    }

    /// v0.18.0 envs.py:1636 ("0"), v0.20.0 envs.py:1725 ("1");
    /// v0.19.0 config/cache.py:41 (0.9), v0.20.0 config/cache.py:66 (0.92).
    #[test]
    fn cuda_graph_estimate_and_utilization_per_release() {
        let none = VllmEnv::default();
        let on = VllmEnv { estimate_cudagraphs: Some(true), ..VllmEnv::default() };
        let off = VllmEnv { estimate_cudagraphs: Some(false), ..VllmEnv::default() };
        assert!(!v("0.17.0").cuda_graphs_in_budget(&on, Generation::V1), "no such variable yet");
        assert!(!v("0.18.0").cuda_graphs_in_budget(&none, Generation::V1));
        assert!(v("0.18.0").cuda_graphs_in_budget(&on, Generation::V1));
        assert!(v("0.20.0").cuda_graphs_in_budget(&none, Generation::V1Graphs));
        assert!(!v("0.34.0").cuda_graphs_in_budget(&off, Generation::V1Graphs));
        assert_eq!(v("0.19.0").default_utilization(), 0.9);
        assert_eq!(v("0.20.0").default_utilization(), 0.92);
    }

    /// topk_topp_sampler.py `__init__` at v0.8.5:34, v0.11.0:46, v0.12.0:35,
    /// `apply_top_k_top_p` at v0.17.0:251; envs.py at v0.22.0:818.
    #[test]
    fn sampler_backend_per_release() {
        let none = VllmEnv::default();
        let on = VllmEnv { use_flashinfer_sampler: Some(true), ..VllmEnv::default() };
        let off = VllmEnv { use_flashinfer_sampler: Some(false), ..VllmEnv::default() };
        assert_eq!(v("0.6.4").sampler_backend(&none, Generation::V0, 256), SamplerBackend::Native);
        assert_eq!(v("0.11.0").sampler_backend(&none, Generation::V1, 256), SamplerBackend::Native);
        assert_eq!(v("0.11.0").sampler_backend(&on, Generation::V1, 256), SamplerBackend::FlashInfer);
        assert_eq!(v("0.16.0").sampler_backend(&none, Generation::V1, 256), SamplerBackend::Native);
        // 0.9–0.11: an install with FlashInfer samples through it unless the
        // variable is "0" (v0.10.1.1 topk_topp_sampler.py:50); 0.8 disables
        // FlashInfer >= 0.2.3 (v0.8.5 :34-49), 0.12 wants "1" (v0.12.0 :35).
        let installed = VllmEnv { flashinfer_installed: Some(true), ..VllmEnv::default() };
        let installed_off = VllmEnv { use_flashinfer_sampler: Some(false), ..installed.clone() };
        let missing = VllmEnv { flashinfer_installed: Some(false), ..on };
        assert_eq!(v("0.10.1.1").sampler_backend(&installed, Generation::V1, 256), SamplerBackend::FlashInfer);
        assert_eq!(v("0.9.0").sampler_backend(&installed, Generation::V1, 256), SamplerBackend::FlashInfer);
        assert_eq!(v("0.10.1.1").sampler_backend(&installed_off, Generation::V1, 256), SamplerBackend::Native);
        assert_eq!(v("0.10.1.1").sampler_backend(&missing, Generation::V1, 256), SamplerBackend::Native);
        assert_eq!(v("0.8.5").sampler_backend(&installed, Generation::V1, 256), SamplerBackend::Native);
        assert_eq!(v("0.12.0").sampler_backend(&installed, Generation::V1, 4), SamplerBackend::Native);
        // v0.17.0 topk_topp_sampler.py:251: Triton from 8 requests.
        assert_eq!(v("0.17.0").sampler_backend(&none, Generation::V1, 256), SamplerBackend::Triton);
        assert_eq!(v("0.19.0").sampler_backend(&none, Generation::V1, 4), SamplerBackend::Native);
        assert_eq!(v("0.22.0").sampler_backend(&none, Generation::V1Graphs, 256), SamplerBackend::FlashInfer);
        assert_eq!(v("0.34.0").sampler_backend(&off, Generation::V1Graphs, 256), SamplerBackend::Triton);
        let v2 = VllmEnv { use_v2_model_runner: Some(true), ..VllmEnv::default() };
        assert!(v("0.20.0").profile_samples_top_k_top_p(&none));
        assert!(!v("0.22.0").profile_samples_top_k_top_p(&v2));
        assert!(v("0.34.0").profile_samples_top_k_top_p(&v2));
    }

    /// worker/cache_engine.py: aligned at v0.7.2 and v0.7.3 (:84-96,
    /// :156-158), not at v0.7.0, v0.7.1 nor v0.8.0; V1 never.
    #[test]
    fn mla_entries_are_padded_to_256_bytes_in_v0_7_2_and_v0_7_3() {
        assert_eq!(v("0.7.2").mla_entry_align_bytes(Generation::V0, &VllmEnv::default()), Some(256));
        assert_eq!(v("0.7.1").mla_entry_align_bytes(Generation::V0, &VllmEnv::default()), None);
        let none = VllmEnv::default();
        assert_eq!(v("0.7.3").mla_entry_align_bytes(Generation::V0, &none), Some(256));
        assert_eq!(v("0.7.0").mla_entry_align_bytes(Generation::V0, &none), None);
        assert_eq!(v("0.8.0").mla_entry_align_bytes(Generation::V0, &none), None);
        assert_eq!(v("0.8.5").mla_entry_align_bytes(Generation::V1, &none), None);
        let off = VllmEnv::from_vars(|k| (k == "VLLM_CUDA_MEM_ALIGN_KV_CACHE").then(|| "0".to_string()));
        assert_eq!(v("0.7.3").mla_entry_align_bytes(Generation::V0, &off), None);
    }

    /// kv_cache_utils.py at v0.8.5:657 (unify), v0.9.1:825 (groups),
    /// v0.12.0:1015 (near-equal counts widen the group).
    #[test]
    fn hybrid_kv_layout_per_release() {
        assert_eq!(v("0.8.5").hybrid_kv(Generation::V1), HybridKv::AllFull);
        assert_eq!(v("0.9.0").hybrid_kv(Generation::V1), HybridKv::AllFull);
        assert_eq!(v("0.9.1").hybrid_kv(Generation::V1), HybridKv::Groups { widen_near_equal: false });
        assert_eq!(v("0.12.0").hybrid_kv(Generation::V1), HybridKv::Groups { widen_near_equal: true });
        assert_eq!(v("0.6.4").hybrid_kv(Generation::V0), HybridKv::AllFull);
    }

    /// `get_pp_indices` (vllm/distributed/utils.py), the rows of vLLM's
    /// tests/distributed/test_pipeline_partition.py: `test_uneven_auto_partition`
    /// (all 13 rows, as stage sizes) and `test_custom_layer_partition`
    /// (even, balanced, "put reminder somewhere"; its four ValueError rows
    /// are vLLM's refusals, which gpuops does not model: a partition string
    /// that does not parse or add up is ignored). Before 0.8 the remainder
    /// went to the last stage (v0.7.3 utils.py:91).
    #[test]
    fn pipeline_stages_split_the_layers_as_vllm_does() {
        let now = v("0.19.0");
        for (layers, pp, sizes) in [
            (2, 2, vec![1, 1]),
            (3, 2, vec![2, 1]),
            (3, 3, vec![1, 1, 1]),
            (4, 3, vec![1, 2, 1]),
            (5, 3, vec![2, 2, 1]),
        ] {
            assert_eq!(now.pp_partitions(layers, pp, None), sizes, "{layers} layers, PP {pp}");
        }
        assert_eq!(now.pp_partitions(20, 4, Some(&[5, 5, 5, 5])), vec![5, 5, 5, 5]);
        assert_eq!(now.pp_partitions(20, 4, Some(&[4, 6, 6, 4])), vec![4, 6, 6, 4]);
        assert_eq!(now.pp_partitions(22, 4, Some(&[5, 6, 5, 6])), vec![5, 6, 5, 6]);
        assert_eq!(v("0.7.3").pp_partitions(5, 3, None), vec![1, 1, 3]);
        assert_eq!(v("0.8.0").pp_partitions(5, 3, None), vec![2, 2, 1]);
        let env = VllmEnv::from_vars(|n| (n == "VLLM_PP_LAYER_PARTITION").then(|| "20, 20,21,19".to_string()));
        assert_eq!(env.pp_layer_partition, Some(vec![20, 20, 21, 19]));
        let bad = VllmEnv::from_vars(|n| (n == "VLLM_PP_LAYER_PARTITION").then(|| "5,5,5,a".to_string()));
        assert_eq!(bad.pp_layer_partition, None);
    }

    /// One row per band of [`VllmVersion::co_tenant`], at the releases
    /// read: V0 worker.py v0.6.3:231 (unseen), v0.6.4:209-217 (subtracted),
    /// v0.6.5:198 and v0.7.3:161,226-236 (unseen); V1 gpu_worker.py
    /// v0.6.4:119 (unseen), v0.6.5:156, v0.8.5:203-210 and v0.9.0:205-212
    /// (subtracted), v0.9.1:135-147 (checked).
    #[test]
    fn co_tenant_memory_per_band() {
        for (release, generation, expected) in [
            ("0.6.0", Generation::V0, CoTenant::Unseen),
            ("0.6.3", Generation::V0, CoTenant::Unseen),
            ("0.6.4", Generation::V0, CoTenant::Subtracted),
            ("0.6.4.post1", Generation::V0, CoTenant::Subtracted),
            ("0.6.5", Generation::V0, CoTenant::Unseen),
            ("0.7.3", Generation::V0, CoTenant::Unseen),
            ("0.10.1.1", Generation::V0, CoTenant::Unseen),
            ("0.6.4", Generation::V1, CoTenant::Unseen),
            ("0.6.5", Generation::V1, CoTenant::Subtracted),
            ("0.7.3", Generation::V1, CoTenant::Subtracted),
            ("0.8.5", Generation::V1, CoTenant::Subtracted),
            ("0.9.0", Generation::V1, CoTenant::Subtracted),
            ("0.9.1", Generation::V1, CoTenant::Checked),
            ("0.20.0", Generation::V1Graphs, CoTenant::Checked),
        ] {
            assert_eq!(v(release).co_tenant(generation), expected, "{release} {generation:?}");
        }
        assert!(v("0.9.1").checks_free_memory(Generation::V1));
        assert!(!v("0.9.0").checks_free_memory(Generation::V1));
        assert!(!v("0.10.1").checks_free_memory(Generation::V0), "VLLM_USE_V1=0 keeps the V0 worker");
    }

    #[test]
    fn env_reads_like_envs_py() {
        let vars =
            [("VLLM_USE_V1", "0"), ("VLLM_ALLOW_LONG_MAX_MODEL_LEN", "True"), ("VLLM_USE_FLASHINFER_SAMPLER", "1")];
        let env = VllmEnv::from_vars(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string()));
        assert_eq!(env.use_v1, Some(false));
        assert!(env.allow_long_max_model_len);
        assert_eq!(env.use_flashinfer_sampler, Some(true));
        assert_eq!(env.estimate_cudagraphs, None);
    }
}
