//! gpuops-core: everything gpuops knows about manifests, without touching a
//! network or an async runtime.
//!
//! * [`yaml`] reads YAML/JSON streams into order-preserving values and writes
//!   them back as block YAML.
//! * [`locator`] finds where pod specs, containers and replica counts live in
//!   every workload kind gpuops understands.
//! * [`imageref`] parses and rewrites image/model references.
//! * [`krm`] is the KRM `ResourceList` wire format.
//! * [`inject`] holds the `GpuProfile` / `ModelTags` transformations.

pub mod fit;
pub mod gitops;
pub mod imageref;
pub mod inject;
pub mod krm;
pub mod locator;
pub mod path;
pub mod policy;
pub mod quantity;
pub mod vllm;
pub mod yaml;

pub use serde_json::{Map, Value};
