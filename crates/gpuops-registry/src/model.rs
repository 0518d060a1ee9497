//! A model's `config.json` out of an OCI artifact, without pulling its
//! weights: an ORAS artifact names each file in a layer annotation
//! (`org.opencontainers.image.title: config.json`), so only that small blob
//! is read; a KServe modelcar is an image whose layers are tar files of
//! `/models/…`, so the layers are streamed and reading stops at the file
//! (tar order is the build's; `config.json` sorts before the
//! `model-*.safetensors` shards a `COPY` adds).

use std::io::Read;

use serde_json::Value;

use crate::client::{Client, MANIFEST_TYPES, Method};
use crate::reference::{is_oci_digest, parse_oci_reference};
use crate::{MAX_DOCUMENT_BYTES, RegistryError};

const TITLE: &str = "org.opencontainers.image.title";

/// What [`Client::model_config`] found.
#[derive(Debug, Clone)]
pub struct ModelConfig {
    pub config: Vec<u8>,
    /// `hf_quant_config.json` (ModelOpt) when the artifact has one beside it.
    pub quant_config: Option<Vec<u8>>,
    /// How it was found: `layer titled config.json`, or `tar layer N (M bytes read)`.
    pub found_in: String,
}

/// The `digest` of a descriptor, refused unless it is an OCI digest: it
/// becomes a URL path segment (`/blobs/<digest>`, `/manifests/<digest>`).
fn checked_digest(descriptor: &Value, field: &str, shown: &str) -> Result<Option<String>, RegistryError> {
    match descriptor.get("digest").and_then(Value::as_str) {
        None => Ok(None),
        Some(d) if is_oci_digest(d) => Ok(Some(d.to_string())),
        // The registry's text is not quoted: the field is named instead.
        Some(_) => Err(RegistryError::Malformed {
            repository: shown.to_string(),
            message: format!("{field}.digest is not an OCI digest (algorithm:encoded); not following it"),
        }),
    }
}

impl Client {
    /// Read `config.json` from the model artifact `image`
    /// (`registry/repo:tag`, `…@sha256:…`, an `oci://` prefix allowed).
    /// The reference, and every digest the manifests name, pass the OCI
    /// grammar before they become a URL; every document is read under
    /// [`MAX_DOCUMENT_BYTES`].
    pub fn model_config(&self, image: &str) -> Result<ModelConfig, RegistryError> {
        let reference = parse_oci_reference(image)?;
        let repo = &reference.repository;
        let shown = reference.display();
        let base = self.base_url(repo);
        let malformed = |message: String| RegistryError::Malformed { repository: shown.clone(), message };
        let manifest_url = |reference: &str| format!("{base}/v2/{}/manifests/{reference}", repo.path);
        let get_json = |url: &str| -> Result<Value, RegistryError> {
            let reply = self.send(repo, Method::Get, url, &[("Accept", MANIFEST_TYPES)], None, false)?;
            serde_json::from_slice(&reply.body).map_err(|e| malformed(format!("manifest is not JSON: {e}")))
        };
        let mut manifest = get_json(&manifest_url(reference.manifest.as_str()))?;
        // An index: the linux/amd64 image (or the only one).
        if let Some(manifests) = manifest.get("manifests").and_then(Value::as_array) {
            let platform = |m: &&Value, key: &str, want: &str| {
                m.pointer(&format!("/platform/{key}")).and_then(Value::as_str) == Some(want)
            };
            let chosen = manifests
                .iter()
                .find(|m| platform(m, "os", "linux") && platform(m, "architecture", "amd64"))
                .or_else(|| manifests.first())
                .ok_or_else(|| malformed("an index without manifests".into()))?;
            let digest = checked_digest(chosen, "the index's chosen manifest", &shown)?
                .ok_or_else(|| malformed("an index entry without a digest".into()))?;
            manifest = get_json(&manifest_url(&digest))?;
        }
        let layers = manifest.get("layers").and_then(Value::as_array).cloned().unwrap_or_default();
        // Every digest is checked before the first blob is asked for.
        let mut digests = Vec::with_capacity(layers.len());
        for (index, layer) in layers.iter().enumerate() {
            digests.push(checked_digest(layer, &format!("layers[{index}]"), &shown)?);
        }
        let titled = |file: &str| {
            layers.iter().position(|l| {
                l.pointer(&format!("/annotations/{}", TITLE.replace('/', "~1"))).and_then(Value::as_str) == Some(file)
            })
        };
        let blob_url = |digest: &str| format!("{base}/v2/{}/blobs/{digest}", repo.path);
        if let Some(index) = titled("config.json") {
            let digest = digests[index].as_deref().ok_or_else(|| malformed("a layer without a digest".into()))?;
            let config = self.send(repo, Method::Get, &blob_url(digest), &[], None, false)?.body;
            let quant_config = match titled("hf_quant_config.json").and_then(|i| digests[i].as_deref()) {
                Some(d) => Some(self.send(repo, Method::Get, &blob_url(d), &[], None, false)?.body),
                None => None,
            };
            return Ok(ModelConfig { config, quant_config, found_in: "layer titled config.json".into() });
        }
        for (index, layer) in layers.iter().enumerate() {
            let media = layer.get("mediaType").and_then(Value::as_str).unwrap_or_default();
            // Image layers (`…tar+gzip`) and oras-pushed archives like seed
            // 000's `models.tar.gz:application/gzip`.
            if !(media.contains("tar") || media.contains("gzip")) {
                continue;
            }
            if media.contains("zstd") {
                return Err(malformed(format!(
                    "layer {index} is zstd-compressed; gpuops reads gzip or plain tar layers"
                )));
            }
            let Some(digest) = &digests[index] else { continue };
            if let Some(found) = self.scan_layer(repo, &blob_url(digest), index)? {
                return Ok(found);
            }
        }
        Err(RegistryError::Http {
            repository: shown.clone(),
            status: 404,
            message: format!(
                "no config.json in {shown}: neither a layer titled config.json nor a file in its tar layers"
            ),
        })
    }

