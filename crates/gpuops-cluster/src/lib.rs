//! A live cluster, reached the way kubectl reaches it, read page by page
//! into the fit engine's node/pod model.
//!
//! * [`Connection`] is kubectl's connection flags (`--kubeconfig`,
//!   `--context`, `--cluster`, `--user`, `--request-timeout`) and turns into
//!   a [`kube::Config`]; without `--kubeconfig`, every file of a
//!   multi-file `KUBECONFIG` is merged by kubectl's rules.
//! * [`snapshot`] lists nodes and the pods that hold capacity, `limit` +
//!   `continue`, each page decoded straight into [`gpuops_fit::cluster`].

mod exec;
pub use exec::ExecError;
mod kubeconfig;

use std::time::Instant;

use gpuops_fit::cluster::{Cluster, ClusterError, continue_token_ahead, from_json_list};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use kubeconfig::{Connection, KubeconfigError, load_kubeconfig};

/// A live read that failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot start the client runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error(transparent)]
    Kubeconfig(#[from] KubeconfigError),
    #[error("{server}: {}", describe(.source))]
    Client {
        server: String,
        #[source]
        source: kube::Error,
    },
    #[error("{url}: {source}")]
    Request {
        url: String,
        #[source]
        source: http::Error,
    },
    #[error("{server}{path}: {}", describe(.source))]
    List {
        server: String,
        path: String,
        #[source]
        source: kube::Error,
    },
    #[error(
        "{server}{path}: the API server sent the same continue token twice (page {page}); stopping instead of reading in a loop"
    )]
    RepeatedContinue { server: String, path: String, page: usize },
    #[error(
        "{server}{path}: still more after {pages} pages of {chunk} items; stopping (raise --max-pages to read further)"
    )]
    TooManyPages { server: String, path: String, pages: usize, chunk: u32 },
    #[error("{server}{path}: no complete answer within {timeout:?} (--request-timeout)")]
    Deadline { server: String, path: String, timeout: std::time::Duration },
    #[error(transparent)]
    Decode(#[from] ClusterError),
}

/// A kube error as one line a user can act on: the API server's own
/// message and code for a Status, the innermost causes for a transport
/// failure ("connection refused", not "ServiceError: SendRequest"), never a
/// Rust `Debug` dump. Terminal escapes a server sent are shown escaped.
fn describe(error: &kube::Error) -> String {
    let text = match error {
        kube::Error::Api(status) => {
            let reason = if status.reason.is_empty() { String::new() } else { format!(" {}", status.reason) };
            format!("{} (HTTP {}{reason})", status.message, status.code)
        }
        other => {
            let mut parts: Vec<String> = Vec::new();
            let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(other);
            while let Some(e) = cause {
                let text = e.to_string();
                if !parts.iter().any(|p| p.contains(&text)) {
                    parts.push(text);
                }
                cause = e.source();
            }
            if parts.is_empty() { other.to_string() } else { parts.join(": ") }
        }
    };
    gpuops_manifest::text::printable(&text)
}

/// How to list.
#[derive(Debug, Clone, Copy)]
pub struct ListOptions {
    /// Items per page (kubectl's `--chunk-size`).
    pub chunk_size: u32,
    /// Also read what the scheduler's verdict needs besides nodes and pods:
    /// the server's version (message wording) and its PriorityClasses.
    /// An inventory (`gpufit nodes`) does without both requests.
    pub scheduling: bool,
    /// Stop with an error after this many pages of one list: a server
    /// whose continue chain never ends must not fill memory.
    pub max_pages: usize,
}

/// Characters a query value keeps: RFC 3986 unreserved.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A fetched page on its way to the decoder.
enum Page {
    /// Raw JSON, decoded on the decoder thread.
    Raw { source: String, body: String },
    /// Already decoded (its token could not be read ahead).
    Decoded(Cluster),
}

/// Nodes and bound pods of the cluster `connection` points at.
///
/// Fetching and decoding overlap: the fetch loop reads each page's
/// `continue` token from the metadata ahead of the items and asks for the
/// next page while a second thread decodes this one.
pub fn snapshot(connection: &Connection, list: ListOptions) -> Result<Cluster, Error> {
    // rustls needs one process-wide crypto provider; which one the features
    // enable depends on what else is built, so choose it explicitly (an
    // error only means one is already installed).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(Error::Runtime)?;
    std::thread::scope(|scope| {
        // Two pages in flight at most: memory stays at a few pages.
        let (pages, received) = std::sync::mpsc::sync_channel::<Page>(2);
        let decoder = scope.spawn(move || -> Result<Cluster, Error> {
            let mut cluster = Cluster::default();
            for page in received {
                let part = match page {
                    Page::Raw { source, body } => from_json_list(body.as_bytes(), &source)?.0,
                    Page::Decoded(part) => part,
                };
                cluster.nodes.extend(part.nodes);
                cluster.pods.extend(part.pods);
            }
            Ok(cluster)
        });
        let fetched = runtime.block_on(fetch(connection, list, pages));
        let decoded = decoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A fetch error explains a decoder that stopped early; report it first.
        let fetched = fetched?;
        let mut cluster = decoded?;
        cluster.source = fetched.source;
        cluster.version = fetched.version;
        cluster.priority_classes = fetched.priority_classes;
        cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cluster)
    })
}

