//! How V1 lays out the KV cache of a model with sliding-window and
//! full-attention layers, and the "GPU KV cache size: N tokens" it prints
//! (vllm/v1/core/kv_cache_utils.py `_get_kv_cache_groups_uniform_page_size`
//! and `get_kv_cache_config_from_groups`, v0.11.0:977-1087).

use super::version::HybridKv;

/// The layer groups of one pipeline stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KvLayout {
    /// Layers per group: one memory pool per position in a group, shared by
    /// that layer of every group (v0.11.0:1054 `group_size = max(len(group…`).
    pub group_size: u64,
    /// Groups: each type's layers cut into `group_size` pieces.
    pub groups: u64,
    /// Groups of full-attention layers (a request holds all its tokens in
    /// each) and of sliding layers (at most the window).
    pub full_groups: u64,
    pub sliding_groups: u64,
    /// Empty places in the last group of a type ("Add %d padding layers,
    /// may waste at most %.2f%% KV cache memory", v0.11.0:982).
    pub padding_layers: u64,
}

impl KvLayout {
    /// The groups of `full` full-attention and `sliding` sliding layers.
    pub fn new(hybrid: HybridKv, full: u64, sliding: u64) -> Self {
        let one_type = |layers: u64, sliding_type: bool| KvLayout {
            group_size: layers.max(1),
            groups: 1,
            full_groups: u64::from(!sliding_type),
            sliding_groups: u64::from(sliding_type),
            padding_layers: 0,
        };
        match hybrid {
            // v0.8.5 kv_cache_utils.py:657-683: every sliding layer becomes a full one.
            HybridKv::AllFull => one_type(full + sliding, false),
            _ if sliding == 0 => one_type(full, false),
            _ if full == 0 => one_type(sliding, true),
            HybridKv::Groups { widen_near_equal } => {
                let (min, max) = (full.min(sliding), full.max(sliding));
                // v0.11.0:977 `group_size = min(...)`; from v0.12.0:1015-1020,
                // `if max_num_layers < min_num_layers * 1.25` the largest count.
                let group_size = if widen_near_equal && (max as f64) < min as f64 * 1.25 { max } else { min };
                let full_groups = full.div_ceil(group_size);
                let sliding_groups = sliding.div_ceil(group_size);
                let groups = full_groups + sliding_groups;
                KvLayout {
                    group_size,
                    groups,
                    full_groups,
                    sliding_groups,
                    padding_layers: groups * group_size - full - sliding,
                }
            }
        }
    }

    /// Blocks in the shared pool: `available_memory // page_size //
    /// num_layers` with `num_layers` the group size (`get_num_blocks`,
    /// v0.11.0:824), `page_bytes` one block of one layer.
    pub fn num_blocks(&self, budget_bytes: u64, page_bytes: u64) -> u64 {
        budget_bytes / page_bytes.max(1) / self.group_size
    }

    /// What vLLM prints: `num_blocks // len(kv_cache_groups) * block_size`
    /// (v0.11.0:1080; v0.8.5:632 printed `num_blocks * block_size` for its
    /// one group).
    pub fn printed_tokens(&self, num_blocks: u64, block: u64) -> u64 {
        num_blocks / self.groups * block
    }