    /// Stream one tar layer up to its `config.json`.
    fn scan_layer(
        &self,
        repo: &crate::RepositoryRef,
        url: &str,
        index: usize,
    ) -> Result<Option<ModelConfig>, RegistryError> {
        // A HEAD settles the authentication (and caches the token); the
        // stream then reuses it. Redirects to blob storage on another host
        // get no Authorization header (ureq drops it across hosts).
        self.send(repo, Method::Head, url, &[], None, false)?;
        let transport = |message: String| RegistryError::Transport { repository: repo.display(), message };
        let mut response = self.stream(repo, url).map_err(|e| transport(e.to_string()))?;
        if response.status().as_u16() != 200 {
            return Err(transport(format!("blob answered HTTP {}", response.status().as_u16())));
        }
        let body = response.body_mut().with_config().limit(u64::MAX).reader();
        let mut magic = std::io::BufReader::new(body);
        let gzip =
            std::io::BufRead::fill_buf(&mut magic).map_err(|e| transport(e.to_string()))?.starts_with(&[0x1f, 0x8b]);
        let reader: Box<dyn Read> = if gzip { Box::new(flate2::read::GzDecoder::new(magic)) } else { Box::new(magic) };
        let mut archive = tar::Archive::new(reader);
        let Ok(entries) = archive.entries() else { return Ok(None) };
        for entry in entries {
            // Not a tar after all (a gzip of something else): nothing here.
            let Ok(mut entry) = entry else { return Ok(None) };
            let path = entry.path().map_err(|e| transport(e.to_string()))?.into_owned();
            let depth = path.components().count();
            if path.file_name().and_then(|n| n.to_str()) == Some("config.json") && depth <= 3 {
                if entry.size() > MAX_DOCUMENT_BYTES {
                    return Err(RegistryError::TooLarge {
                        repository: repo.display(),
                        what: format!("config.json in tar layer {index}"),
                    });
                }
                let mut config = Vec::new();
                entry.read_to_end(&mut config).map_err(|e| transport(e.to_string()))?;
                tracing::debug!(repository = %repo.display(), layer = index, path = %path.display(), "config.json found in a tar layer");
                // Where the file ends in the (decompressed) tar: all that was read.
                let read = entry.raw_file_position() + entry.size();
                return Ok(Some(ModelConfig {
                    config,
                    quant_config: None,
                    found_in: format!("tar layer {index} ({}, {read} bytes into the layer)", path.display()),
                }));
            }
        }
        Ok(None)
    }
}
