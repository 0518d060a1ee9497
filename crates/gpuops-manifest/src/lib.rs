//! gpuops-manifest: the manifest kernel every gpuops tool shares, without a
//! network or an async runtime.
//!
//! * [`yaml`] reads YAML/JSON streams into order-preserving values and writes
//!   them back as block YAML.
//! * [`locator`] finds where pod specs, containers and replica counts live in
//!   every workload kind gpuops understands.
//! * [`rollout`] is the one model of a rolling update's surge.
//! * [`resources`] names the extended resources that are GPUs.
//! * [`imageref`] parses and rewrites image/model references.
//! * [`krm`] is the KRM `ResourceList` wire format.
//! * [`vllm`] reads and edits vLLM engine flags.
//! * [`text`] makes foreign text safe to print.
//! * [`input`] reads manifests from files, directories, stdin and `kustomize build`.

pub mod imageref;
pub mod input;
pub mod krm;
pub mod labels;
pub mod locator;
pub mod path;
pub mod quantity;
pub mod resources;
pub mod rollout;
pub mod text;
pub mod vllm;
pub mod walk;
pub mod yaml;

pub use serde_json::{Map, Value};
