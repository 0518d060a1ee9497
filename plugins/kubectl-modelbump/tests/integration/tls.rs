//! A registry signed by a private CA: refused with one error that names
//! the host and the flag, then trusted through `--certificate-authority`
//! or `SSL_CERT_FILE`. A real `docker-registry` serving TLS with a CA and
//! server certificate made for the test (openssl), reached under a name
//! that `--resolve` pins to 127.0.0.1 (a loopback host is always plain
//! HTTP).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use gpuops_testkit::{Registry, free_port};

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, seeded_registry, text};

/// The name the test registry's certificate is made for.
pub(crate) const TLS_NAME: &str = "registry.gpuops.test";
/// A name spec.provider: aws accepts (fluxcd/pkg auth/aws `registryPattern`, unanchored, so with a port).
pub(crate) const ECR_NAME: &str = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

/// A CA and a server certificate for [`TLS_NAME`] and [`ECR_NAME`] it
/// signed, made with the openssl command line.
pub(crate) struct Pki {
    pub(crate) dir: tempfile::TempDir,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl").args(args).current_dir(dir.path()).output().unwrap_or_else(|e| {
                panic!("openssl ({e}): the TLS registry tests make their certificates with the openssl command")
            });
            assert!(out.status.success(), "openssl {args:?}: {}", text(&out.stderr));
        };
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        openssl(
            &[
                &["req", "-x509"][..],
                &ec,
                &["-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=gpuops test registry CA"],
            ]
            .concat(),
        );
        openssl(
            &[&["req"][..], &ec, &["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=registry"]].concat(),
        );
        std::fs::write(
            dir.path().join("server.ext"),
            format!("subjectAltName=DNS:{TLS_NAME},DNS:{ECR_NAME}\nextendedKeyUsage=serverAuth\n"),
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        Self { dir }
    }

    pub(crate) fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }
}

/// A second `docker-registry` serving the storage (and login) of `plain`
/// over TLS on another 127.0.0.1 port: `plain` is seeded over HTTP, this
/// one is what modelbump reaches. Stopped on drop.
pub(crate) struct TlsFront {
    child: Child,
    port: u16,
    _config: tempfile::TempDir,
}

impl TlsFront {
    pub(crate) fn start(plain: &Registry, pki: &Pki) -> Self {
        let config_dir = tempfile::tempdir().unwrap();
        let port = free_port();
        // storage_root() is ROOT/docker/registry/v2; the testkit's htpasswd sits beside ROOT.
        let root = plain.storage_root().ancestors().nth(3).unwrap().to_path_buf();
        let htpasswd = root.parent().unwrap().join("htpasswd");
        let mut config = format!(
            "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n  tls:\n    certificate: {}\n    key: {}\n",
            root.display(),
            pki.dir.path().join("server.crt").display(),
            pki.dir.path().join("server.key").display()
        );
        if htpasswd.exists() {
            config.push_str(&format!("auth:\n  htpasswd:\n    realm: gpuops-test\n    path: {}\n", htpasswd.display()));
        }
        let path = config_dir.path().join("config.yml");
        std::fs::write(&path, config).unwrap();
        let child = Command::new(gpuops_testkit::REGISTRY_BINARY)
            .arg("serve")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(std::time::Instant::now() < deadline, "TLS registry on {port} did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port, _config: config_dir }
    }

    /// `NAME:PORT`, the registry as modelbump names it.
    pub(crate) fn host(&self, name: &str) -> String {
        format!("{name}:{}", self.port)
    }

    /// `--resolve NAME:PORT:127.0.0.1`.
    pub(crate) fn resolve(&self, name: &str) -> String {
        format!("--resolve={name}:{}:127.0.0.1", self.port)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Seed 000 pointing at the TLS front under [`TLS_NAME`].
fn private_ca_seed() -> (Registry, Pki, TlsFront, Repo) {
    let plain = seeded_registry();
    let pki = Pki::new();
    let front = TlsFront::start(&plain, &pki);
    let repo = Repo::seed(&front.host(TLS_NAME));
    (plain, pki, front, repo)
}

#[test]
fn a_private_ca_is_refused_with_one_error_naming_the_host_and_the_flag() {
    let (_plain, _pki, front, repo) = private_ca_seed();
    let before = repo.read(HELMRELEASE);
    let started = std::time::Instant::now();
    let out = repo.run(&["apply", &front.resolve(TLS_NAME)]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let host = front.host(TLS_NAME);
    let expected = format!(
        "error: nothing was changed; 1 reference(s) failed:\n  {HELMRELEASE}:22: {host}/{SEED_IMAGE_PATH}: the TLS certificate of {host} is not trusted: it chains to no certificate authority trusted here (unknown issuer); if {host} uses a private CA, pass its CA certificate with --certificate-authority FILE (or set SSL_CERT_FILE)"
    );
    assert!(err.contains(&expected), "{err}");
    assert_eq!(err.matches("not trusted").count(), 1, "one error: {err}");
    assert!(!err.contains("attempts"), "a refused certificate is not retried: {err}");
    // Retries would wait 0.5 + 1 + 2 s; a refused certificate waits for nothing.
    assert!(started.elapsed() < std::time::Duration::from_millis(3500), "{:?}", started.elapsed());
    assert_eq!(repo.read(HELMRELEASE), before, "nothing written");
}

#[test]
fn certificate_authority_flag_trusts_the_private_ca() {
    let (_plain, pki, front, repo) = private_ca_seed();
    let ca = format!("--certificate-authority={}", pki.ca().display());
    let out = repo.run(&["apply", &ca, &front.resolve(TLS_NAME)]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"), "{}", repo.read(HELMRELEASE));
}

#[test]
fn ssl_cert_file_and_ssl_cert_dir_trust_the_private_ca() {
    let (_plain, pki, front, repo) = private_ca_seed();
    let out = repo.command(&["scan", &front.resolve(TLS_NAME)]).env("SSL_CERT_FILE", pki.ca()).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("v2.0.0"), "{}", text(&out.stdout));

    // A directory of CA files, as c_rehash leaves it (an openssl HASH.0 link beside the file).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(pki.ca(), dir.path().join("corp-ca.pem")).unwrap();
    std::os::unix::fs::symlink("corp-ca.pem", dir.path().join("0123abcd.0")).unwrap();
    let out = repo
        .command(&["apply", &front.resolve(TLS_NAME)])
        .env("SSL_CERT_FILE", dir.path().join("missing.pem"))
        .env("SSL_CERT_DIR", format!("/nonexistent:{}", dir.path().display()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read(HELMRELEASE).contains("tag: v2.0.0 #"));
}

#[test]
fn a_certificate_authority_file_without_a_certificate_is_a_usage_error() {
    let repo = Repo::seed("registry.gpuops.test:5443");
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key.pem");
    std::fs::write(
        &key,
        "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let check = |file: &Path, words: &str| {
        let out = repo.run(&["scan", &format!("--certificate-authority={}", file.display())]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("--certificate-authority") && err.contains(words), "{err}");
    };
    check(&key, &format!("{}: no certificate in it", key.display()));
    check(&dir.path().join("absent.pem"), "cannot read");
}
