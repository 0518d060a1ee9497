//! The clusters a command looks at: a live API server per `--context`, a
//! dump (`--cluster-file`), or synthetic nodes (`--nodes`), each cut to
//! the nodes `-l` selects.

use std::path::PathBuf;

use gpuops_manifest::input;
use gpuops_schedule::cluster::{self, Cluster};

use crate::Error;
use crate::cli::ClusterArgs;

/// The clusters the flags name, each with only the nodes `-l` selects.
pub(crate) fn clusters(args: &ClusterArgs, scheduling: bool) -> Result<Vec<Cluster>, Error> {
    let mut clusters = all_clusters(args, scheduling)?;
    if let Some(selector) = &args.selector {
        for c in &mut clusters {
            let before = c.nodes.len();
            c.nodes.retain(|n| selector.matches(&n.labels));
            tracing::debug!(source = %c.source, nodes = c.nodes.len(), of = before, "nodes selected by -l");
        }
    }
    Ok(clusters)
}

fn list_options(args: &ClusterArgs, scheduling: bool) -> gpuops_cluster::ListOptions {
    gpuops_cluster::ListOptions {
        chunk_size: args.chunk_size,
        scheduling,
        max_pages: args.max_pages as usize,
        max_objects: args.max_objects,
    }
}

/// kubectl's override flags, as cli-runtime's ConfigFlags hands them to clientcmd.
fn overrides(args: &ClusterArgs) -> gpuops_cluster::Overrides {
    gpuops_cluster::Overrides {
        server: args.server.clone(),
        token: args.token.clone(),
        certificate_authority: args.certificate_authority.clone(),
        client_certificate: args.client_certificate.clone(),
        client_key: args.client_key.clone(),
        insecure_skip_tls_verify: args.insecure_skip_tls_verify,
        tls_server_name: args.tls_server_name.clone(),
        impersonate: args.impersonate.clone(),
        impersonate_groups: args.impersonate_groups.clone(),
        impersonate_uid: args.impersonate_uid.clone(),
    }
}

/// The clusters the flags name, one per context for a fleet.
fn all_clusters(args: &ClusterArgs, scheduling: bool) -> Result<Vec<Cluster>, Error> {
    if let Some(spec) = &args.nodes {
        let extras = cluster::SyntheticExtras { labels: args.node_labels.clone(), taints: args.node_taints.clone() };
        return Ok(vec![gpuops_fit::pools::synthetic_with(spec, &extras)?]);
    }
    if let Some(file) = &args.cluster_file {
        let list = list_options(args, scheduling);
        // The live lists' caps, for the dump's size before it is read and
        // its objects after (nodes and pods together).
        let too_large = |what, found, max| Error::DumpTooLarge { path: file.clone(), what, found, max };
        if let Ok(size) = std::fs::metadata(file).map(|m| m.len())
            && size > list.max_bytes()
        {
            return Err(too_large("bytes", size, list.max_bytes()));
        }
        let bytes = input::read_bytes(file)?;
        let started = std::time::Instant::now();
        let is_json = cluster::is_json_dump(&bytes);
        let c = cluster::from_dump(&bytes, &file.display().to_string())?;
        tracing::debug!(file = %file.display(), nodes = c.nodes.len(), pods = c.pods.len(), elapsed = ?started.elapsed(), "cluster dump read");
        let objects = (c.nodes.len() + c.pods.len()) as u64;
        if objects > list.max_objects as u64 {
            return Err(too_large("objects", objects, list.max_objects as u64));
        }
        if c.nodes.is_empty() {
            return Err(Error::NoNodes { path: file.clone(), format: if is_json { "json" } else { "yaml" } });
        }
        return Ok(vec![c]);
    }
    let contexts: Vec<Option<String>> =
        if args.contexts.is_empty() { vec![None] } else { args.contexts.iter().cloned().map(Some).collect() };
    let list = list_options(args, scheduling);
    contexts
        .into_iter()
        .map(|context| {
            let connection = gpuops_cluster::Connection {
                kubeconfig: args.kubeconfig.clone(),
                context,
                cluster: args.cluster.clone(),
                user: args.user.clone(),
                request_timeout: Some(args.request_timeout).filter(|t| !t.is_zero()),
                // kubectl's chain: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
                env_kubeconfig: std::env::var_os("KUBECONFIG"),
                home: std::env::var_os("HOME").map(PathBuf::from),
                overrides: overrides(args),
                // client-go rest.InClusterConfig's inputs; the directory can be
                // moved for tests (GPUOPS_SERVICE_ACCOUNT_DIR), as a pod never needs to.
                in_cluster: Some(gpuops_cluster::InCluster {
                    host: std::env::var("KUBERNETES_SERVICE_HOST").ok(),
                    port: std::env::var("KUBERNETES_SERVICE_PORT").ok(),
                    service_account_dir: std::env::var_os("GPUOPS_SERVICE_ACCOUNT_DIR")
                        .map_or_else(|| PathBuf::from(gpuops_cluster::SERVICE_ACCOUNT_DIR), PathBuf::from),
                }),
            };
            let _progress =
                gpuops_cli::progress::Progress::spinner(&format!("reading nodes and pods of {}", connection.target()));
            Ok(gpuops_cluster::snapshot(&connection, list)?)
        })
        .collect()
}
