//! A local stand-in for the Kubernetes API server: serves Node and Pod
//! lists in the real wire format (`NodeList` with items without `kind`,
//! `metadata.resourceVersion`, `metadata.continue` and
//! `remainingItemCount`), honouring `limit`, `continue` and the
//! `status.phase!=…` field selector, and demanding a bearer token; also
//! `/version` (the server's `version.Info`), the PriorityClass list and the
//! PodDisruptionBudget list (`PodDisruptionBudgetList`, `apiVersion: policy/v1`).
//! Paths can be refused as RBAC refuses them (`403 Forbidden`).

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

pub const API_TOKEN: &str = "gpuops-test-token";

/// A second token the stand-in accepts: the one a test passes with
/// `--token` or puts in a ServiceAccount directory, so that it can tell which
/// credential arrived.
pub const FLAG_TOKEN: &str = "gpuops-flag-token";

/// What one request carried besides its target: the identity headers the
/// API server's authentication and impersonation filters read
/// (k8s.io/apiserver pkg/endpoints/filters/impersonation.go: `Impersonate-User`,
/// `Impersonate-Group` (repeated), `Impersonate-Uid`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    /// Path and query.
    pub target: String,
    /// The bearer token presented (test tokens only), if any.
    pub bearer: Option<String>,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub impersonate_uid: Option<String>,
    /// Over TLS: whether the client presented a certificate the CA signed
    /// (an unsigned one fails the handshake).
    pub client_certificate: bool,
}

/// A connection the stand-in answers on: plain TCP or TLS.
trait Conn: Read + Write {
    /// Whether the peer presented a verified client certificate.
    fn client_certificate(&self) -> bool {
        false
    }
    /// End the answer (TLS: close_notify).
    fn finish(&mut self) {}
}

impl Conn for TcpStream {}

impl Conn for rustls::StreamOwned<rustls::ServerConnection, TcpStream> {
    fn client_certificate(&self) -> bool {
        self.conn.peer_certificates().is_some_and(|c| !c.is_empty())
    }
    fn finish(&mut self) {
        self.conn.send_close_notify();
        let _ = self.conn.complete_io(&mut self.sock);
    }
}

/// The objects one stand-in serves.
struct Served<'a> {
    nodes: &'a [Value],
    pods: &'a [Value],
    priority_classes: &'a [Value],
    pdbs: &'a [Value],
    version: &'a str,
    /// Paths answered `403 Forbidden`.
    forbidden: &'a [&'a str],
}

/// A running API server; stops on drop.
pub struct ApiServer {
    port: u16,
    tls: bool,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Received>>>,
}

/// Ways the stand-in misbehaves, for the client's guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Misbehave {
    #[default]
    None,
    /// Every node page carries the same `continue` token.
    RepeatContinue,
    /// Every node page carries a new `continue` token, forever.
    EndlessContinue,
    /// Every node page is full (`limit` nodes, the served ones over and
    /// over, each named anew) and carries a new `continue` token, forever.
    EndlessFullPages,
    /// The node list is one page that never ends: items are written until
    /// the client hangs up (a server ignoring `limit`).
    EndlessPage,
    /// Node lists are sent one byte every 200 ms (each read is quick, the
    /// whole answer never is).
    Drip,
}

struct Data {
    misbehave: Misbehave,
    nodes: Vec<String>,
    pods: Vec<(String, String)>, // (phase, json)
    priority_classes: Vec<String>,
    /// PodDisruptionBudgets (policy/v1), served at
    /// `/apis/policy/v1/poddisruptionbudgets`.
    pdbs: Vec<String>,
    /// `gitVersion` of `/version`.
    version: String,
    /// Paths answered `403 Forbidden`, as RBAC answers a user without `list`.
    forbidden: Vec<String>,
}

fn encode_token(offset: usize) -> String {
    // Real continue tokens are opaque base64 JSON; keep the shape.
    let raw = format!("{{\"v\":\"meta.k8s.io/v1\",\"rv\":4242,\"start\":\"{offset}\"}}");
    crate::base64(raw.as_bytes())
}

impl ApiServer {
    /// Serve these Node and Pod objects (as `kubectl get -o json` shows
    /// them), as a v1.35.0 server without PriorityClasses.
    pub fn start(nodes: &[Value], pods: &[Value]) -> Self {
        Self::start_with(nodes, pods, &[], "v1.35.0")
    }

    /// [`ApiServer::start`] with PriorityClass objects and a server version.
    pub fn start_with(nodes: &[Value], pods: &[Value], priority_classes: &[Value], version: &str) -> Self {
        Self::start_misbehaving(nodes, pods, priority_classes, version, Misbehave::None)
    }

