//! An API answer read with a byte cap: kube's `request_text` collects the
//! whole body (and its error path a whole error body) however large, so a
//! server sending one endless page could fill memory before any count of
//! objects or pages is checked. Frames are read one at a time and the read
//! stops as soon as the cap is passed.

use http_body_util::BodyExt as _;

/// Why a capped read has no text.
#[derive(Debug)]
pub(crate) enum Failed {
    /// The client or the server: as kube reports it.
    Kube(kube::Error),
    /// More than the cap; how many bytes had arrived when the read stopped.
    Over(u64),
}

/// The body of `request`'s answer as text, at most `limit` bytes. An error
/// status becomes `kube::Error::Api` exactly as kube's own
/// `handle_api_errors` makes it (kube-client 5.0.0 src/client/mod.rs
/// `handle_api_errors`: the server's `Status` when the body is one, else a
/// `Status::failure(body, "Failed to parse error data")` with the HTTP code).
pub(crate) async fn text(client: &kube::Client, request: http::Request<Vec<u8>>, limit: u64) -> Result<String, Failed> {
    let response = client.send(request.map(kube::client::Body::from)).await.map_err(Failed::Kube)?;
    let status = response.status();
    let mut body = response.into_body();
    let mut bytes: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Failed::Kube)?;
        if let Ok(data) = frame.into_data() {
            let total = (bytes.len() as u64).saturating_add(data.len() as u64);
            if total > limit {
                return Err(Failed::Over(total));
            }
            bytes.extend_from_slice(&data);
        }
    }
    let text = String::from_utf8(bytes).map_err(|e| Failed::Kube(kube::Error::FromUtf8(e)))?;
    if status.is_client_error() || status.is_server_error() {
        let failure = serde_json::from_str::<kube::core::Status>(&text).unwrap_or_else(|_| {
            kube::core::Status::failure(text.trim(), "Failed to parse error data").with_code(status.as_u16())
        });
        return Err(Failed::Kube(kube::Error::Api(failure.boxed())));
    }
    Ok(text)
}
