//! An HTTP/1.1 proxy in front of a test registry that injects faults or
//! paginates tag lists (distribution 2.8 ignores `n`/`last`). Loopback
//! only; every connection is served once and closed.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to requests.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Forward untouched.
    None,
    /// Answer the first `n` requests with 500, then forward.
    Fail500(usize),
    /// Answer every request with 503 and `Retry-After: 1`.
    AlwaysUnavailable,
    /// Answer the first `n` requests with 429 `Retry-After: 1`, then forward.
    RateLimit(usize),
    /// Wait this long before answering (client timeouts).
    Slow(Duration),
    /// Close the connection without answering.
    Cut,
    /// Send tag lists cut in the middle of their JSON.
    TruncateTags,
    /// Serve tag lists `n` per page with `Link` headers, honouring `last`.
    Paginate(usize),
    /// Demand a bearer token (the distribution token flow): answer 401 with
    /// a `WWW-Authenticate: Bearer realm=…/token` challenge and serve the
    /// token endpoint; a token request carrying credentials is refused when
    /// `reject_credentials` (a stale login), anonymous ones are granted.
    Bearer { reject_credentials: bool },
    /// Forward, and give every tag list a `Link: <url>; rel="next"` (a link
    /// to another host, or a relative one that is not a path).
    LinkTo(String),
    /// Answer 401 with `WWW-Authenticate: Bearer realm="<realm>"` to every
    /// request (a realm on another host or over plain HTTP).
    RealmAt(String),
    /// Answer tag lists with these tags (names a registry must not send).
    Tags(Vec<String>),
    /// Answer every manifest request with this body (an OCI image manifest
    /// a registry would refuse to store: layer digests that are paths);
    /// forward the rest.
    Manifest(Vec<u8>),
}

const TEST_TOKEN: &str = "anonymous-test-token";

