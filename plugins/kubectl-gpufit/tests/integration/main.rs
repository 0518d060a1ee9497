//! `kubectl-gpufit` end to end: the real binary on the bundled examples,
//! dumps, synthetic pools, and a local API server speaking the Kubernetes
//! list wire format with pagination.

mod allocations;
mod bounds;
mod check;
mod connection;
mod edge;
mod env;
mod help;
mod hostile;
mod input;
mod live;
mod modelopt;
mod output;
mod quantization;
mod release;
mod remote;
mod shared;
mod util;
