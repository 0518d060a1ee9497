//! The two reads modelbump needs: every tag of a repository (paginated,
//! only OCI tag names, a next page only on the registry's own origin) and
//! the manifest digest of a tag.

use std::collections::HashSet;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::RegistryError;
use crate::client::{Client, MANIFEST_TYPES};
use crate::origin::{realm_origin, same_origin_link};
use crate::reference::{RepositoryRef, is_oci_digest, is_oci_tag};
use crate::transport::Method;

/// `<url>; rel="next"` from a Link header.
fn next_link(headers: &ureq::http::HeaderMap) -> Option<String> {
    let value = headers.get("link")?.to_str().ok()?;
    value.split(',').find(|part| part.contains("rel=\"next\"") || part.contains("rel=next")).and_then(|part| {
        let start = part.find('<')? + 1;
        let end = part[start..].find('>')? + start;
        Some(part[start..end].to_string())
    })
}

impl Client {
    /// Every tag of `image` (a repository without tag), following pagination.
    pub fn list_tags(&self, image: &str) -> Result<Vec<String>, RegistryError> {
        let repo = self.repository(image)?;
        let base = self.base_url(&repo);
        let mut url = format!("{base}/v2/{}/tags/list?n={}", repo.path, self.options.page_size);
        let mut seen = HashSet::new();
        let mut tags = Vec::new();
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > self.options.max_pages {
                return Err(RegistryError::TooManyPages {
                    repository: repo.display(),
                    pages: self.options.max_pages,
                    tags: tags.len(),
                });
            }
            let (page, next) = self.tag_page(&repo, &url)?;
            let before = tags.len();
            let mut rejected = 0usize;
            for tag in page {
                if !is_oci_tag(&tag) {
                    rejected += 1;
                    continue;
                }
                if seen.insert(tag.clone()) {
                    tags.push(tag);
                }
            }
            if rejected > 0 {
                tracing::warn!(repository = %repo.display(), rejected, "ignoring names in the tag list that are not OCI tags");
            }
            // distribution 2.x ignores `n` and sends everything, without
            // Link: a page with nothing new also ends the listing.
            match next {
                Some(next) if tags.len() > before => {
                    url = same_origin_link(&base, &next).ok_or_else(|| RegistryError::Malformed {
                        repository: repo.display(),
                        message: format!(
                            "the tag list's next page is not on {base} ({}); refusing to follow it",
                            realm_origin(&next)
                        ),
                    })?;
                }
                _ => return Ok(tags),
            }
        }
    }

    /// One page, re-fetched when the body is cut short or not JSON.
    fn tag_page(&self, repo: &RepositoryRef, url: &str) -> Result<(Vec<String>, Option<String>), RegistryError> {
        #[derive(Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let mut attempt = 0;
        loop {
            let reply = self.send(repo, Method::Get, url, &[("Accept", "application/json")], None, false)?;
            match serde_json::from_slice::<TagList>(&reply.body) {
                Ok(list) => return Ok((list.tags.unwrap_or_default(), next_link(&reply.headers))),
                Err(e) if attempt >= self.options.retries => {
                    return Err(RegistryError::Malformed {
                        repository: repo.display(),
                        message: format!("tag list is not valid JSON ({e}) after {} attempts", attempt + 1),
                    });
                }
                Err(_) => {
                    std::thread::sleep(self.backoff(attempt, None));
                    attempt += 1;
                }
            }
        }
    }

    /// The manifest digest of `image:tag` (`sha256:…`), for pinning.
    pub fn digest(&self, image: &str, tag: &str) -> Result<String, RegistryError> {
        let repo = self.repository(image)?;
        if !is_oci_tag(tag) {
            return Err(RegistryError::Malformed {
                repository: repo.display(),
                message: format!("{:?} is not an OCI tag", tag.escape_debug().to_string()),
            });
        }
        let url = format!("{}/v2/{}/manifests/{tag}", self.base_url(&repo), repo.path);
        let head = self.send(&repo, Method::Head, &url, &[("Accept", MANIFEST_TYPES)], None, false)?;
        if let Some(d) = head.headers.get("docker-content-digest").and_then(|v| v.to_str().ok()) {
            // It is written into files when pinning: only a real digest.
            if !is_oci_digest(d) {
                return Err(RegistryError::Malformed {
                    repository: repo.display(),
                    message: format!("the Docker-Content-Digest of tag {tag} is not an OCI digest"),
                });
            }
            return Ok(d.to_string());
        }
        let get = self.send(&repo, Method::Get, &url, &[("Accept", MANIFEST_TYPES)], None, false)?;
        Ok(format!("sha256:{:x}", Sha256::digest(&get.body)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let mut h = ureq::http::HeaderMap::new();
        h.insert("link", "</v2/r/tags/list?last=b&n=2>; rel=\"next\"".parse().unwrap());
        assert_eq!(next_link(&h).as_deref(), Some("/v2/r/tags/list?last=b&n=2"));
        assert_eq!(next_link(&ureq::http::HeaderMap::new()), None);
    }
}
