//! Real components for tests: a `docker-registry` (CNCF distribution, from
//! Debian) per test on 127.0.0.1, proxies in front of it that inject faults
//! or paginate, and helpers for artifacts shaped like `oras push`.
#![allow(clippy::print_stderr)]

mod apiserver;
mod capture;
mod http;
mod hub;
pub mod interrupt;
mod proxy;
pub mod readme;
pub mod tls;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use apiserver::{API_TOKEN, ApiServer, FLAG_TOKEN, Misbehave, Received};
pub use capture::Capture;
pub use hub::{HUB_COMMIT, HubServer};
pub use proxy::{Fault, Proxy};

/// Where Debian installs distribution's registry.
pub const REGISTRY_BINARY: &str = "docker-registry";

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port")
}

/// A registry process with its own storage, stopped on drop.
pub struct Registry {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Registry {
    /// Start an open registry.
    pub fn start() -> Self {
        Self::spawn(None)
    }

    /// Start a registry that wants HTTP basic auth (htpasswd, bcrypt).
    pub fn start_with_login(user: &str, password: &str) -> Self {
        Self::spawn(Some((user, password)))
    }

    fn spawn(login: Option<(&str, &str)>) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((user, password)) = login {
            let hash = bcrypt::hash(password, 5).expect("bcrypt");
            let file = dir.path().join("htpasswd");
            std::fs::write(&file, format!("{user}:{hash}\n")).expect("htpasswd");
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: gpuops-test\n    path: {}\n", file.display()));
        }
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("config");
        let child = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {REGISTRY_BINARY} ({e}): scripts/setup.sh installs the docker-registry package")
            });
        let registry = Self { child, port, _dir: dir };
        registry.wait_ready();
        registry
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("registry on port {} did not start within 20 s", self.port);
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Root of the registry's filesystem storage (distribution's layout
    /// under `docker/registry/v2`), for seeding many tags quickly.
    pub fn storage_root(&self) -> PathBuf {
        self._dir.path().join("data/docker/registry/v2")
    }

    /// Give `repository` (a path on this registry) extra tags pointing at
    /// the manifest of its existing tag `from`, by writing the tag links
    /// the way distribution stores them. Thousands of tags in milliseconds,
    /// where pushing each would take minutes.
    pub fn clone_tags(&self, repository: &str, from: &str, tags: &[String]) {
        let tags_dir = self.storage_root().join("repositories").join(repository).join("_manifests/tags");
        let source = tags_dir.join(from);
        for tag in tags {
            copy_tree(&source, &tags_dir.join(tag));
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A registry client for seeding (no docker config, fast retries).
pub fn seeding_client() -> gpuops_registry::Client {
    gpuops_registry::Client::new(gpuops_registry::Options {
        use_docker_config: false,
        retries: 1,
        backoff: Duration::from_millis(50),
        ..gpuops_registry::Options::default()
    })
}

/// Push `tags` of a model artifact the way seed 000 does:
/// `oras push IMAGE:TAG --artifact-type foundry/models models.tar.gz:application/gzip`.
pub fn push_model_tags(client: &gpuops_registry::Client, image: &str, tags: &[&str]) {
    for tag in tags {
        let data = format!("model weights for {image}:{tag}");
        client
            .push_artifact(
                image,
                tag,
                "foundry/models",
                &[gpuops_registry::push::Layer {
                    media_type: "application/gzip",
                    data: data.as_bytes(),
                    title: Some("models.tar.gz"),
                }],
            )
            .unwrap_or_else(|e| panic!("push {image}:{tag}: {e}"));
    }
}

/// Push `tags` to a registry that wants a login, as `user`.
pub fn push_model_tags_as(image: &str, user: &str, password: &str, tags: &[&str]) {
    let dir = tempfile::tempdir().expect("tempdir");
    let host = image.split('/').next().unwrap_or(image);
    let config = docker_config_with_login(dir.path(), host, user, password);
    let client = gpuops_registry::Client::new(gpuops_registry::Options {
        docker_config_dir: Some(config),
        ..gpuops_registry::Options::default()
    });
    push_model_tags(&client, image, tags);
}

/// A docker config dir holding a login for `host`.
pub fn docker_config_with_login(dir: &Path, host: &str, user: &str, password: &str) -> PathBuf {
    use std::fmt::Write as _;
    let auth = base64(format!("{user}:{password}").as_bytes());
    let mut json = String::new();
    let _ = write!(json, r#"{{"auths":{{"{host}":{{"auth":"{auth}"}}}}}}"#);
    std::fs::create_dir_all(dir).expect("mkdir");
    std::fs::write(dir.join("config.json"), json).expect("docker config");
    dir.to_path_buf()
}

/// Standard base64 with padding.
pub fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Run git in `dir`, panicking with its stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "gpuops test")
        .env("GIT_AUTHOR_EMAIL", "test@gpuops.dev")
        .env("GIT_COMMITTER_NAME", "gpuops test")
        .env("GIT_COMMITTER_EMAIL", "test@gpuops.dev")
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copy a directory tree (examples into a temp repo).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// Reviewed snapshots (insta) for CLI output and rendered examples.
pub mod snapshot {
    pub use insta;

    /// One entry of a transcript snapshot: what ran (`title`), its exit
    /// code, then stdout and stderr as printed (a missing final newline
    /// said, not hidden) — the form every plugin's help and message
    /// snapshots share.
    pub fn entry(title: &str, out: &std::process::Output) -> String {
        let code = out.status.code().map_or("signal".into(), |c| c.to_string());
        let mut entry = format!("## {title}\nexit {code}\n");
        for (name, bytes) in [("stdout", &out.stdout), ("stderr", &out.stderr)] {
            if !bytes.is_empty() {
                entry.push_str(&format!("--- {name}\n{}", String::from_utf8_lossy(bytes)));
                if !bytes.ends_with(b"\n") {
                    entry.push_str("\n[no newline at the end]\n");
                }
            }
        }
        entry.push('\n');
        entry
    }

    /// Filters every gpuops snapshot applies: temp directories and measured
    /// durations change per run; nothing else is rewritten.
    pub const FILTERS: &[(&str, &str)] =
        &[(r"/tmp/\.tmp[A-Za-z0-9]+", "[TEMP]"), (r"\b[0-9]+\.[0-9]+(ms|s|µs)\b", "[DURATION]")];

    /// Snapshots are only ever updated by an explicit review step
    /// (`cargo insta review`, or moving a `.snap.new` over its `.snap`):
    /// refuse insta's own switches that make a mismatch pass
    /// (`INSTA_FORCE_PASS`, and `INSTA_UPDATE=always`, which rewrites the
    /// snapshot and passes), unless cargo-insta itself runs the tests.
    pub fn refuse_forced_pass() {
        if std::env::var("INSTA_CARGO_INSTA").as_deref() == Ok("1") {
            return;
        }
        let set = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty() && v != "0");
        if let Some(value) = set("INSTA_FORCE_PASS") {
            panic!(
                "INSTA_FORCE_PASS={value} would let a failing snapshot pass; unset it and review with `cargo insta review`"
            );
        }
        if let Some(value) = set("INSTA_UPDATE").filter(|v| v == "always") {
            panic!("INSTA_UPDATE={value} would rewrite snapshots and pass; review with `cargo insta review` instead");
        }
    }
}

/// Compare `actual` with the reviewed snapshot `DIR/NAME.snap`. A mismatch
/// fails the test and leaves `NAME.snap.new` beside it for `cargo insta review`.
#[macro_export]
macro_rules! assert_reviewed {
    ($dir:expr, $name:expr, $actual:expr $(,)?) => {{
        $crate::snapshot::refuse_forced_pass();
        let mut settings = $crate::snapshot::insta::Settings::clone_current();
        settings.set_snapshot_path($dir);
        settings.set_prepend_module_to_snapshot(false);
        settings.set_omit_expression(true);
        for (pattern, replacement) in $crate::snapshot::FILTERS {
            settings.add_filter(pattern, *replacement);
        }
        let actual: &str = &$actual;
        settings.bind(|| $crate::snapshot::insta::assert_snapshot!($name, actual));
    }};
}

/// `cmd` without the variables cargo sets for a test (`CARGO`,
/// `CARGO_MANIFEST_DIR`, `CARGO_PKG_*`, ...), for a script that runs cargo
/// itself: a build script that tracks one (ring: CARGO_MANIFEST_DIR) would
/// rebuild its crate and every dependant, there and again in the next
/// build. The user's own settings stay: `CARGO_HOME`, and the release
/// profile scripts/test.sh sets for the suite's builds (`CARGO_PROFILE_*`).
pub fn outside_cargo_test(cmd: &mut Command) -> &mut Command {
    let users = |k: &str| k == "CARGO_HOME" || k.starts_with("CARGO_PROFILE_");
    for (k, _) in std::env::vars_os() {
        if k.to_str().is_some_and(|k| k == "CARGO" || (k.starts_with("CARGO_") && !users(k))) {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Build an image with one of the repository's `build-image.sh` scripts
/// (`script` relative to the repository) as `tag`, through the real docker
/// engine; panics with the script's stderr when it fails.
pub fn build_image(script: &str, tag: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut cmd = Command::new("bash");
    cmd.arg(root.join(script)).arg(tag);
    let build = outside_cargo_test(&mut cmd).output().expect("bash");
    assert!(
        build.status.success(),
        "{script} (needs the docker engine: scripts/setup.sh): {}",
        String::from_utf8_lossy(&build.stderr)
    );
}
