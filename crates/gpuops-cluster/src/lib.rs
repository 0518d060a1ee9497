//! A live cluster, reached the way kubectl reaches it, read page by page
//! into the fit engine's node/pod model.
//!
//! * [`Connection`] is kubectl's connection flags (`--kubeconfig`,
//!   `--context`, `--cluster`, `--user`, `--request-timeout`) and turns into
//!   a [`kube::Config`]; without `--kubeconfig`, every file of a
//!   multi-file `KUBECONFIG` is merged by kubectl's rules.
//! * [`snapshot`] lists nodes and the pods that hold capacity, `limit` +
//!   `continue`, each page decoded straight into [`gpuops_schedule::cluster`],
//!   each list capped in pages, objects and bytes ([`ListOptions`]).

mod body;
mod exec;
pub use exec::ExecError;
mod kubeconfig;

use std::time::Instant;

use gpuops_schedule::cluster::{Cluster, ClusterError, continue_token_ahead, from_json_list};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

pub use kubeconfig::{Connection, InCluster, KubeconfigError, Overrides, SERVICE_ACCOUNT_DIR, load_kubeconfig};

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
    #[error(
        "{list}: more than {max} objects in one list ({objects} read in {pages} pages); stopping (raise --max-objects to read further)"
    )]
    TooManyObjects { list: String, objects: usize, pages: usize, max: usize },
    #[error(
        "{list}: more than {max_bytes} bytes in one list ({bytes} read in {pages} pages; {} KiB per object of --max-objects {max_objects}); stopping (raise --max-objects to read further)",
        BYTES_PER_OBJECT >> 10
    )]
    TooManyBytes { list: String, bytes: u64, pages: usize, max_bytes: u64, max_objects: usize },
    #[error(
        "{list}: page {page} has more than {max_bytes} bytes ({} KiB per item of --chunk-size {chunk}); stopping",
        PAGE_BYTES_PER_ITEM >> 10
    )]
    PageTooLarge { list: String, page: usize, max_bytes: u64, chunk: u32 },
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
    /// Stop with an error past this many objects in one list, or past
    /// [`BYTES_PER_OBJECT`] bytes per object of it ([`ListOptions::max_bytes`]):
    /// pages of any size (a server may ignore `limit`) and a continue token
    /// that changes on every page must not fill memory either.
    pub max_objects: usize,
}

/// [`ListOptions::max_objects`] by default: twice the 150,000 pods (and 60
/// times the 5,000 nodes) Kubernetes is tested to
/// (kubernetes/community sig-scalability/configs-and-limits/thresholds.md;
/// kubernetes.io docs/setup/best-practices/cluster-large: "No more than
/// 150,000 total pods", "No more than 5,000 nodes"), so a cluster at the
/// edge of the envelope is read whole.
pub const DEFAULT_MAX_OBJECTS: usize = 300_000;

/// Bytes a list may bring per object of its cap, on average: a pod as the
/// API serves it (managedFields included) is a few KiB, a node with its
/// image list up to a few tens; 8 KiB × 300,000 objects is 2.3 GiB on the
/// wire, more than a cluster of 150,000 pods sends.
pub const BYTES_PER_OBJECT: u64 = 8 << 10;

/// Bytes one page may have per item it may hold (`limit`): the list's cap
/// alone would let a single page (a server ignoring `limit`) take gigabytes
/// before any of it is decoded. 128 KiB is half the API server's limit on
/// one object's annotations (256 KiB, apimachinery
/// pkg/api/validation/objectmeta.go `TotalAnnotationSizeLimitB`), and far
/// more than a node or pod averages; 62.5 MiB per page at the default
/// chunk of 500.
pub const PAGE_BYTES_PER_ITEM: u64 = 128 << 10;

impl ListOptions {
    /// The byte cap of one list.
    pub fn max_bytes(&self) -> u64 {
        (self.max_objects as u64).saturating_mul(BYTES_PER_OBJECT)
    }

    /// The byte cap of one page (and of each other answer).
    pub fn max_page_bytes(&self) -> u64 {
        u64::from(self.chunk_size.max(1)).saturating_mul(PAGE_BYTES_PER_ITEM).min(self.max_bytes())
    }
}

