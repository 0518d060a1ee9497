//! A live cluster through kube-rs, with kubectl's flags: nodes and pods
//! listed page by page (`limit` 500 + `continue`), only pods that still hold
//! capacity (`status.phase!=Succeeded,status.phase!=Failed`).

use gpuops_core::fit::cluster::{Cluster, from_json_list};

use crate::{ClusterArgs, Error};

pub(crate) fn snapshot(args: &ClusterArgs, context: Option<&str>) -> Result<Cluster, Error> {
    // rustls needs one process-wide crypto provider; which one the features
    // enable depends on what else is built, so choose it explicitly (an
    // error only means one is already installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Cluster(format!("cannot start the client runtime: {e}")))?;
    runtime.block_on(fetch(args, context))
}

async fn fetch(args: &ClusterArgs, context: Option<&str>) -> Result<Cluster, Error> {
    let options = kube::config::KubeConfigOptions { context: context.map(str::to_string), cluster: None, user: None };
    let where_ = context.map_or_else(|| "the current context".to_string(), |c| format!("context {c:?}"));
    let mut config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| Error::Cluster(format!("reading kubeconfig {}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .map_err(|e| Error::Cluster(format!("no usable kubeconfig for {where_}: {e} (or use --nodes / --cluster-file)")))?;
    config.read_timeout = Some(args.request_timeout);
    config.connect_timeout = Some(args.request_timeout);
    let server = config.cluster_url.to_string();
    let client = kube::Client::try_from(config).map_err(|e| Error::Cluster(format!("{server}: {e}")))?;
    let page = args.chunk_size;
    let mut cluster = Cluster { source: context.map_or_else(|| server.clone(), str::to_string), ..Cluster::default() };
    // Each page becomes nodes and bound pods at once, read with the lean
    // decoder: 60,000 pods are never all held as JSON.
    let phases = "&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed";
    for (path, query) in [("/api/v1/nodes", ""), ("/api/v1/pods", phases)] {
        let mut token: Option<String> = None;
        loop {
            let mut url = format!("{path}?limit={page}{query}");
            if let Some(t) = &token {
                url.push_str("&continue=");
                url.push_str(&encode(t));
            }
            let request =
                http::Request::get(&url).body(Vec::new()).map_err(|e| Error::Cluster(format!("{url}: {e}")))?;
            let text =
                client.request_text(request).await.map_err(|e| Error::Cluster(format!("{server}{path}: {e}")))?;
            let (part, next) = from_json_list(&text, &format!("{server}{path}")).map_err(Error::Cluster)?;
            cluster.nodes.extend(part.nodes);
            cluster.pods.extend(part.pods);
            token = next;
            if token.is_none() {
                break;
            }
        }
    }
    cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(cluster)
}

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
