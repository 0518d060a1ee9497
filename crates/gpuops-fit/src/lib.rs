//! Will GPU workloads fit a cluster: scheduler filters, placement, rollout
//! surge and the vLLM memory model.

pub mod admission;
pub mod catalog;
pub mod cluster;
pub mod hfconfig;
pub mod kueue;
pub mod memory;
pub mod report;
pub mod resources;
pub mod schedule;
pub mod workloads;