/// What the fetch learns besides nodes and pods.
struct Fetched {
    /// The snapshot's name (context or server).
    source: String,
    version: Option<gpuops_fit::schedule::KubeVersion>,
    priority_classes: Vec<gpuops_fit::cluster::PriorityClass>,
}

/// A GET of a small JSON document that the fit can do without: a failure
/// (403 from RBAC, 404 from an old or odd server) is logged, not fatal.
async fn optional_get<F, Fut>(get: &F, server: &str, path: &'static str) -> Option<String>
where
    F: Fn(String, &'static str) -> Fut,
    Fut: std::future::Future<Output = Result<String, Error>>,
{
    match get(path.to_string(), path).await {
        Ok(body) => Some(body),
        Err(error) => {
            tracing::warn!(%server, %path, %error, "not read; going on without it");
            None
        }
    }
}

/// List nodes and pods page by page into `pages`, then read the server's
/// version and its PriorityClasses.
async fn fetch(
    connection: &Connection,
    list: ListOptions,
    pages: std::sync::mpsc::SyncSender<Page>,
) -> Result<Fetched, Error> {
    let config = connection.config().await?;
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let client = kube::Client::try_from(config).map_err(|source| Error::Client { server: server.clone(), source })?;
    // kube's timeouts are per read: a server dripping a byte at a time never
    // trips them. `--request-timeout` is a deadline for the whole answer, as
    // client-go's http.Client.Timeout is.
    let deadline = connection.request_timeout;
    let get = |url: String, path: &'static str| {
        let client = client.clone();
        let server = server.clone();
        async move {
            let request = http::Request::get(&url).body(Vec::new()).map_err(|source| Error::Request { url, source })?;
            let answer = client.request_text(request);
            let result = match deadline {
                Some(timeout) => tokio::time::timeout(timeout, answer).await.map_err(|_| Error::Deadline {
                    server: server.clone(),
                    path: path.to_string(),
                    timeout,
                })?,
                None => answer.await,
            };
            result.map_err(|source| Error::List { server, path: path.to_string(), source })
        }
    };
    // Only pods that still hold capacity are listed.
    let phases =
        format!("&fieldSelector={}", utf8_percent_encode("status.phase!=Succeeded,status.phase!=Failed", QUERY_VALUE));
    for (path, query) in [("/api/v1/nodes", String::new()), ("/api/v1/pods", phases)] {
        let mut token: Option<String> = None;
        let mut tokens_seen = std::collections::HashSet::new();
        let mut pages_read = 0usize;
        loop {
            if pages_read >= list.max_pages {
                return Err(Error::TooManyPages {
                    server,
                    path: path.to_string(),
                    pages: pages_read,
                    chunk: list.chunk_size,
                });
            }
            let mut url = format!("{path}?limit={}{query}", list.chunk_size);
            if let Some(t) = &token {
                url.push_str("&continue=");
                url.extend(utf8_percent_encode(t, QUERY_VALUE));
            }
            let started = Instant::now();
            let body = get(url, path).await?;
            pages_read += 1;
            let source = format!("{server}{path}");
            let bytes = body.len();
            let (page, next) = match continue_token_ahead(body.as_bytes()) {
                Some(next) => (Page::Raw { source, body }, next),
                None => {
                    let (part, next) = from_json_list(body.as_bytes(), &source)?;
                    (Page::Decoded(part), next)
                }
            };
            tracing::debug!(%path, page = pages_read, bytes, elapsed = ?started.elapsed(), more = next.is_some(), "listed a page");
            if pages.send(page).is_err() {
                // The decoder stopped on an error; it reports it.
                return Ok(Fetched { source: String::new(), version: None, priority_classes: Vec::new() });
            }
            if let Some(next) = &next
                && !tokens_seen.insert(next.clone())
            {
                return Err(Error::RepeatedContinue { server, path: path.to_string(), page: pages_read });
            }
            token = next;
            if token.is_none() {
                break;
            }
        }
    }
    if !list.scheduling {
        return Ok(Fetched {
            source: connection.context.clone().unwrap_or(server),
            version: None,
            priority_classes: Vec::new(),
        });
    }
    // The wording of the scheduler's messages follows the server's version
    // (`/version` gitVersion, e.g. "v1.35.2").
    let version = optional_get(&get, &server, "/version")
        .await
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|info| info.get("gitVersion").and_then(serde_json::Value::as_str).map(str::to_string))
        .and_then(|v| gpuops_fit::schedule::KubeVersion::parse(&v).ok());
    let priority_classes = match optional_get(&get, &server, "/apis/scheduling.k8s.io/v1/priorityclasses").await {
        Some(body) => {
            from_json_list(body.as_bytes(), &format!("{server}/apis/scheduling.k8s.io/v1/priorityclasses"))?
                .0
                .priority_classes
        }
        None => Vec::new(),
    };
    Ok(Fetched { source: connection.context.clone().unwrap_or(server), version, priority_classes })
}