    /// "Maximum concurrency for N tokens per request: X.XXx": requests of
    /// `max_model_len` tokens the pool holds at once. V1 divides the pool's
    /// blocks by the blocks one request takes from every group's table —
    /// `num_blocks / cdiv(num_layer_per_group × Σ max_memory_usage_bytes,
    /// page_size × num_layer_per_group)` (`get_max_concurrency_for_kv_cache_config`,
    /// v1/core/kv_cache_utils.py v0.9.2, v0.11.0), a sliding group's share
    /// bounded by `window_blocks` (`SlidingWindowSpec.max_memory_usage_bytes`).
    /// V0 divides tokens: `num_gpu_blocks * block_size / max_model_len`
    /// (vllm/executor/executor_base.py `initialize_cache`, v0.6.4–v0.10).
    pub fn max_concurrency(&self, num_blocks: u64, max_model_len: u64, window_blocks: u64, v0: bool) -> f64 {
        const BLOCK: u64 = 16;
        if max_model_len == 0 {
            return 0.0;
        }
        if v0 {
            return (num_blocks * BLOCK) as f64 / max_model_len as f64;
        }
        let full = max_model_len.div_ceil(BLOCK);
        let per_request = self.full_groups * full + self.sliding_groups * full.min(window_blocks.max(1));
        num_blocks as f64 / per_request.max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One full group: blocks over `cdiv(max_model_len, 16)` (V1) or tokens
    /// over `max_model_len` (V0); a sliding group adds its window's blocks.
    #[test]
    fn maximum_concurrency_is_blocks_over_a_requests_blocks() {
        let dense = KvLayout::new(HybridKv::AllFull, 32, 0);
        // 26,306 blocks × 16 = 420,896 tokens over 8,192-token requests.
        assert!((dense.max_concurrency(26_306, 8192, 0, false) - 26_306.0 / 512.0).abs() < 1e-9);
        // V0 divides tokens, without rounding a request up to whole blocks.
        assert!((dense.max_concurrency(100, 1000, 0, true) - 1.6).abs() < 1e-9);
        assert!((dense.max_concurrency(100, 1000, 0, false) - 100.0 / 63.0).abs() < 1e-9);
        // Gemma 2 (1 full + 1 sliding group): a 4,096-token window of 8,192 asked.
        let gemma = KvLayout::new(GROUPS, 23, 23);
        assert!((gemma.max_concurrency(768, 8192, 256, false) - 768.0 / 768.0).abs() < 1e-9);
        assert_eq!(dense.max_concurrency(10, 0, 0, false), 0.0);
        // Public V1 startup logs, "GPU KV cache size: N tokens" then
        // "Maximum concurrency for 32,768 tokens per request: X.XXx" (the
        // kv_cache_utils.py:864/868 and :1087/1091 lines they quote):
        // N / 16 blocks over the 2,048 of a request, printed with "%.2f".
        for (tokens, printed) in [(149_712, "4.57"), (238_208, "7.27"), (1_037_152, "31.65"), (840_160, "25.64")] {
            let x = dense.max_concurrency(tokens / 16, 32_768, 0, false);
            assert_eq!(format!("{x:.2}"), printed, "{tokens} tokens");
        }
    }

    const GROUPS: HybridKv = HybridKv::Groups { widen_near_equal: false };
    const WIDEN: HybridKv = HybridKv::Groups { widen_near_equal: true };

    /// The example in the source comment (v0.11.0 kv_cache_utils.py:968-971):
    /// (full.0, full.1), (sw.0, sw.1, sw.2) → (full.0, full.1), (sw.0, sw.2),
    /// (sw.1, padding).
    #[test]
    fn the_source_comment_example() {
        let l = KvLayout::new(GROUPS, 2, 3);
        assert_eq!((l.group_size, l.groups, l.full_groups, l.sliding_groups, l.padding_layers), (2, 3, 1, 2, 1));
    }

    /// Gemma 3 27B: 10 full + 52 sliding layers (5:1) → groups of 10, one
    /// full and six sliding, 8 padding layers; vLLM prints a seventh of
    /// the blocks.
    #[test]
    fn gemma3_pads_its_sliding_groups() {
        let l = KvLayout::new(GROUPS, 10, 52);
        assert_eq!((l.group_size, l.groups, l.padding_layers), (10, 7, 8));
        let page = 16 * 2 * 16 * 128 * 2; // 16 tokens × K,V × 16 heads × 128 × bf16
        let blocks = l.num_blocks(10 << 30, page);
        assert_eq!(blocks, (10u64 << 30) / page / 10);
        assert_eq!(l.printed_tokens(blocks, 16), blocks / 7 * 16);
    }

    /// gpt-oss with an EAGLE head: 12 sliding + 13 full is one group of 13
    /// each from 0.12 (the example at v0.12.0 kv_cache_utils.py:1020);
    /// before, groups of 12 and two full groups.
    #[test]
    fn near_equal_counts_widen_the_group_from_0_12() {
        let old = KvLayout::new(GROUPS, 13, 12);
        assert_eq!((old.group_size, old.groups, old.padding_layers), (12, 3, 11));
        let new = KvLayout::new(WIDEN, 13, 12);
        assert_eq!((new.group_size, new.groups, new.padding_layers), (13, 2, 1));
    }

    /// Rows of vLLM's tests/v1/core/test_kv_cache_utils.py
    /// `test_get_kv_cache_config_one_worker` (block 16, 2 KV heads × 64,
    /// float32: a page of one layer is 16,384 bytes), as (full, sliding
    /// layers, memory in pages, expected blocks, groups, padding), cases:
    /// all layers sliding; full and sliding with the hybrid manager; two
    /// full and four sliding; three full and seven sliding, padded to nine;
    /// six full and five sliding, padded to six (gpt-oss EAGLE, the widened
    /// group of 0.12+); full and sliding with the hybrid manager disabled
    /// (every layer full). Skipped: the rows on different head sizes
    /// (`UniformTypeKVCacheSpecs`, block-size alignment, NotImplementedError)
    /// and `num_gpu_blocks_override`: gpuops sizes one head size and no
    /// override.
    #[test]
    fn vllms_own_kv_cache_config_rows() {
        let page = 16 * 2 * 2 * 64 * 4;
        for (hybrid, full, sliding, pages, blocks, groups, padding) in [
            (GROUPS, 2, 0, 2 * 32, 32, 1, 0),
            (GROUPS, 0, 2, 2 * 32, 32, 1, 0),
            (GROUPS, 1, 1, 2 * 32, 64, 2, 0),
            (GROUPS, 2, 4, 2 * 32, 32, 3, 0),
            (GROUPS, 3, 7, 3 * 32, 32, 4, 2),
            (WIDEN, 6, 5, 6 * 32, 32, 2, 1),
            (HybridKv::AllFull, 1, 1, 2 * 32, 32, 1, 0),
        ] {
            let l = KvLayout::new(hybrid, full, sliding);
            assert_eq!(l.num_blocks(pages * page, page), blocks, "{full} full + {sliding} sliding");
            assert_eq!((l.groups, l.padding_layers), (groups, padding), "{full} full + {sliding} sliding");
        }
    }

    #[test]
    fn one_type_is_one_group() {
        assert_eq!(KvLayout::new(GROUPS, 32, 0).groups, 1);
        assert_eq!(KvLayout::new(HybridKv::AllFull, 10, 52).group_size, 62);
        let mistral = KvLayout::new(GROUPS, 0, 32);
        assert_eq!((mistral.full_groups, mistral.sliding_groups), (0, 1));
    }
}