    /// [`ApiServer::start_with`] that also lists these PodDisruptionBudget
    /// objects (the cluster-wide list a scheduler's PDB lister reads).
    pub fn start_with_pdbs(
        nodes: &[Value],
        pods: &[Value],
        priority_classes: &[Value],
        pdbs: &[Value],
        version: &str,
    ) -> Self {
        let served = Served { nodes, pods, priority_classes, pdbs, version, forbidden: &[] };
        Self::launch(served, Misbehave::None, None)
    }

    /// [`ApiServer::start_with`] that answers each of the `forbidden`
    /// paths (e.g. `/apis/policy/v1/poddisruptionbudgets`) with `403
    /// Forbidden`, as the API server does when RBAC grants the user no
    /// `list` on that resource.
    pub fn start_forbidding(
        nodes: &[Value],
        pods: &[Value],
        priority_classes: &[Value],
        version: &str,
        forbidden: &[&str],
    ) -> Self {
        let served = Served { nodes, pods, priority_classes, pdbs: &[], version, forbidden };
        Self::launch(served, Misbehave::None, None)
    }

    /// [`ApiServer::start_with`], misbehaving as told.
    pub fn start_misbehaving(
        nodes: &[Value],
        pods: &[Value],
        priority_classes: &[Value],
        version: &str,
        misbehave: Misbehave,
    ) -> Self {
        let served = Served { nodes, pods, priority_classes, pdbs: &[], version, forbidden: &[] };
        Self::launch(served, misbehave, None)
    }

    /// [`ApiServer::start`] over HTTPS with the certificates of
    /// [`crate::tls`]: the server's is for 127.0.0.1, client certificates
    /// signed by the CA authenticate as a token does.
    pub fn start_tls(nodes: &[Value], pods: &[Value]) -> Self {
        let served = Served { nodes, pods, priority_classes: &[], pdbs: &[], version: "v1.35.0", forbidden: &[] };
        Self::launch(served, Misbehave::None, Some(crate::tls::server_config()))
    }

    fn launch(served: Served<'_>, misbehave: Misbehave, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let Served { nodes, pods, priority_classes, pdbs, version, forbidden } = served;
        let tls_flag = tls.is_some();
        let data = Arc::new(Data {
            misbehave,
            priority_classes: priority_classes.iter().map(|c| strip_kind(c).to_string()).collect(),
            pdbs: pdbs.iter().map(|p| strip_kind(p).to_string()).collect(),
            version: version.to_string(),
            forbidden: forbidden.iter().map(|p| p.to_string()).collect(),
            nodes: nodes.iter().map(|n| strip_kind(n).to_string()).collect(),
            pods: pods
                .iter()
                .map(|p| {
                    (
                        p.pointer("/status/phase").and_then(Value::as_str).unwrap_or("").to_string(),
                        strip_kind(p).to_string(),
                    )
                })
                .collect(),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind api server");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, log) = (stop.clone(), requests.clone());
        // Continue tokens handed out → the offset they continue from.
        let tokens: Arc<Mutex<HashMap<String, usize>>> = Arc::new(Mutex::new(HashMap::new()));
        let counter = Arc::new(AtomicUsize::new(0));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (data, log, tokens, counter) = (data.clone(), log.clone(), tokens.clone(), counter.clone());
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => serve(stream, &data, &log, &tokens, &counter),
                    Some(config) => {
                        let Ok(connection) = rustls::ServerConnection::new(config) else { return };
                        serve(rustls::StreamOwned::new(connection, stream), &data, &log, &tokens, &counter);
                    }
                });
            }
        });
        let tls = tls_flag;
        Self { port, tls, stop, requests }
    }

    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", if self.tls { "https" } else { "http" }, self.port)
    }

    /// The port it listens on (for `KUBERNETES_SERVICE_PORT`).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Request targets received so far (path and query).
    pub fn requests(&self) -> Vec<String> {
        self.received().into_iter().map(|r| r.target).collect()
    }

    /// Requests received so far, with the identity they carried.
    pub fn received(&self) -> Vec<Received> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// A kubeconfig with one context per `(context, server)`, token auth.
    pub fn write_kubeconfig(dir: &Path, contexts: &[(&str, &str)]) -> PathBuf {
        let mut clusters = String::new();
        let mut ctxs = String::new();
        for (name, server) in contexts {
            clusters.push_str(&format!("- name: {name}\n  cluster:\n    server: {server}\n"));
            ctxs.push_str(&format!("- name: {name}\n  context:\n    cluster: {name}\n    user: tester\n"));
        }
        let text = format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {}\nclusters:\n{clusters}contexts:\n{ctxs}users:\n- name: tester\n  user:\n    token: {API_TOKEN}\n",
            contexts.first().map_or("none", |c| c.0)
        );
        let path = dir.join("kubeconfig");
        std::fs::write(&path, text).expect("kubeconfig");
        path
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn strip_kind(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("kind");
        map.remove("apiVersion");
    }
    copy
}

