//! `kubectl-modelbump` end to end: the real binary, a real docker-registry,
//! real git.

mod apply;
mod automations;
mod faults;
mod flux;
mod flux_scope;
mod hostile;
mod hostile_repo;
mod image;
mod images;
mod interrupt;
mod messages;
mod provider;
mod pull_request;
mod push_branch;
mod registry_client;
mod release;
mod scan;
mod tls;
mod util;
