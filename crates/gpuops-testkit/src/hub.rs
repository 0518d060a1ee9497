//! A local stand-in for the Hugging Face hub (what `HF_ENDPOINT` points
//! tests at): `GET /{org}/{name}/resolve/{revision}/{file}` answers the
//! file with `X-Repo-Commit`, as huggingface.co does for non-LFS files;
//! a gated repository answers 401 without the right `Authorization:
//! Bearer` token, an unknown file 404 (`X-Error-Code: EntryNotFound`).
//!
//! For hostile-hub tests it can send another `X-Repo-Commit` (a path, say),
//! and it answers `CONNECT` like an HTTP proxy, serving the tunnelled
//! request itself: pointed at by `HTTP_PROXY`, it stands for any remote
//! host (`hub.evil.test`) and records what that host would have received.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Paths asked for, each with the Authorization header it carried.
type RequestLog = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A running hub; stops on drop.
pub struct HubServer {
    port: u16,
    stop: Arc<AtomicBool>,
    requests: RequestLog,
}

struct Repo {
    files: HashMap<String, Vec<u8>>,
    /// The token a gated repository wants.
    token: Option<String>,
}

pub const HUB_COMMIT: &str = "1f0a6c2d9e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49";

impl HubServer {
    /// Serve `(repo_id, file, body)`; repositories in `gated` need `token`.
    pub fn start(files: &[(&str, &str, &[u8])], gated: &[&str], token: &str) -> Self {
        Self::answering(files, gated, token, HUB_COMMIT)
    }

    /// Serve `(repo_id, file, body)` with `commit` as every answer's
    /// `X-Repo-Commit` (a hostile hub's `../../x` or `/abs/path`).
    pub fn start_with_commit(files: &[(&str, &str, &[u8])], commit: &str) -> Self {
        Self::answering(files, &[], "", commit)
    }

    fn answering(files: &[(&str, &str, &[u8])], gated: &[&str], token: &str, commit: &str) -> Self {
        let commit: Arc<str> = Arc::from(commit);
        let mut repos: HashMap<String, Repo> = HashMap::new();
        for (repo, file, body) in files {
            let entry = repos.entry(repo.to_string()).or_insert_with(|| Repo {
                files: HashMap::new(),
                token: gated.contains(repo).then(|| token.to_string()),
            });
            entry.files.insert(file.to_string(), body.to_vec());
        }
        let repos = Arc::new(repos);
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind hub");
        let port = listener.local_addr().expect("addr").port();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (stop_flag, log) = (stop.clone(), requests.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (repos, log, commit) = (repos.clone(), log.clone(), commit.clone());
                std::thread::spawn(move || serve(stream, &repos, &log, &commit));
            }
        });
        Self { port, stop, requests }
    }

    /// The `HF_ENDPOINT` to use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Paths asked for (a `CONNECT` as `CONNECT host:port`, then the
    /// tunnelled request's path), with the Authorization header each carried.
    pub fn requests(&self) -> Vec<(String, Option<String>)> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl Drop for HubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve(
    mut stream: TcpStream,
    repos: &HashMap<String, Repo>,
    log: &Mutex<Vec<(String, Option<String>)>>,
    commit: &str,
) {
    let Some(head) = crate::http::read_head(&mut stream) else { return };
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let authorization = crate::http::header(&head, "authorization").map(str::to_string);
    let connect = head.starts_with("CONNECT ");
    if let Ok(mut l) = log.lock() {
        l.push((if connect { format!("CONNECT {path}") } else { path.clone() }, authorization.clone()));
    }
    // A proxy tunnel: open it, then answer what comes through as the hub.
    if connect {
        let _ = stream.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        return serve(stream, repos, log, commit);
    }
    // /{org}/{name}/resolve/{revision}/{file}
    let parts: Vec<&str> = path.trim_start_matches('/').splitn(5, '/').collect();
    let [org, name, "resolve", _revision, file] = parts.as_slice() else {
        return crate::http::respond(&mut stream, "404 Not Found", &[("X-Error-Code", "RepoNotFound")], b"Not Found");
    };
    let Some(repo) = repos.get(&format!("{org}/{name}")) else {
        return crate::http::respond(
            &mut stream,
            "401 Unauthorized",
            &[("X-Error-Code", "RepoNotFound")],
            b"Repository not found",
        );
    };
    if let Some(token) = &repo.token
        && authorization.as_deref() != Some(&format!("Bearer {token}"))
    {
        return crate::http::respond(
            &mut stream,
            "401 Unauthorized",
            &[("X-Error-Code", "GatedRepo")],
            b"Access to model is restricted",
        );
    }
    let (status, headers, body): (&str, &[(&str, &str)], &[u8]) = match repo.files.get(*file) {
        Some(body) => (
            "200 OK",
            &[("Content-Type", "application/json"), ("X-Repo-Commit", commit), ("ETag", "\"gpuops-test\"")],
            body,
        ),
        None => ("404 Not Found", &[("X-Error-Code", "EntryNotFound")], b"Entry not found"),
    };
    crate::http::respond(&mut stream, status, headers, body);
}