/// The identity a request head carries.
fn received(head: &str, target: &str) -> Received {
    let all = |name: &str| -> Vec<String> {
        head.lines()
            .filter_map(|line| line.split_once(':'))
            .filter(|(key, _)| key.trim().eq_ignore_ascii_case(name))
            .map(|(_, value)| value.trim().to_string())
            .collect()
    };
    Received {
        target: target.to_string(),
        bearer: crate::http::header(head, "authorization")
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string()),
        impersonate_user: crate::http::header(head, "impersonate-user").map(str::to_string),
        impersonate_groups: all("impersonate-group"),
        impersonate_uid: crate::http::header(head, "impersonate-uid").map(str::to_string),
        client_certificate: false,
    }
}

fn respond(stream: &mut impl Write, status: &str, body: &str) {
    crate::http::respond(stream, status, &[("Content-Type", "application/json")], body.as_bytes());
}

fn status_body(code: u16, reason: &str, message: &str) -> String {
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code}).to_string()
}

/// The Status RBAC's refusal carries (k8s.io/apiserver
/// pkg/endpoints/handlers/responsewriters/errors.go `Forbidden`, `forbiddenMessage`:
/// `<resource>.<group> is forbidden: User "<user>" cannot list resource
/// "<resource>" in API group "<group>" at the cluster scope`).
fn forbidden_body(path: &str) -> String {
    let mut parts = path.trim_start_matches('/').split('/');
    let (group, resource) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("apis"), Some(group), Some(_version), Some(resource)) => (group, resource),
        (Some("api"), Some(_version), Some(resource), _) => ("", resource),
        _ => ("", path),
    };
    let qualified = if group.is_empty() { resource.to_string() } else { format!("{resource}.{group}") };
    let message = format!(
        "{qualified} is forbidden: User \"system:serviceaccount:gpuops:gpufit\" cannot list resource \"{resource}\" in API group \"{group}\" at the cluster scope"
    );
    serde_json::json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
        "reason": "Forbidden", "details": {"group": group, "kind": resource}, "code": 403})
    .to_string()
}

fn serve(
    mut stream: impl Conn,
    data: &Data,
    log: &Mutex<Vec<Received>>,
    tokens: &Mutex<HashMap<String, usize>>,
    counter: &AtomicUsize,
) {
    answer(&mut stream, data, log, tokens, counter);
    stream.finish();
}

fn answer<S: Conn>(
    mut stream: &mut S,
    data: &Data,
    log: &Mutex<Vec<Received>>,
    tokens: &Mutex<HashMap<String, usize>>,
    counter: &AtomicUsize,
) {
    let Some(head) = crate::http::read_head(&mut stream) else { return };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut received = received(&head, &target);
    received.client_certificate = stream.client_certificate();
    // kube-apiserver's authenticators: a known token, or an x509 client
    // certificate its --client-ca-file signed.
    let authorized = matches!(received.bearer.as_deref(), Some(API_TOKEN | FLAG_TOKEN)) || received.client_certificate;
    if let Ok(mut l) = log.lock() {
        l.push(received);
    }
    if !authorized {
        return respond(&mut stream, "401 Unauthorized", &status_body(401, "Unauthorized", "Unauthorized"));
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    if data.forbidden.iter().any(|f| f == path) {
        return respond(&mut stream, "403 Forbidden", &forbidden_body(path));
    }
    let param = |key: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string));
    // A list's apiVersion is its group's (`policy/v1` for PDBs,
    // `scheduling.k8s.io/v1` for PriorityClasses), as the API server writes
    // it; the core lists are `v1`.
    let mut api_version = "v1";
    let (kind, items): (&str, Vec<&String>) = match path {
        "/version" => {
            // k8s.io/apimachinery/pkg/version.Info, as the API server writes it.
            let minor: String = data.version.split('.').nth(1).unwrap_or("0").to_string();
            let info = serde_json::json!({"major": "1", "minor": minor, "emulationMajor": "1", "emulationMinor": minor,
                "minCompatibilityMajor": "1", "minCompatibilityMinor": minor, "gitVersion": data.version,
                "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
                "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.25.0", "compiler": "gc", "platform": "linux/amd64"});
            return respond(&mut stream, "200 OK", &info.to_string());
        }
        "/apis/scheduling.k8s.io/v1/priorityclasses" => {
            api_version = "scheduling.k8s.io/v1";
            ("PriorityClassList", data.priority_classes.iter().collect())
        }
        "/apis/policy/v1/poddisruptionbudgets" => {
            api_version = "policy/v1";
            ("PodDisruptionBudgetList", data.pdbs.iter().collect())
        }
        "/api/v1/nodes" => ("NodeList", data.nodes.iter().collect()),
        "/api/v1/pods" => {
            let selector = param("fieldSelector").unwrap_or_default();
            let excluded: Vec<&str> = ["Succeeded", "Failed"].into_iter().filter(|p| selector.contains(p)).collect();
            (
                "PodList",
                data.pods.iter().filter(|(phase, _)| !excluded.contains(&phase.as_str())).map(|(_, j)| j).collect(),
            )
        }
        _ => {
            return respond(
                &mut stream,
                "404 Not Found",
                &status_body(404, "NotFound", &format!("the server could not find the requested resource ({path})")),
            );
        }
    };
    if path == "/api/v1/nodes" && data.misbehave != Misbehave::None {
        let limit = param("limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(500);
        return misbehave(&mut stream, data, counter, limit);
    }
    let start = match param("continue") {
        None => 0,
        Some(token) => {
            let token = token.replace("%3D", "=").replace("%2B", "+").replace("%2F", "/");
            match tokens.lock().ok().and_then(|t| t.get(&token).copied()) {
                Some(offset) => offset,
                None => {
                    return respond(
                        &mut stream,
                        "410 Gone",
                        &status_body(410, "Expired", "The provided continue parameter is too old"),
                    );
                }
            }
        }
    };
    let limit = param("limit").and_then(|l| l.parse::<usize>().ok()).filter(|l| *l > 0).unwrap_or(items.len().max(1));
    let end = (start + limit).min(items.len());
    let mut metadata = String::from("\"resourceVersion\":\"4242\"");
    if end < items.len() {
        let token = format!("{}.{}", encode_token(end), counter.fetch_add(1, Ordering::SeqCst));
        if let Ok(mut t) = tokens.lock() {
            t.insert(token.clone(), end);
        }
        metadata.push_str(&format!(",\"continue\":\"{token}\",\"remainingItemCount\":{}", items.len() - end));
    }
    let mut body =
        format!("{{\"kind\":\"{kind}\",\"apiVersion\":\"{api_version}\",\"metadata\":{{{metadata}}},\"items\":[");
    for (i, item) in items[start..end].iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(item);
    }
    body.push_str("]}");
    respond(&mut stream, "200 OK", &body);
}

