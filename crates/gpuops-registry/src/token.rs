//! The bearer-token half of the auth handshake: a token asked of the
//! realm a `WWW-Authenticate: Bearer` challenge names, with the login as
//! Basic auth or an identity (refresh) token, or anonymously.

use gpuops_manifest::text::printable;
use serde::Deserialize;

use crate::RegistryError;
use crate::auth::Credential;
use crate::client::Client;
use crate::transport::{Method, encode, registry_message};

impl Client {
    pub(crate) fn fetch_token(
        &self,
        name: &str,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        credential: &Credential,
    ) -> Result<String, RegistryError> {
        let auth_error = |message: String| RegistryError::Auth { repository: name.to_string(), message };
        // The realm is the server's text: shown, never run by the terminal.
        let realm_shown = printable(realm);
        let mut query = vec![format!("scope={}", encode(scope))];
        if let Some(s) = service {
            query.push(format!("service={}", encode(s)));
        }
        let reply = match credential {
            Credential::Identity(refresh) => {
                let form = format!("grant_type=refresh_token&refresh_token={}&{}", encode(refresh), query.join("&"));
                self.call(
                    Method::Post,
                    realm,
                    &[("Content-Type", "application/x-www-form-urlencoded")],
                    None,
                    Some(form.as_bytes()),
                )
            }
            other => {
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url = format!("{realm}{separator}{}", query.join("&"));
                self.call(Method::Get, &url, &[], other.basic_header().as_deref(), None)
            }
        }
        .map_err(|e| {
            if e.too_large {
                RegistryError::TooLarge {
                    repository: name.to_string(),
                    what: format!("the token answer of {realm_shown}"),
                }
            } else if let Some(refused) = e.certificate_error(name) {
                // The realm's host, which may not be the registry's.
                refused
            } else {
                auth_error(format!("token request to {realm_shown} failed: {e}"))
            }
        })?;
        if !(200..300).contains(&reply.status) {
            let detail = registry_message(&reply.body).unwrap_or_else(|| format!("HTTP {}", reply.status));
            return Err(auth_error(format!("token request to {realm_shown} refused: {detail}")));
        }
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token = serde_json::from_slice(&reply.body)
            .map_err(|_| auth_error(format!("token endpoint {realm_shown} sent no JSON token")))?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| auth_error(format!("token endpoint {realm_shown} sent an empty token")))
    }
}