/// A running proxy; stops on drop.
pub struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: Arc<AtomicUsize>,
    targets: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    pub fn start(upstream_port: u16, fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let targets = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, counter, log) = (stop.clone(), requests.clone(), targets.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let n = counter.fetch_add(1, Ordering::SeqCst);
                let (fault, log) = (fault.clone(), log.clone());
                std::thread::spawn(move || serve(stream, upstream_port, port, &fault, n, &log));
            }
        });
        Self { port, stop, requests, targets }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Requests received so far.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// The request targets (`/v2/…`) received so far, in order of arrival.
    pub fn targets(&self) -> Vec<String> {
        self.targets.lock().map(|t| t.clone()).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let length: usize = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Forward a request (with `Connection: close`) and read the whole answer.
fn forward(head: &str, body: &[u8], upstream_port: u16) -> Option<Vec<u8>> {
    let mut upstream = TcpStream::connect(("127.0.0.1", upstream_port)).ok()?;
    let mut rewritten = String::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        let lower = line.to_ascii_lowercase();
        if lower.starts_with("connection:") || lower.starts_with("host:") {
            continue;
        }
        rewritten.push_str(line);
        rewritten.push_str("\r\n");
    }
    rewritten.push_str(&format!("Host: 127.0.0.1:{upstream_port}\r\nConnection: close\r\n\r\n"));
    upstream.write_all(rewritten.as_bytes()).ok()?;
    upstream.write_all(body).ok()?;
    let mut response = Vec::new();
    upstream.read_to_end(&mut response).ok()?;
    Some(response)
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, String)], body: &[u8]) {
    let mut text = format!("HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n", body.len());
    for (k, v) in headers {
        text.push_str(&format!("{k}: {v}\r\n"));
    }
    text.push_str("\r\n");
    let _ = stream.write_all(text.as_bytes());
    let _ = stream.write_all(body);
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn serve(
    mut stream: TcpStream,
    upstream_port: u16,
    own_port: u16,
    fault: &Fault,
    index: usize,
    log: &Mutex<Vec<String>>,
) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let Some((head, body)) = read_request(&mut stream) else { return };
    let target = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    if let Ok(mut l) = log.lock() {
        l.push(target.clone());
    }
    let is_tags = target.contains("/tags/list");
    if let Fault::Bearer { reject_credentials } = fault {
        let authorization = header(&head, "authorization").unwrap_or("");
        if target.starts_with("/token") {
            if *reject_credentials && authorization.starts_with("Basic ") {
                return respond(
                    &mut stream,
                    "401 Unauthorized",
                    &[],
                    b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"bad credentials\"}]}",
                );
            }
            if !target.contains("scope=repository%3A") {
                return respond(&mut stream, "400 Bad Request", &[], b"missing scope");
            }
            return respond(
                &mut stream,
                "200 OK",
                &[("Content-Type", "application/json".into())],
                format!("{{\"token\":\"{TEST_TOKEN}\"}}").as_bytes(),
            );
        }
        if authorization != format!("Bearer {TEST_TOKEN}") {
            let challenge = format!("Bearer realm=\"http://127.0.0.1:{own_port}/token\",service=\"gpuops-test\"");
            return respond(
                &mut stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", challenge)],
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
            );
        }
    }
    match fault {
        Fault::RealmAt(realm) => {
            return respond(
                &mut stream,
                "401 Unauthorized",
                &[("WWW-Authenticate", format!("Bearer realm=\"{realm}\",service=\"hostile\""))],
                b"{\"errors\":[{\"code\":\"UNAUTHORIZED\",\"message\":\"authentication required\"}]}",
            );
        }
        Fault::Manifest(manifest) if target.contains("/manifests/") => {
            let media = ("Content-Type", "application/vnd.oci.image.manifest.v1+json".to_string());
            return respond(&mut stream, "200 OK", &[media], manifest);
        }
        Fault::Tags(tags) if is_tags => {
            let body = serde_json::json!({"name": "hostile", "tags": tags}).to_string();
            return respond(&mut stream, "200 OK", &[("Content-Type", "application/json".into())], body.as_bytes());
        }
        Fault::Fail500(n) if index < *n => {
            return respond(
                &mut stream,
                "500 Internal Server Error",
                &[],
                b"{\"errors\":[{\"code\":\"UNKNOWN\",\"message\":\"injected failure\"}]}",
            );
        }
        Fault::AlwaysUnavailable => {
            return respond(&mut stream, "503 Service Unavailable", &[("Retry-After", "1".into())], b"");
        }
        Fault::RateLimit(n) if index < *n => {
            return respond(&mut stream, "429 Too Many Requests", &[("Retry-After", "1".into())], b"");
        }
        Fault::Slow(delay) => std::thread::sleep(*delay),
        Fault::Cut => {
            let _ = stream.shutdown(Shutdown::Both);
            return;
        }
        _ => {}
    }
    if let (Fault::Paginate(page), true) = (fault, is_tags) {
        return paginate(&mut stream, &head, upstream_port, &target, *page);
    }
    let Some(response) = forward(&head, &body, upstream_port) else {
        return respond(&mut stream, "502 Bad Gateway", &[], b"");
    };
    if let (Fault::LinkTo(link), true) = (fault, is_tags)
        && response.starts_with(b"HTTP/1.1 200")
        && let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n")
    {
        let headers = [("Content-Type", "application/json".to_string()), ("Link", format!("<{link}>; rel=\"next\""))];
        return respond(&mut stream, "200 OK", &headers, &response[split + 4..]);
    }
    if matches!(fault, Fault::TruncateTags) && is_tags {
        // Keep the status line and headers, cut the JSON body in half.
        if let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let body = &response[split + 4..];
            let cut = &body[..body.len() / 2];
            return respond(&mut stream, "200 OK", &[("Content-Type", "application/json".into())], cut);
        }
    }
    let _ = stream.write_all(&response);
}

fn paginate(stream: &mut TcpStream, head: &str, upstream_port: u16, target: &str, page: usize) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let upstream_head = head.replacen(target, path, 1);
    let Some(response) = forward(&upstream_head, &[], upstream_port) else {
        return respond(stream, "502 Bad Gateway", &[], b"");
    };
    let Some(split) = response.windows(4).position(|w| w == b"\r\n\r\n") else { return };
    let status_line = String::from_utf8_lossy(&response[..split]).lines().next().unwrap_or("").to_string();
    if !status_line.contains(" 200 ") {
        let _ = stream.write_all(&response);
        return;
    }
    let parsed: serde_json::Value = serde_json::from_slice(&response[split + 4..]).unwrap_or_default();
    let mut tags: Vec<String> = parsed["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    tags.sort();
    let param = |key: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{key}=")).map(str::to_string));
    let n = param("n").and_then(|v| v.parse().ok()).unwrap_or(page).min(page);
    let last = param("last");
    let start = last.map_or(0, |l| tags.iter().position(|t| *t > l).unwrap_or(tags.len()));
    let chunk: Vec<&String> = tags.iter().skip(start).take(n).collect();
    let mut headers = vec![("Content-Type", "application/json".to_string())];
    if start + chunk.len() < tags.len()
        && let Some(last) = chunk.last()
    {
        headers.push(("Link", format!("<{path}?n={n}&last={last}>; rel=\"next\"")));
    }
    let body = serde_json::json!({"name": parsed["name"], "tags": chunk}).to_string();
    respond(stream, "200 OK", &headers, body.as_bytes());
}
