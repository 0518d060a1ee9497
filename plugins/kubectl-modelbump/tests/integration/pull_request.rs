//! `--branch-template` and `--pull-request github|gitlab|gitea` against a
//! local stand-in that speaks each forge's REST wire format (the shapes of
//! their API docs: GitHub "Pulls", GitLab "Merge requests", Gitea pulls)
//! and records what it receives (issue 23: 9).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use gpuops_testkit::git;

use crate::util::{Repo, seeded_registry, text};

/// One request as the stand-in saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: String,
}

/// A forge stand-in: answers each request with the first canned answer
/// whose method matches, used up when another of that method follows (so
/// pages come in order; the last one answers every later request);
/// records every request.
struct StandIn {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    fn start(mut answers: Vec<(&'static str, String)>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
                }
                let length: usize =
                    headers.iter().find(|(k, _)| k == "content-length").map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; length];
                reader.read_exact(&mut body).unwrap();
                let matching: Vec<usize> = (0..answers.len()).filter(|i| answers[*i].0 == method).collect();
                let answer = match matching.as_slice() {
                    [] => "{}".to_string(),
                    [last] => answers[*last].1.clone(),
                    [first, ..] => answers.remove(*first).1,
                };
                log.lock().unwrap().push(Seen { method, path, headers, body: String::from_utf8(body).unwrap() });
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                stream.write_all(reply.as_bytes()).unwrap();
            }
        });
        Self { port, seen }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn header<'a>(s: &'a Seen, name: &str) -> Option<&'a str> {
    s.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Run apply with a pull request on `forge` (its token in the environment).
