//! A live cluster through kube-rs, with kubectl's flags: nodes and pods
//! listed page by page (`limit` 500 + `continue`), only pods that still hold
//! capacity (`status.phase!=Succeeded,status.phase!=Failed`).

use gpuops_core::fit::cluster::{Cluster, flatten_lists};
use serde_json::Value;

use crate::{ClusterArgs, Error};

pub(crate) fn snapshot(args: &ClusterArgs, context: Option<&str>) -> Result<Cluster, Error> {
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
    let nodes = list_all(&client, "/api/v1/nodes", "", page, &server).await?;
    let pods = list_all(
        &client,
        "/api/v1/pods",
        "&fieldSelector=status.phase%21%3DSucceeded%2Cstatus.phase%21%3DFailed",
        page,
        &server,
    )
    .await?;
    let objects = flatten_lists(vec![nodes, pods]);
    Cluster::from_objects(&context.map_or_else(|| server.clone(), str::to_string), &objects).map_err(Error::Cluster)
}

/// All pages of one list, merged into a single List value.
async fn list_all(
    client: &kube::Client,
    path: &str,
    query: &str,
    page_size: u32,
    server: &str,
) -> Result<Value, Error> {
    let mut items = Vec::new();
    let mut kind = String::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("{path}?limit={page_size}{query}");
        if let Some(t) = &token {
            url.push_str("&continue=");
            url.push_str(&encode(t));
        }
        let request = http::Request::get(&url).body(Vec::new()).map_err(|e| Error::Cluster(format!("{url}: {e}")))?;
        let mut page: Value =
            client.request(request).await.map_err(|e| Error::Cluster(format!("{server}{path}: {e}")))?;
        if kind.is_empty() {
            kind = page.get("kind").and_then(Value::as_str).unwrap_or("List").to_string();
        }
        if let Some(Value::Array(list)) = page.get_mut("items").map(std::mem::take) {
            items.extend(list);
        }
        token =
            page.pointer("/metadata/continue").and_then(Value::as_str).filter(|t| !t.is_empty()).map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    Ok(serde_json::json!({"kind": kind, "apiVersion": "v1", "items": items}))
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
