//! Which certificate authorities a registry's certificate may chain to.
//!
//! By default the client trusts the web PKI roots it is built with (the
//! Mozilla set, so a static binary in an image without a CA bundle reaches
//! ghcr.io). A registry signed by a corporate CA needs that CA: the caller
//! hands over PEM text — the system's store, `SSL_CERT_FILE`, a file the
//! user names — and the client trusts it *in addition* to the built-in
//! roots, as Flux trusts an `ImageRepository.spec.certSecretRef` CA in
//! addition to the system pool (fluxcd/pkg runtime/secrets/secrets.go,
//! `WithTLSSystemCertPool`). The library reads no file: where the PEM comes
//! from is the binary's business.

use ureq::tls::{Certificate, PemItem, RootCerts};

/// Certificate authorities trusted besides the built-in roots.
#[derive(Debug, Clone, Default)]
pub struct TrustedRoots {
    certs: Vec<Certificate<'static>>,
}

/// A PEM text the user named that cannot serve as a CA; `source` is how
/// the caller names it (`file`: a path, a flag).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateError {
    #[error("{file}: not PEM text: {message}")]
    Pem { file: String, message: String },
    #[error("{file}: no certificate in it (expected PEM blocks of -----BEGIN CERTIFICATE-----)")]
    Empty { file: String },
    #[error("{file}: certificate {index} cannot be used as a CA: {message}")]
    Invalid { file: String, index: usize, message: String },
}

impl TrustedRoots {
    /// Every certificate of a PEM text the user named (a CA file): an error
    /// when it holds none or one does not parse, because a typo there would
    /// otherwise end in a TLS error far from its cause. Other PEM blocks (a
    /// private key) are ignored. Returns how many were added.
    pub fn add_pem(&mut self, source: &str, pem: &[u8]) -> Result<usize, CertificateError> {
        let mut added = Vec::new();
        for item in ureq::tls::parse_pem(pem) {
            let item = item.map_err(|e| CertificateError::Pem { file: source.to_string(), message: e.to_string() })?;
            if let PemItem::Certificate(cert) = item {
                // The check rustls makes of a root (a parsable X.509 with a
                // subject and key), here, so the error names the file.
                let der = rustls::pki_types::CertificateDer::from(cert.der().to_vec());
                rustls::RootCertStore::empty().add(der).map_err(|e| CertificateError::Invalid {
                    file: source.to_string(),
                    index: added.len() + 1,
                    message: e.to_string(),
                })?;
                added.push(cert);
            }
        }
        if added.is_empty() {
            return Err(CertificateError::Empty { file: source.to_string() });
        }
        let count = added.len();
        self.certs.extend(added);
        Ok(count)
    }

    /// The certificates of a system store file that parse, the rest
    /// skipped, as Go's `CertPool.AppendCertsFromPEM` does with the files
    /// of `SystemCertPool` (a CA directory holds other files too). Returns
    /// how many were added.
    pub fn add_pem_lenient(&mut self, pem: &[u8]) -> usize {
        let before = self.certs.len();
        self.certs.extend(ureq::tls::parse_pem(pem).filter_map(|item| match item {
            Ok(PemItem::Certificate(cert)) => Some(cert),
            _ => None,
        }));
        self.certs.len() - before
    }

    /// Add the certificates of `other` (roots gathered apart, e.g. one
    /// file each).
    pub fn extend(&mut self, other: &TrustedRoots) {
        self.certs.extend(other.certs.iter().cloned());
    }

    /// How many certificates were added (duplicates counted once).
    pub fn len(&self) -> usize {
        self.unique().len()
    }

    pub fn is_empty(&self) -> bool {
        self.certs.is_empty()
    }

