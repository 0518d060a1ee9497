//! What a model needs on a GPU, the way vLLM accounts for it: model shapes
//! (Hugging Face `config.json`, the reviewed catalog), GPU products and
//! their slices (MIG profiles, time-sliced replicas), vLLM's engine
//! arguments and memory budget, and [`resolve`] — the one ordered chain of
//! sources every door (gpufit, the Argo CD fit gate, the function's
//! `count: auto`) sizes a model through.
//!
//! Pure: no environment, no current directory, no network. Directories
//! (the Hugging Face cache, a repository root) are passed in; network
//! sources implement [`resolve::ModelSource`] in `gpuops-registry` and are
//! injected by the binaries.

pub mod catalog;
pub mod container;
pub mod hfconfig;
pub mod memory;
pub mod resolve;
pub mod shape;
