//! The Kubernetes version whose scheduler and kubelet wording a check
//! follows.

/// Text that is not a Kubernetes version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Kubernetes version like 1.35 or v1.35.2")]
pub struct KubeVersionError(pub String);

/// The Kubernetes minor version whose wording the messages follow
/// (`1.35`; the major is always 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct KubeVersion {
    pub minor: u32,
}

impl KubeVersion {
    /// The newest version whose messages are known.
    pub const NEWEST: KubeVersion = KubeVersion { minor: 35 };
    /// The oldest version whose messages are known.
    pub const OLDEST: KubeVersion = KubeVersion { minor: 31 };

    /// `1.35`, `v1.35.2`, `v1.31.4-gke.1000` (a server's `gitVersion`), or
    /// `/version`'s `major`/`minor` pair written `1.35+`.
    pub fn parse(text: &str) -> Result<Self, KubeVersionError> {
        let t = text.trim().trim_start_matches('v');
        let mut parts = t.split('.');
        let major = parts.next().unwrap_or("");
        let minor: String = parts.next().unwrap_or("").chars().take_while(char::is_ascii_digit).collect();
        match (major, minor.parse::<u32>()) {
            ("1", Ok(minor)) => Ok(KubeVersion { minor }),
            _ => Err(KubeVersionError(text.to_string())),
        }
    }

    /// The version whose wording applies: versions newer than the newest
    /// known speak like the newest, older ones like the oldest.
    pub fn wording(self) -> Self {
        self.clamp(Self::OLDEST, Self::NEWEST)
    }
}

impl Default for KubeVersion {
    fn default() -> Self {
        Self::NEWEST
    }
}

impl std::fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "1.{}", self.minor)
    }
}