    fn unique(&self) -> Vec<&Certificate<'static>> {
        let mut seen = std::collections::HashSet::new();
        self.certs.iter().filter(|c| seen.insert(c.der())).collect()
    }

    /// What the agent trusts: the built-in roots, unless certificates were
    /// added, then the built-in roots as certificates plus those (a system
    /// bundle repeats its directory's files: each once).
    pub(crate) fn root_certs(&self) -> RootCerts {
        if self.certs.is_empty() {
            return RootCerts::WebPki;
        }
        let builtin = webpki_root_certs::TLS_SERVER_ROOT_CERTS.iter().map(|c| Certificate::from_der(c.as_ref()));
        let mut seen = std::collections::HashSet::new();
        let all: Vec<Certificate<'static>> =
            builtin.chain(self.certs.iter().cloned()).filter(|c| seen.insert(c.der().to_vec())).collect();
        RootCerts::from(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CA certificate (EC P-256, CN "gpuops tls.rs test CA", made with
    /// openssl req -x509), test material only.
    const CA: &str = "-----BEGIN CERTIFICATE-----
MIIBlzCCAT2gAwIBAgIUD1J2fiERsE+vPRsYoyyk4kplHRwwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVZ3B1b3BzIHRscy5ycyB0ZXN0IENBMCAXDTI2MTIwMzE5Mzcz
NloYDzIxMjYxMTA5MTkzNzM2WjAgMR4wHAYDVQQDDBVncHVvcHMgdGxzLnJzIHRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQp1nBIbF2RI7ui9z+sgQUk
2t9pECMHd8IaEaMmxEkYjLq1q2Ogf6vz9mbCw0wgXne6KVkqSgIL1BHdZOwp+vxQ
o1MwUTAdBgNVHQ4EFgQUOawVQF0Sx+IWY4t+U/6b61Ku514wHwYDVR0jBBgwFoAU
OawVQF0Sx+IWY4t+U/6b61Ku514wDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQD
AgNIADBFAiAU0eoFgGVMXSlAYNZbjwoBtIc003BLZs5XPFLWWyvTIAIhAKiuZHhN
Y6tRkysy32dKj6rfjKeeKB5aItLg89aA80qP
-----END CERTIFICATE-----
";

    /// The same, cut after three lines of base64.
    const CUT: &str = "-----BEGIN CERTIFICATE-----
MIIBlzCCAT2gAwIBAgIUD1J2fiERsE+vPRsYoyyk4kplHRwwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVZ3B1b3BzIHRscy5ycyB0ZXN0IENBMCAXDTI2MTIwMzE5Mzcz
NloYDzIxMjYxMTA5MTkzNzM2WjAgMR4wHAYDVQQDDBVncHVvcHMgdGxzLnJzIHRl
-----END CERTIFICATE-----
";

    #[test]
    fn a_named_file_without_a_certificate_is_an_error_naming_it() {
        let mut roots = TrustedRoots::default();
        let key = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";
        assert_eq!(
            roots.add_pem("ca.pem", key.as_bytes()).unwrap_err().to_string(),
            "ca.pem: no certificate in it (expected PEM blocks of -----BEGIN CERTIFICATE-----)"
        );
        assert!(roots.add_pem("empty.pem", b"").is_err());
        // A truncated certificate: base64 of a DER that does not parse.
        let err = roots.add_pem("cut.pem", CUT.as_bytes()).unwrap_err().to_string();
        assert!(err.starts_with("cut.pem: certificate 1 cannot be used as a CA: "), "{err}");
        assert!(roots.is_empty(), "nothing added from a refused file");
        assert!(matches!(roots.root_certs(), RootCerts::WebPki), "no extra roots: the built-in ones");
    }

    #[test]
    fn a_system_file_keeps_what_parses() {
        let mut roots = TrustedRoots::default();
        let text = format!("junk\n{CA}\n# comment\n{CUT}");
        // The cut one is PEM too: rustls skips it when it builds the store,
        // as Go's AppendCertsFromPEM skips what does not parse.
        assert_eq!(roots.add_pem_lenient(text.as_bytes()), 2);
        assert_eq!(roots.add_pem_lenient(b"not pem at all"), 0);
        assert_eq!(roots.add_pem("ca.pem", CA.as_bytes()), Ok(1), "the whole certificate is a CA");
        assert_eq!(roots.len(), 2, "a certificate read twice counts once");
        let RootCerts::Specific(all) = roots.root_certs() else { panic!("specific roots expected") };
        assert_eq!(all.len(), webpki_root_certs::TLS_SERVER_ROOT_CERTS.len() + 2, "built-in roots plus ours, once");
    }
}
