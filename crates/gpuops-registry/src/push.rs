//! Pushing OCI artifacts the way `oras push --artifact-type T file:mediatype`
//! does: an empty config, one layer per file, `artifactType` in the manifest.
//! Used by the test harness and benchmarks to fill a real registry, and
//! handy for seeding a local registry by hand.

use sha2::{Digest, Sha256};

use crate::RegistryError;
use crate::client::{Client, Method};

/// One file of an artifact.
pub struct Layer<'a> {
    pub media_type: &'a str,
    pub data: &'a [u8],
    /// `org.opencontainers.image.title` (the file name oras records).
    pub title: Option<&'a str>,
}

const EMPTY_CONFIG: &[u8] = b"{}";
const EMPTY_CONFIG_TYPE: &str = "application/vnd.oci.empty.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

fn digest_of(data: &[u8]) -> String {
    format!("sha256:{:x}", Sha256::digest(data))
}

impl Client {
    /// Upload a blob (monolithic POST then PUT); returns its digest.
    fn push_blob(&self, image: &str, data: &[u8]) -> Result<String, RegistryError> {
        let repo = self.repository(image)?;
        let base = self.base_url(&repo);
        let digest = digest_of(data);
        let start =
            self.send(&repo, Method::Post, &format!("{base}/v2/{}/blobs/uploads/", repo.path), &[], Some(&[]), true)?;
        let location = start.headers.get("location").and_then(|v| v.to_str().ok()).ok_or_else(|| {
            RegistryError::Malformed { repository: repo.display(), message: "blob upload without Location".into() }
        })?;
        // The upload goes with the login: only to this registry (a path, or
        // an absolute URL on the same origin, judged parsed).
        let location = crate::origin::same_origin_link(&base, location).ok_or_else(|| RegistryError::Malformed {
            repository: repo.display(),
            message: format!("the blob upload Location is not on {base}; not sending the blob there"),
        })?;
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={}", crate::client::encode(&digest));
        self.send(&repo, Method::Put, &url, &[("Content-Type", "application/octet-stream")], Some(data), true)?;
        Ok(digest)
    }

    /// Push an artifact as `image:tag`; returns the manifest digest.
    pub fn push_artifact(
        &self,
        image: &str,
        tag: &str,
        artifact_type: &str,
        layers: &[Layer<'_>],
    ) -> Result<String, RegistryError> {
        let repo = self.repository(image)?;
        let config_digest = self.push_blob(image, EMPTY_CONFIG)?;
        let mut layer_descriptors = Vec::new();
        for layer in layers {
            let digest = self.push_blob(image, layer.data)?;
            let mut descriptor =
                serde_json::json!({"mediaType": layer.media_type, "digest": digest, "size": layer.data.len()});
            if let Some(title) = layer.title {
                descriptor["annotations"] = serde_json::json!({"org.opencontainers.image.title": title});
            }
            layer_descriptors.push(descriptor);
        }
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_TYPE,
            "artifactType": artifact_type,
            "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": config_digest, "size": EMPTY_CONFIG.len()},
            "layers": layer_descriptors,
        });
        let body = serde_json::to_vec(&manifest).unwrap_or_default();
        let url = format!("{}/v2/{}/manifests/{tag}", self.base_url(&repo), repo.path);
        self.send(&repo, Method::Put, &url, &[("Content-Type", MANIFEST_TYPE)], Some(&body), true)?;
        Ok(digest_of(&body))
    }
}