/// Characters a query value keeps: RFC 3986 unreserved.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A fetched page on its way to the decoder.
struct Page {
    /// `{server}{path}`: the list it belongs to.
    source: String,
    /// Its number in the list, from 1.
    number: usize,
    content: Content,
}

enum Content {
    /// Raw JSON, decoded on the decoder thread.
    Raw(String),
    /// Already decoded (its token could not be read ahead).
    Decoded(Box<Cluster>),
}

/// Decode pages into one cluster, counting each list's objects against
/// `max_objects` as they arrive (the pages of one list come in a row).
fn decode(received: std::sync::mpsc::Receiver<Page>, max_objects: usize) -> Result<Cluster, Error> {
    let mut cluster = Cluster::default();
    let mut counted: (String, usize) = (String::new(), 0);
    for page in received {
        let part = match page.content {
            Content::Raw(body) => from_json_list(body.as_bytes(), &page.source)?.0,
            Content::Decoded(part) => *part,
        };
        if counted.0 != page.source {
            counted = (page.source.clone(), 0);
        }
        counted.1 = counted.1.saturating_add(part.nodes.len() + part.pods.len());
        if counted.1 > max_objects {
            return Err(Error::TooManyObjects {
                list: page.source,
                objects: counted.1,
                pages: page.number,
                max: max_objects,
            });
        }
        // Nodes, pods, and what the pods carry for the pod-dependent
        // filters (anti-affinity, host ports).
        cluster.absorb(part);
    }
    Ok(cluster)
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
        let decoder = scope.spawn(move || decode(received, list.max_objects));
        let fetched = runtime.block_on(fetch(connection, list, pages));
        let decoded = decoder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        // A fetch error explains a decoder that stopped early; report it first.
        let fetched = fetched?;
        let mut cluster = decoded?;
        cluster.source = fetched.source;
        cluster.version = fetched.version;
        cluster.priority_classes = fetched.priority_classes;
        cluster.namespaces = fetched.namespaces;
        cluster.pdbs = fetched.pdbs;
        cluster.pdbs_unread = fetched.pdbs_unread;
        cluster.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(cluster)
    })
}

/// What the fetch learns besides nodes and pods.
struct Fetched {
    /// The snapshot's name (context or server).
    source: String,
    version: Option<gpuops_schedule::cluster::KubeVersion>,
    priority_classes: Vec<gpuops_schedule::cluster::PriorityClass>,
    /// Namespaces and their labels, which pod affinity `namespaceSelector`s match.
    namespaces: Vec<gpuops_schedule::cluster::Namespace>,
    /// PodDisruptionBudgets, which preemption counts when it chooses victims.
    pdbs: Vec<gpuops_schedule::cluster::PodDisruptionBudget>,
    /// Why they could not be listed, when they could not.
    pdbs_unread: Option<String>,
}

impl Fetched {
    /// Nothing learnt besides nodes and pods.
    fn bare(source: String) -> Self {
        Fetched {
            source,
            version: None,
            priority_classes: Vec::new(),
            namespaces: Vec::new(),
            pdbs: Vec::new(),
            pdbs_unread: None,
        }
    }
}

/// GETs against one API server, each answer capped in bytes and, with
/// `--request-timeout`, bounded by a deadline for the whole answer.
struct Getter {
    client: kube::Client,
    server: String,
    deadline: Option<std::time::Duration>,
}

impl Getter {
    /// The answer's text, or `Ok(Err(bytes))` when it passed `limit` after
    /// `bytes` bytes.
    async fn get(&self, url: String, path: &str, limit: u64) -> Result<Result<String, u64>, Error> {
        let request = http::Request::get(&url).body(Vec::new()).map_err(|source| Error::Request { url, source })?;
        let answer = body::text(&self.client, request, limit);
        // kube's timeouts are per read: a server dripping a byte at a time
        // never trips them. `--request-timeout` is a deadline for the whole
        // answer, as client-go's http.Client.Timeout is.
        let result = match self.deadline {
            Some(timeout) => tokio::time::timeout(timeout, answer).await.map_err(|_| Error::Deadline {
                server: self.server.clone(),
                path: path.to_string(),
                timeout,
            })?,
            None => answer.await,
        };
        match result {
            Ok(text) => Ok(Ok(text)),
            Err(body::Failed::Over(bytes)) => Ok(Err(bytes)),
            Err(body::Failed::Kube(source)) => {
                Err(Error::List { server: self.server.clone(), path: path.to_string(), source })
            }
        }
    }