/// The served nodes over and over, each renamed `<name>-<n>` so that every
/// item is a distinct node.
fn renamed_node(data: &Data, n: usize) -> String {
    let Some(template) = data.nodes.get(n % data.nodes.len().max(1)) else { return "{}".to_string() };
    let mut node: Value = serde_json::from_str(template).unwrap_or(Value::Null);
    if let Some(name) = node.pointer_mut("/metadata/name") {
        *name = Value::String(format!("{}-{n}", name.as_str().unwrap_or("node")));
    }
    node.to_string()
}

fn misbehave(stream: &mut impl Write, data: &Data, counter: &AtomicUsize, limit: usize) {
    use std::io::Write as _;
    let token = match data.misbehave {
        Misbehave::RepeatContinue => "c2FtZS10b2tlbg==".to_string(),
        _ => encode_token(counter.fetch_add(1, Ordering::SeqCst)),
    };
    if data.misbehave == Misbehave::EndlessPage {
        // A Content-Length no answer reaches: the client must stop on its own.
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1099511627776\r\n\r\n{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{\"resourceVersion\":\"4242\"},\"items\":[";
        let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut *stream);
        let mut ok = out.write_all(head.as_bytes()).is_ok();
        let mut n = 0usize;
        while ok {
            let sep = if n == 0 { "" } else { "," };
            ok = out.write_all(format!("{sep}{}", renamed_node(data, n)).as_bytes()).is_ok();
            n += 1;
        }
        return;
    }
    if data.misbehave == Misbehave::EndlessFullPages {
        let start = counter.fetch_add(limit, Ordering::SeqCst);
        let items: Vec<String> = (start..start + limit).map(|n| renamed_node(data, n)).collect();
        let body = format!(
            "{{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"4242\",\"continue\":\"{token}\",\"remainingItemCount\":1000000}},\"items\":[{}]}}",
            items.join(",")
        );
        return respond(stream, "200 OK", &body);
    }
    let first = data.nodes.first().map_or("", String::as_str);
    let body = format!(
        "{{\"kind\":\"NodeList\",\"apiVersion\":\"v1\",\"metadata\":{{\"resourceVersion\":\"4242\",\"continue\":\"{token}\"}},\"items\":[{first}]}}"
    );
    if data.misbehave != Misbehave::Drip {
        return respond(stream, "200 OK", &body);
    }
    let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n", body.len());
    if stream.write_all(head.as_bytes()).is_err() {
        return;
    }
    for byte in body.bytes() {
        std::thread::sleep(std::time::Duration::from_millis(200));
        if stream.write_all(&[byte]).and_then(|()| stream.flush()).is_err() {
            return;
        }
    }
}
