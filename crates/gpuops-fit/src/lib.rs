//! Will GPU workloads fit a cluster: workloads read into pod groups
//! ([`workloads`]), then the check ([`report`]) that combines the
//! scheduler simulation (`gpuops-schedule`) with vLLM's memory accounting
//! (`gpuops-model`).
//!
//! A pure function of its inputs: no environment, no current directory, no
//! network. The binaries resolve models first (`gpuops_model::resolve`)
//! and pass the shapes in, so one input gives one verdict anywhere.

pub mod pools;
pub mod report;
pub mod workloads;
