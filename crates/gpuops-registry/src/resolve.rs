//! Name resolution with pins: the `host:port`s the caller names go to the
//! address it gives, everything else to the system resolver — curl's
//! `--resolve HOST:PORT:ADDRESS`. A registry reached through a tunnel or a
//! port-forward keeps its own name, so its TLS certificate is checked
//! against that name and `spec.provider`'s host check applies to it
//! (and the tests reach a local registry under a cloud registry's name).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use ureq::config::Config;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// The system resolver, except for the pinned `host:port`s.
#[derive(Debug)]
pub(crate) struct Pinned {
    /// `host:port` (the port always written) → address.
    pub(crate) pins: BTreeMap<String, SocketAddr>,
}

impl Resolver for Pinned {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let pinned = match (uri.scheme(), uri.authority()) {
            (Some(scheme), Some(authority)) => DefaultResolver::host_and_port(scheme, authority)
                .and_then(|key| self.pins.get(&key.to_ascii_lowercase()).copied()),
            _ => None,
        };
        match pinned {
            Some(address) => {
                tracing::debug!(host = ?uri.authority().map(|a| a.as_str()), %address, "pinned address");
                let mut resolved = self.empty();
                resolved.push(address);
                Ok(resolved)
            }
            None => DefaultResolver::default().resolve(uri, config, timeout),
        }
    }
}
