//! kube-scheduler's and the kubelet's view of a cluster: the snapshot
//! ([`cluster`]), the pods to place ([`group`]), API-server admission
//! ([`admission`]: LimitRange, Priority, RuntimeClass, ResourceQuota),
//! Kueue ([`kueue`]), the one label-requirement match ([`requirement`]: `-l`,
//! node affinity, pod affinity) and the scheduler itself ([`scheduler`]: filters,
//! placement, preemption, kubelet admission).
//!
//! Pure: the snapshot and the objects are passed in.

pub mod admission;
pub mod cluster;
pub mod group;
pub mod kueue;
pub mod requirement;
pub mod resources;
pub mod scheduler;
