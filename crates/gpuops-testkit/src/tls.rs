//! Fixed test certificates for the API stand-in over TLS: a CA, a server
//! certificate for 127.0.0.1/localhost/kubernetes.default.svc, and a client
//! certificate (CN alice-cert, O team-a), all signed by the CA, valid until
//! 2126. Made once with openssl (EC P-256); test material only, the keys
//! protect nothing.

pub const CA_CRT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiDCCAS+gAwIBAgIUdFm54y3F7GwWy1baM6drssKzxnwwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZ3B1b3BzIHRlc3QgQ0EwIBcNMjYxMjAzMTQzNjMyWhgPMjEy\n\
NjExMDkxNDM2MzJaMBkxFzAVBgNVBAMMDmdwdW9wcyB0ZXN0IENBMFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEOK+3qCXYGprzSWlW0r2KrIQw+CtZtZcmBYBOI2C/\n\
5yD4zEZzMFu0xs+j3WEvi4TANi5co4uuT0LShbTdgE9EgKNTMFEwHQYDVR0OBBYE\n\
FOIf3KEvbHAnGXYWF8SqLdvhYh2HMB8GA1UdIwQYMBaAFOIf3KEvbHAnGXYWF8Sq\n\
LdvhYh2HMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIgdob52J0W\n\
BjQ0YL01dFOhxKI8Y8g2GMllX/N1RFecAXgCIB8xU2+lTwjgCI20lrjT+vEFa5T6\n\
qaITiKtYv2wc1jON\n\
-----END CERTIFICATE-----\n\
";

pub const SERVER_CRT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBzzCCAXSgAwIBAgIUfNDie+ZmCAoD0HrVk9cf8+Ng+1YwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZ3B1b3BzIHRlc3QgQ0EwIBcNMjYxMjAzMTQzNjMyWhgPMjEy\n\
NjExMDkxNDM2MzJaMBkxFzAVBgNVBAMMDmt1YmUtYXBpc2VydmVyMFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAEw1oK3cucUvtw7875eTZoqJgY09dgJYfNqmz46Q40\n\
m5UahF5KiQy1Leu24VXncCqAOvqDk9r7VIzl7ZME+dZEvqOBlzCBlDAyBgNVHREE\n\
KzAphwR/AAABgglsb2NhbGhvc3SCFmt1YmVybmV0ZXMuZGVmYXVsdC5zdmMwCQYD\n\
VR0TBAIwADATBgNVHSUEDDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUYgzZajObymK1\n\
lY6OxC/FBU4jc8AwHwYDVR0jBBgwFoAU4h/coS9scCcZdhYXxKot2+FiHYcwCgYI\n\
KoZIzj0EAwIDSQAwRgIhAN/Hw7c4QeD278JRLC+2hl7vr8AioFZxjMvIIrclWfmk\n\
AiEAkenj5jP2YG4FpGztWTlrRNviafkZVpYYgh+h8mgxVSY=\n\
-----END CERTIFICATE-----\n\
";

pub const SERVER_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1gEVBiD1f5L0zexp\n\
dTdvlROzIS1Y0V9AKO2W+sfcvbShRANCAATDWgrdy5xS+3Dvzvl5NmiomBjT12Al\n\
h82qbPjpDjSblRqEXkqJDLUt67bhVedwKoA6+oOT2vtUjOXtkwT51kS+\n\
-----END PRIVATE KEY-----\n\
";

pub const CLIENT_CRT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBpDCCAUugAwIBAgIUfNDie+ZmCAoD0HrVk9cf8+Ng+1cwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOZ3B1b3BzIHRlc3QgQ0EwIBcNMjYxMjAzMTQzNjMyWhgPMjEy\n\
NjExMDkxNDM2MzJaMCYxDzANBgNVBAoMBnRlYW0tYTETMBEGA1UEAwwKYWxpY2Ut\n\
Y2VydDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNMmOFfmuU4E3z+kpSD+Injl\n\
jx5FS11LfmtWCj+lxuHHJA/IrSK+6TblwqF/1CDV4mnzcWGv8hQ1bvQw8EHw5Pqj\n\
YjBgMAkGA1UdEwQCMAAwEwYDVR0lBAwwCgYIKwYBBQUHAwIwHQYDVR0OBBYEFF11\n\
Th5c90bdYI1QoRpk0w4GC2H7MB8GA1UdIwQYMBaAFOIf3KEvbHAnGXYWF8SqLdvh\n\
Yh2HMAoGCCqGSM49BAMCA0cAMEQCIGLndUMY7zokDDN15EMQ0tWMJ9kQdIwcBuUi\n\
S58+UA/DAiAdWLMFr4B0MDevZpgYJW2OIY6BWPrQ4Q8ZGL6p9YlTZw==\n\
-----END CERTIFICATE-----\n\
";

pub const CLIENT_KEY: &str = "\
-----BEGIN PRIVATE KEY-----\n\
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6IIr+3hcW4KvhIZx\n\
X3QXAQXI3arW/uMUJ1vd+pfHvEChRANCAATTJjhX5rlOBN8/pKUg/iJ45Y8eRUtd\n\
S35rVgo/pcbhxyQPyK0ivuk25cKhf9Qg1eJp83Fhr/IUNW70MPBB8OT6\n\
-----END PRIVATE KEY-----\n\
";

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The PEM files a client needs, written into `dir`: `ca.crt`, `client.crt`,
/// `client.key`, and the CA again as a ServiceAccount directory's `ca.crt`.
pub struct TlsFiles {
    pub ca: PathBuf,
    pub client_certificate: PathBuf,
    pub client_key: PathBuf,
}

impl TlsFiles {
    pub fn write(dir: &Path) -> Self {
        let write = |name: &str, text: &str| {
            let path = dir.join(name);
            std::fs::write(&path, text).expect("write pem");
            path
        };
        TlsFiles {
            ca: write("ca.crt", CA_CRT),
            client_certificate: write("client.crt", CLIENT_CRT),
            client_key: write("client.key", CLIENT_KEY),
        }
    }
}

/// The stand-in's TLS: the server certificate, and client certificates
/// asked for but optional (an API server accepts tokens too), verified
/// against the CA when given — as kube-apiserver's `--client-ca-file`.
pub(crate) fn server_config() -> Arc<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from_pem_slice(CA_CRT.as_bytes()).expect("ca pem")).expect("ca root");
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .expect("client verifier");
    let chain = vec![CertificateDer::from_pem_slice(SERVER_CRT.as_bytes()).expect("server pem")];
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).expect("server key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocols")
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .expect("server config");
    Arc::new(config)
}
