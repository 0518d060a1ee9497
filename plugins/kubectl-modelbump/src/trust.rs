//! The TLS trust and name pins the registry client gets, gathered here
//! because the library reads no file and no environment: the system's CA
//! store, `SSL_CERT_FILE`/`SSL_CERT_DIR` as Go, curl and git users set
//! them, `--certificate-authority` files, `--resolve` pins.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use gpuops_registry::TrustedRoots;

/// Go's crypto/x509 root_linux.go `certFiles`: the first one that can be
/// read is the system bundle (root_unix.go `loadSystemRoots` stops there).
const CERT_FILES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",                // Debian/Ubuntu/Gentoo etc.
    "/etc/pki/tls/certs/ca-bundle.crt",                  // Fedora/RHEL 6
    "/etc/ssl/ca-bundle.pem",                            // OpenSUSE
    "/etc/pki/tls/cacert.pem",                           // OpenELEC
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", // CentOS/RHEL 7
    "/etc/ssl/cert.pem",                                 // Alpine Linux
];

/// root_linux.go `certDirectories`: every file of each is read.
const CERT_DIRECTORIES: &[&str] = &["/etc/ssl/certs", "/etc/pki/tls/certs"];

/// `--certificate-authority FILE`: its certificates, read and checked when
/// the flag is parsed, so a wrong file is a usage error naming it.
#[derive(Debug, Clone)]
pub struct CaFile {
    pub path: PathBuf,
    roots: TrustedRoots,
}

/// clap's parser of `--certificate-authority`.
pub(crate) fn parse_ca_file(text: &str) -> Result<CaFile, String> {
    let path = PathBuf::from(text);
    let pem = std::fs::read(&path).map_err(|e| format!("cannot read {text}: {e}"))?;
    let mut roots = TrustedRoots::default();
    roots.add_pem(text, &pem).map_err(|e| e.to_string())?;
    Ok(CaFile { path, roots })
}

/// `--resolve HOST:PORT:ADDRESS`, curl's syntax (an IPv6 address in
/// brackets): the key `host:port` in lower case and the address.
pub(crate) fn parse_resolve(text: &str) -> Result<(String, SocketAddr), String> {
    let usage = || format!("{text:?} is not HOST:PORT:ADDRESS (e.g. registry.example:443:127.0.0.1)");
    let (host, rest) = text.split_once(':').ok_or_else(usage)?;
    let (port, address) = rest.split_once(':').ok_or_else(usage)?;
    let port: u16 = port.parse().map_err(|_| usage())?;
    let ip: std::net::IpAddr = address.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| usage())?;
    if host.is_empty() {
        return Err(usage());
    }
    Ok((format!("{}:{port}", host.to_ascii_lowercase()), SocketAddr::new(ip, port)))
}

/// The CAs trusted besides the built-in web PKI roots: the system store as
/// Go's `SystemCertPool` reads it on Linux — `SSL_CERT_FILE` instead of the
/// bundle list, `SSL_CERT_DIR` (colon-separated) instead of the directories
/// — and the `--certificate-authority` files.
pub(crate) fn trusted_roots(files: &[CaFile], env: impl Fn(&str) -> Option<OsString>) -> TrustedRoots {
    let mut roots = TrustedRoots::default();
    let named_file = env("SSL_CERT_FILE").filter(|f| !f.is_empty());
    let bundles: Vec<PathBuf> = match &named_file {
        Some(file) => vec![PathBuf::from(file)],
        None => CERT_FILES.iter().map(PathBuf::from).collect(),
    };
    for bundle in &bundles {
        if let Ok(pem) = std::fs::read(bundle) {
            roots.add_pem_lenient(&pem);
            break;
        }
        // Go skips an unreadable SSL_CERT_FILE without a word; a variable
        // set by hand that points nowhere deserves one.
        if named_file.is_some() {
            tracing::warn!(file = %bundle.display(), "SSL_CERT_FILE cannot be read; its certificates are not trusted");
        }
    }
    let directories: Vec<PathBuf> = match env("SSL_CERT_DIR").filter(|d| !d.is_empty()) {
        Some(dirs) => std::env::split_paths(&dirs).collect(),
        None => CERT_DIRECTORIES.iter().map(PathBuf::from).collect(),
    };
    for directory in &directories {
        read_directory(&mut roots, directory);
    }
    for file in files {
        roots.extend(&file.roots);
    }
    tracing::debug!(certificates = roots.len(), "certificate authorities trusted besides the built-in roots");
    roots
}

/// Every file of a CA directory, without the symlinks that point inside
/// it (OpenSSL's `HASH.0` links to a file next to them): root_unix.go
/// `readUniqueDirectoryEntries`.
fn read_directory(roots: &mut TrustedRoots, directory: &Path) {
    let Ok(entries) = std::fs::read_dir(directory) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let same_dir_link = entry.file_type().is_ok_and(|t| t.is_symlink())
            && std::fs::read_link(&path).is_ok_and(|target| target.components().count() == 1);
        if same_dir_link {
            continue;
        }
        if let Ok(pem) = std::fs::read(&path) {
            roots.add_pem_lenient(&pem);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_pins_as_curl_writes_them() {
        let (key, address) = parse_resolve("Reg.Example:5443:127.0.0.1").unwrap();
        assert_eq!(key, "reg.example:5443");
        assert_eq!(address, "127.0.0.1:5443".parse().unwrap());
        assert_eq!(parse_resolve("r:443:[::1]").unwrap().1, "[::1]:443".parse().unwrap());
        for bad in ["r:443", "r:x:127.0.0.1", ":443:127.0.0.1", "r:443:not-an-ip"] {
            let err = parse_resolve(bad).unwrap_err();
            assert!(err.contains("is not HOST:PORT:ADDRESS"), "{bad}: {err}");
        }
    }

    #[test]
    fn ssl_cert_file_and_dir_replace_the_system_locations() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        let env = |file: Option<&Path>, certs_dir: &Path| {
            let file = file.map(|f| f.as_os_str().to_owned());
            let certs_dir = certs_dir.as_os_str().to_owned();
            move |key: &str| match key {
                "SSL_CERT_FILE" => file.clone(),
                "SSL_CERT_DIR" => Some(certs_dir.clone()),
                _ => None,
            }
        };
        // A file that does not exist replaces the bundle list: nothing.
        let none = trusted_roots(&[], env(Some(&dir.path().join("missing.pem")), &empty));
        assert!(none.is_empty(), "the system bundle is not read when SSL_CERT_FILE is set");
        // A directory: its certificate once, the same-directory link skipped.
        let certs = dir.path().join("certs");
        std::fs::create_dir(&certs).unwrap();
        // The API stand-in's test CA: any certificate does.
        std::fs::write(certs.join("ca.pem"), gpuops_testkit::tls::CA_CRT).unwrap();
        std::os::unix::fs::symlink("ca.pem", certs.join("abcd1234.0")).unwrap();
        std::fs::write(certs.join("README"), "not a certificate").unwrap();
        let from_dir = trusted_roots(&[], env(Some(&dir.path().join("missing.pem")), &certs));
        assert_eq!(from_dir.len(), 1);
    }
}