fn bump(forge: &str, answers: Vec<(&'static str, String)>) -> (StandIn, Repo, std::process::Output) {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let remote = tempfile::tempdir().unwrap();
    git(remote.path(), &["init", "--quiet", "--bare"]);
    git(repo.path(), &["remote", "add", "origin", remote.path().to_str().unwrap()]);
    let stand_in = StandIn::start(answers);
    let variable = format!("{}_TOKEN", forge.to_ascii_uppercase());
    let url = format!("http://127.0.0.1:{}/api", stand_in.port);
    let out = repo
        .command(&["apply", "--commit", "--push", "--branch-template", "modelbump/{{ .Policy }}-{{ .NewTag }}"])
        .args(["--pull-request", forge, "--forge-url", &url, "--forge-repo", "acme/gitops"])
        .env(variable, "s3cret")
        .output()
        .unwrap();
    // Keep the registry and remote alive until the run is over.
    drop((registry, remote));
    (stand_in, repo, out)
}

const HEAD: &str = "modelbump/foundry-gpu-models-v2.0.0";

#[test]
fn a_pull_request_is_opened_on_each_forge() {
    for (forge, list, created, auth) in [
        (
            "github",
            "GET /api/repos/acme/gitops/pulls?state=open&head=acme%3Amodelbump%2Ffoundry-gpu-models-v2.0.0",
            r#"{"number": 12, "html_url": "https://github.example/acme/gitops/pull/12"}"#,
            ("authorization", "Bearer s3cret"),
        ),
        (
            "gitlab",
            "GET /api/projects/acme%2Fgitops/merge_requests?state=opened&source_branch=modelbump%2Ffoundry-gpu-models-v2.0.0",
            r#"{"iid": 3, "web_url": "https://gitlab.example/acme/gitops/-/merge_requests/3"}"#,
            ("private-token", "s3cret"),
        ),
        (
            "gitea",
            "GET /api/repos/acme/gitops/pulls?state=open&limit=50&page=1",
            r#"{"number": 5, "html_url": "https://gitea.example/acme/gitops/pulls/5"}"#,
            ("authorization", "token s3cret"),
        ),
    ] {
        let (stand_in, repo, out) = bump(forge, vec![("GET", "[]".into()), ("POST", created.into())]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{forge}: {}", text(&out.stderr));
        assert!(stdout.contains(&format!("opened a pull request for {HEAD}: https://")), "{forge}: {stdout}");
        assert!(!stdout.contains("s3cret") && !text(&out.stderr).contains("s3cret"), "the token is never printed");
        let seen = stand_in.seen();
        assert_eq!(seen.len(), 2, "{forge}: {seen:?}");
        assert_eq!(format!("{} {}", seen[0].method, seen[0].path), list, "{forge}");
        assert_eq!(header(&seen[0], auth.0), Some(auth.1), "{forge}");
        let body: serde_json::Value = serde_json::from_str(&seen[1].body).unwrap();
        let (head, base, description) = if forge == "gitlab" {
            ("source_branch", "target_branch", "description")
        } else {
            ("head", "base", "body")
        };
        assert_eq!((body[head].as_str(), body[base].as_str()), (Some(HEAD), Some("main")), "{forge}: {body}");
        assert_eq!(body["title"], "modelbump: foundry-gpu-models to v2.0.0", "{forge}");
        assert!(
            body[description].as_str().unwrap().contains(
                "- apps/foundry-gpu-oras/helmrelease.yaml:22 flux-system/foundry-gpu-models: v1.0.0 -> v2.0.0"
            ),
            "{forge}: {body}"
        );
        assert_eq!(git(repo.path(), &["branch", "--show-current"]).trim(), HEAD);
    }
}

/// An open pull request for the same branch is updated, not duplicated.
#[test]
fn an_open_pull_request_for_the_branch_is_updated() {
    for (forge, list, method, path) in [
        (
            "github",
            format!(r#"[{{"number": 7, "head": {{"ref": "{HEAD}"}}}}]"#),
            "PATCH",
            "/api/repos/acme/gitops/pulls/7",
        ),
        (
            "gitlab",
            format!(r#"[{{"iid": 4, "source_branch": "{HEAD}"}}]"#),
            "PUT",
            "/api/projects/acme%2Fgitops/merge_requests/4",
        ),
        (
            "gitea",
            format!(r#"[{{"number": 1, "head": {{"ref": "other"}}}}, {{"number": 2, "head": {{"ref": "{HEAD}"}}}}]"#),
            "PATCH",
            "/api/repos/acme/gitops/pulls/2",
        ),
    ] {
        let (stand_in, _repo, out) = bump(forge, vec![("GET", list), (method, "{}".into())]);
        assert_eq!(out.status.code(), Some(0), "{forge}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("updated pull request #"), "{forge}: {}", text(&out.stdout));
        let seen = stand_in.seen();
        assert_eq!(seen.iter().map(|s| s.method.as_str()).collect::<Vec<_>>(), ["GET", method], "{forge}");
        assert_eq!(seen[1].path, path, "{forge}");
    }
}

/// Gitea pages its list (50 at most per page, `[]` past the end): the open
/// pull request on page 2 is updated, and a branch on no page gets a new
/// one after the empty page.
#[test]
fn gitea_s_list_is_read_page_by_page() {
    let other = r#"[{"number": 1, "head": {"ref": "other"}}]"#.to_string();
    let ours = format!(r#"[{{"number": 60, "head": {{"ref": "{HEAD}"}}}}]"#);
    let (stand_in, _repo, out) = bump("gitea", vec![("GET", other.clone()), ("GET", ours), ("PATCH", "{}".into())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let seen: Vec<String> = stand_in.seen().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(
        seen,
        [
            "GET /api/repos/acme/gitops/pulls?state=open&limit=50&page=1",
            "GET /api/repos/acme/gitops/pulls?state=open&limit=50&page=2",
            "PATCH /api/repos/acme/gitops/pulls/60",
        ]
    );
    let created = r#"{"number": 61, "html_url": "https://gitea.example/acme/gitops/pulls/61"}"#;
    let (stand_in, _repo, out) = bump("gitea", vec![("GET", other), ("GET", "[]".into()), ("POST", created.into())]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let methods: Vec<String> = stand_in.seen().iter().map(|s| s.method.clone()).collect();
    assert_eq!(methods, ["GET", "GET", "POST"]);
}

/// Refused before anything is written: no token, or no branch of its own.
#[test]
fn a_pull_request_without_token_or_branch_is_refused_first() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let out =
        repo.run(&["apply", "--commit", "--push", "--branch", "b", "--pull-request", "github", "--forge-repo", "a/b"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs a token in $GITHUB_TOKEN"), "{}", text(&out.stderr));
    let out = repo
        .command(&["apply", "--commit", "--push", "--pull-request", "github", "--forge-repo", "a/b"])
        .env("GITHUB_TOKEN", "t")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("needs its own branch"), "{}", text(&out.stderr));
    assert_eq!(repo.commits(), 1, "nothing committed");
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "");
}