    /// A GET of a small JSON document that the fit can do without: a
    /// failure (403 from RBAC, 404 from an old or odd server, an answer past
    /// the byte cap) is logged, not fatal.
    async fn optional(&self, path: &'static str, limit: u64) -> Option<String> {
        self.optional_at(path, limit, false).await.ok()
    }

    /// [`Getter::optional`] for a list RBAC commonly refuses, whose absence
    /// the fit itself reports where it matters: logged at debug level, and
    /// why it was not read ([`unread`]) handed back for that report.
    async fn optional_quiet(&self, path: &'static str, limit: u64) -> Result<String, String> {
        self.optional_at(path, limit, true).await
    }

    async fn optional_at(&self, path: &'static str, limit: u64, quiet: bool) -> Result<String, String> {
        let server = &self.server;
        match self.get(path.to_string(), path, limit).await {
            Ok(Ok(body)) => Ok(body),
            Ok(Err(bytes)) => {
                if quiet {
                    tracing::debug!(%server, %path, bytes, limit, "more than the byte cap; going on without it");
                } else {
                    tracing::warn!(%server, %path, bytes, limit, "more than the byte cap (--max-objects); going on without it");
                }
                Err(format!("more than {limit} bytes"))
            }
            Err(error) => {
                if quiet {
                    tracing::debug!(%server, %path, %error, "not read; going on without it");
                } else {
                    tracing::warn!(%server, %path, %error, "not read; going on without it");
                }
                Err(unread(&error))
            }
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
    let getter = Getter { client, server: server.clone(), deadline: connection.request_timeout };
    // Only pods that still hold capacity are listed.
    let phases =
        format!("&fieldSelector={}", utf8_percent_encode("status.phase!=Succeeded,status.phase!=Failed", QUERY_VALUE));
    for (path, query) in [("/api/v1/nodes", String::new()), ("/api/v1/pods", phases)] {
        if !read_list(&getter, list, path, &query, &pages).await? {
            // The decoder stopped on an error; it reports it.
            return Ok(Fetched::bare(String::new()));
        }
    }
    if !list.scheduling {
        return Ok(Fetched::bare(connection.context.clone().unwrap_or(server)));
    }
    // The wording of the scheduler's messages follows the server's version
    // (`/version` gitVersion, e.g. "v1.35.2").
    let version = getter
        .optional("/version", list.max_page_bytes())
        .await
        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
        .and_then(|info| info.get("gitVersion").and_then(serde_json::Value::as_str).map(str::to_string))
        .and_then(|v| gpuops_schedule::cluster::KubeVersion::parse(&v).ok());
    let classes = "/apis/scheduling.k8s.io/v1/priorityclasses";
    let priority_classes = match getter.optional(classes, list.max_page_bytes()).await {
        Some(body) => from_json_list(body.as_bytes(), &format!("{server}{classes}"))?.0.priority_classes,
        None => Vec::new(),
    };
    // Namespaces: their labels are what affinity `namespaceSelector`s match
    // (interpodaffinity `mergeAffinityTermNamespacesIfNotEmpty`,
    // `GetNamespaceLabelsSnapshot`); one list, without them the fit says so.
    // Not being allowed to list them is common (RBAC): only the fit's own
    // warning, when a term needs them, says so.
    let listed = "/api/v1/namespaces";
    let namespaces = match getter.optional_quiet(listed, list.max_page_bytes()).await {
        Ok(body) => from_json_list(body.as_bytes(), &format!("{server}{listed}"))?.0.namespaces,
        Err(_) => Vec::new(),
    };
    // PodDisruptionBudgets: preemption prefers victims whose eviction
    // violates none (default_preemption.go `filterPodsWithPDBViolation`,
    // the scheduler's PDB lister). Optional like the namespaces: without
    // them preemption counts no violation, and a report whose preemption
    // chose victims says why they are missing (`Cluster::pdbs_unread`).
    let listed = "/apis/policy/v1/poddisruptionbudgets";
    let (pdbs, pdbs_unread) = match getter.optional_quiet(listed, list.max_page_bytes()).await {
        Ok(body) => (from_json_list(body.as_bytes(), &format!("{server}{listed}"))?.0.pdbs, None),
        Err(why) => (Vec::new(), Some(why)),
    };
    let source = connection.context.clone().unwrap_or(server);
    Ok(Fetched { source, version, priority_classes, namespaces, pdbs, pdbs_unread })
}

/// Why an optional GET was not read, in a few words for a warning: the
/// API server's code and reason (`403 Forbidden`, as kubectl's
/// `Error from server (Forbidden)` names it; its long message names the
/// user and is in the debug log), else the whole failure.
fn unread(error: &Error) -> String {
    match error {
        Error::List { source: kube::Error::Api(status), .. } if !status.reason.is_empty() => {
            gpuops_manifest::text::printable(&format!("{} {}", status.code, status.reason))
        }
        Error::List { source, .. } => describe(source),
        other => other.to_string(),
    }
}

/// Every page of one list into `pages`, stopping with an error past
/// `max_pages`, at a repeated continue token, or past the list's byte cap
/// (the object cap is the decoder's). `false` when the decoder has stopped.
async fn read_list(
    getter: &Getter,
    list: ListOptions,
    path: &'static str,
    query: &str,
    pages: &std::sync::mpsc::SyncSender<Page>,
) -> Result<bool, Error> {
    let server = &getter.server;
    let source = format!("{server}{path}");
    let mut token: Option<String> = None;
    let mut tokens_seen = std::collections::HashSet::new();
    let (mut pages_read, mut bytes_read) = (0usize, 0u64);
    loop {
        if pages_read >= list.max_pages {
            let (server, path, pages, chunk) = (server.clone(), path.to_string(), pages_read, list.chunk_size);
            return Err(Error::TooManyPages { server, path, pages, chunk });
        }
        let mut url = format!("{path}?limit={}{query}", list.chunk_size);
        if let Some(t) = &token {
            url.push_str("&continue=");
            url.extend(utf8_percent_encode(t, QUERY_VALUE));
        }
        let started = Instant::now();
        // A page has the page cap, or what is left of the list's if less.
        let left = list.max_bytes().saturating_sub(bytes_read);
        let answer = getter.get(url, path, left.min(list.max_page_bytes())).await?;
        pages_read += 1;
        let body = answer.map_err(|over| {
            if left > list.max_page_bytes() {
                let (max_bytes, chunk) = (list.max_page_bytes(), list.chunk_size);
                Error::PageTooLarge { list: source.clone(), page: pages_read, max_bytes, chunk }
            } else {
                Error::TooManyBytes {
                    list: source.clone(),
                    bytes: bytes_read.saturating_add(over),
                    pages: pages_read,
                    max_bytes: list.max_bytes(),
                    max_objects: list.max_objects,
                }
            }
        })?;
        bytes_read += body.len() as u64;
        let bytes = body.len();
        let (content, next) = match continue_token_ahead(body.as_bytes()) {
            Some(next) => (Content::Raw(body), next),
            None => {
                let (part, next) = from_json_list(body.as_bytes(), &source)?;
                (Content::Decoded(Box::new(part)), next)
            }
        };
        tracing::debug!(%path, page = pages_read, bytes, elapsed = ?started.elapsed(), more = next.is_some(), "listed a page");
        if pages.send(Page { source: source.clone(), number: pages_read, content }).is_err() {
            return Ok(false);
        }
        if let Some(next) = &next
            && !tokens_seen.insert(next.clone())
        {
            return Err(Error::RepeatedContinue { server: server.clone(), path: path.to_string(), page: pages_read });
        }
        token = next;
        if token.is_none() {
            return Ok(true);
        }
    }
}
