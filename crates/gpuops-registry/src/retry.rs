//! Retries: 429, 5xx, timeouts and cut connections are tried again after
//! an exponential backoff or the registry's `Retry-After`, each capped,
//! and all waits of one request bounded by `max_total_wait`.

use std::time::Duration;

use crate::RegistryError;
use crate::client::Client;
use crate::transport::{Reply, TransportError};

fn retry_after(headers: &ureq::http::HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

impl Client {
    /// The wait before retry `attempt`: exponential, or the registry's
    /// `Retry-After`, each capped at `max_backoff` (a `Retry-After: 86400`
    /// must not park a CI job for a day; the cap is logged at `-v`).
    pub(crate) fn backoff(&self, attempt: u32, headers: Option<&ureq::http::HeaderMap>) -> Duration {
        let exponential = self.options.backoff.saturating_mul(1u32 << attempt.min(16)).min(self.options.max_backoff);
        match headers.and_then(retry_after) {
            Some(asked) if asked > self.options.max_backoff => {
                tracing::info!(retry_after = ?asked, waiting = ?self.options.max_backoff, "Retry-After above the backoff cap; waiting the cap");
                self.options.max_backoff
            }
            Some(asked) => asked,
            None => exponential,
        }
    }

    /// Whether a retry after `wait` stays within `max_total_wait`, given
    /// `waited` so far; says so at `-v` when it does not.
    pub(crate) fn within_budget(&self, waited: &mut Duration, wait: Duration) -> bool {
        if *waited + wait > self.options.max_total_wait {
            tracing::info!(waited = ?*waited, next = ?wait, budget = ?self.options.max_total_wait, "retry budget spent; giving up");
            return false;
        }
        *waited += wait;
        true
    }

    /// Repeat `request` on transport errors, 429 and 5xx, with the backoff
    /// [`send`] uses (for endpoints without registry auth: the hub).
    ///
    /// [`send`]: Client::send
    pub(crate) fn retrying(
        &self,
        name: &str,
        mut request: impl FnMut() -> Result<Reply, TransportError>,
    ) -> Result<Reply, RegistryError> {
        let mut attempt = 0;
        let mut waited = Duration::ZERO;
        loop {
            let wait = match request() {
                Ok(reply)
                    if matches!(reply.status, 429 | 500..=599)
                        && attempt < self.options.retries
                        && self.within_budget(&mut waited, self.backoff(attempt, Some(&reply.headers))) =>
                {
                    self.backoff(attempt, Some(&reply.headers))
                }
                Ok(reply) => return Ok(reply),
                Err(e) if e.too_large => {
                    return Err(RegistryError::TooLarge { repository: name.to_string(), what: e.message });
                }
                Err(e) if e.untrusted.is_some() => {
                    return Err(e.certificate_error(name).expect("untrusted is set"));
                }
                Err(_)
                    if attempt < self.options.retries
                        && self.within_budget(&mut waited, self.backoff(attempt, None)) =>
                {
                    self.backoff(attempt, None)
                }
                Err(e) => {
                    return Err(RegistryError::Transport {
                        repository: name.to_string(),
                        message: format!("{e} (after {} attempts)", attempt + 1),
                    });
                }
            };
            tracing::info!(endpoint = %name, ?wait, attempt = attempt + 1, "request failed; retrying");
            std::thread::sleep(wait);
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Options;

    #[test]
    fn retry_after_is_capped_and_the_total_wait_bounded() {
        let client = Client::new(Options {
            max_backoff: Duration::from_secs(2),
            max_total_wait: Duration::from_secs(5),
            ..Options::default()
        });
        let mut headers = ureq::http::HeaderMap::new();
        headers.insert("retry-after", "86400".parse().unwrap());
        assert_eq!(client.backoff(0, Some(&headers)), Duration::from_secs(2));
        headers.insert("retry-after", "1".parse().unwrap());
        assert_eq!(client.backoff(0, Some(&headers)), Duration::from_secs(1));
        let mut waited = Duration::ZERO;
        assert!(client.within_budget(&mut waited, Duration::from_secs(2)));
        assert!(client.within_budget(&mut waited, Duration::from_secs(2)));
        assert!(!client.within_budget(&mut waited, Duration::from_secs(2)), "4 s waited, 2 more would pass 5 s");
        assert_eq!(waited, Duration::from_secs(4));
    }
}
