//! Cloud registry logins the way Flux's `ImageRepository.spec.provider`
//! asks for them, obtained here from the docker credential helper each
//! cloud ships instead of the cloud SDKs the controller links.
//!
//! Flux (image-reflector-controller v1.2.0 internal/registry/options.go
//! `GetOptions`, line 82) hands a provider other than `generic` to fluxcd/pkg
//! auth/utils/registry.go `GetArtifactRegistryCredentials`, which first
//! checks the registry host against the provider's pattern
//! (`ParseArtifactRepository`) and then logs in; an unknown provider is
//! "provider '%s' not implemented" (auth/utils/provider.go:43). With a
//! provider, `spec.secretRef` is not used (options.go:148, `if
//! authenticator == nil`). The credentials each provider's SDK path makes
//! are what its docker helper returns: ECR's `AWS` + token
//! (`docker-credential-ecr-login`), ACR's refresh token under the
//! `<token>` username (`docker-credential-acr-env`), GCP's
//! `oauth2accesstoken` + access token (`docker-credential-gcr`).

use std::fmt;

/// A cloud provider of `ImageRepository.spec.provider`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CloudProvider {
    Aws,
    Azure,
    Gcp,
}

/// A registry host the provider does not serve, in fluxcd/pkg's words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {cloud} registry: '{registry}'. must match {pattern}")]
pub struct ProviderHostError {
    cloud: &'static str,
    registry: String,
    pattern: &'static str,
}

/// fluxcd/pkg auth/aws/provider.go:208 `registryPattern` (sourced there
/// from amazon-ecr-credential-helper), unanchored.
const AWS_PATTERN: &str = r"([0-9+]*).dkr[.-]ecr(?:-fips)?\.([^/.]*)\.(amazonaws\.com[.cn]*|amazonaws\.eu|sc2s\.sgov\.gov|c2s\.ic\.gov|cloud\.adc-e\.uk|csp\.hci\.ic\.gov|on\.aws)";
/// auth/azure/provider.go:167.
const AZURE_PATTERN: &str = r"^.+\.(azurecr\.io|azurecr\.cn|azurecr\.de|azurecr\.us)$";
/// auth/gcp/provider.go:169.
const GCP_PATTERN: &str = r"^(((.+\.)?gcr\.io)|(.+-docker\.pkg\.dev)|(docker\.s3nsregistry\.fr))$";

impl CloudProvider {
    /// `spec.provider`: `None` for unset and `generic` (docker's own logins).
    pub fn from_spec(provider: Option<&str>) -> Option<Self> {
        match provider? {
            "aws" => Some(Self::Aws),
            "azure" => Some(Self::Azure),
            "gcp" => Some(Self::Gcp),
            _ => None,
        }
    }

    /// The value of `spec.provider`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aws => "aws",
            Self::Azure => "azure",
            Self::Gcp => "gcp",
        }
    }

    /// The docker credential helper program that logs in to this cloud's
    /// registry from the identity on the machine (awslabs/amazon-ecr-credential-helper,
    /// chrismellard/docker-credential-acr-env, GoogleCloudPlatform/docker-credential-gcr).
    pub fn helper(self) -> &'static str {
        match self {
            Self::Aws => "docker-credential-ecr-login",
            Self::Azure => "docker-credential-acr-env",
            Self::Gcp => "docker-credential-gcr",
        }
    }

    /// Whether `registry` (`host[:port]`) is one this provider issues
    /// logins for: `ParseArtifactRepository` of each provider. The Azure
    /// sovereign-cloud environment file (`AZURE_ENVIRONMENT_FILEPATH`) the
    /// controller may read is not consulted.
    pub fn check_registry(self, registry: &str) -> Result<(), ProviderHostError> {
        let (ok, cloud, pattern) = match self {
            Self::Aws => (registry == "public.ecr.aws" || ecr_region(registry).is_some(), "AWS", AWS_PATTERN),
            Self::Azure => (is_acr(registry), "Azure", AZURE_PATTERN),
            Self::Gcp => (is_gcp(registry), "GCP", GCP_PATTERN),
        };
        if ok { Ok(()) } else { Err(ProviderHostError { cloud, registry: registry.to_string(), pattern }) }
    }
}

impl fmt::Display for CloudProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The region [`AWS_PATTERN`] captures (group 2) from its leftmost match,
/// the pattern matched by hand: one character before `dkr` (`.` is any
/// character and `[0-9+]*` may be empty), `.` or `-`, `ecr`, an optional
/// `-fips`, `.`, a region without `.` or `/`, `.`, one of the partitions.
pub(crate) fn ecr_region(registry: &str) -> Option<&str> {
    const PARTITIONS: &[&str] =
        &["amazonaws.com", "amazonaws.eu", "sc2s.sgov.gov", "c2s.ic.gov", "cloud.adc-e.uk", "csp.hci.ic.gov", "on.aws"];
    registry.match_indices("dkr").filter(|&(i, _)| i >= 1).find_map(|(i, _)| {
        let rest = &registry[i + 3..];
        let rest = rest.strip_prefix('.').or_else(|| rest.strip_prefix('-'))?;
        let rest = rest.strip_prefix("ecr")?;
        // `(?:-fips)?` is greedy: with `-fips` first, then without.
        [rest.strip_prefix("-fips"), Some(rest)].into_iter().flatten().find_map(|r| {
            let r = r.strip_prefix('.')?;
            let end = r.find(['.', '/']).unwrap_or(r.len());
            let (region, after) = r.split_at(end);
            let after = after.strip_prefix('.')?;
            PARTITIONS.iter().any(|p| after.starts_with(p)).then_some(region)
        })
    })
}

/// `^.+\.(azurecr\.io|azurecr\.cn|azurecr\.de|azurecr\.us)$`.
fn is_acr(registry: &str) -> bool {
    [".azurecr.io", ".azurecr.cn", ".azurecr.de", ".azurecr.us"]
        .iter()
        .any(|s| registry.len() > s.len() && registry.ends_with(s))
}

/// `^(((.+\.)?gcr\.io)|(.+-docker\.pkg\.dev)|(docker\.s3nsregistry\.fr))$`.
fn is_gcp(registry: &str) -> bool {
    let longer = |s: &str| registry.len() > s.len() && registry.ends_with(s);
    registry == "gcr.io" || longer(".gcr.io") || longer("-docker.pkg.dev") || registry == "docker.s3nsregistry.fr"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_repository;

    /// The registry of an artifact repository as fluxcd/pkg auth/registry.go
    /// `GetRegistryFromArtifactRepository` takes it (the rows pass
    /// repositories, some with a tag).
    fn registry_of(artifact: &str) -> String {
        let without_tag = match artifact.rsplit_once(':') {
            Some((head, tag)) if !tag.contains('/') && head.contains('/') => head,
            _ => artifact,
        };
        if without_tag.contains('/') { parse_repository(without_tag).unwrap().host } else { without_tag.to_string() }
    }

    /// fluxcd/pkg auth/aws/provider_test.go `TestProvider_ParseArtifactRepository`
    /// (line 293), every row: (repository, region or "" when invalid).
    #[test]
    fn aws_registries_as_flux_parses_them() {
        let rows = [
            ("012345678901.dkr.ecr.eusc-de-east-1.amazonaws.eu/foo:v1", "eusc-de-east-1"),
            ("012345678901.dkr.ecr.eusc-de-east-1.amazonaws.eu/foo", "eusc-de-east-1"),
            ("012345678901.dkr.ecr.eusc-de-east-1.amazonaws.eu", "eusc-de-east-1"),
            ("012345678901.dkr.ecr.eusc-de-east-1.amazonaws.eu/v2/part/part", "eusc-de-east-1"),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com/foo:v1", "us-east-1"),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com/foo", "us-east-1"),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com", "us-east-1"),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com/v2/part/part", "us-east-1"),
            ("012345678901.dkr.ecr.cn-north-1.amazonaws.com.cn/foo", "cn-north-1"),
            ("012345678901.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
            ("012345678901.dkr.ecr.us-secret-region.sc2s.sgov.gov", "us-secret-region"),
            ("012345678901.dkr.ecr-fips.us-ts-region.c2s.ic.gov", "us-ts-region"),
            ("012345678901.dkr.ecr.uk-region.cloud.adc-e.uk", "uk-region"),
            ("012345678901.dkr.ecr.us-ts-region.csp.hci.ic.gov", "us-ts-region"),
            ("557238627320.dkr-ecr.us-west-2.on.aws/foo:v1", "us-west-2"),
            ("557238627320.dkr-ecr.us-west-2.on.aws/foo", "us-west-2"),
            ("557238627320.dkr-ecr.us-west-2.on.aws", "us-west-2"),
            ("557238627320.dkr-ecr.eu-central-1.on.aws/v2/part/part", "eu-central-1"),
            ("gcr.io/foo/bar:baz", ""),
            ("public.ecr.aws/foo/bar", "public.ecr.aws"),
        ];
        for (artifact, region) in rows {
            let registry = registry_of(artifact);
            let parsed = if registry == "public.ecr.aws" { Some("public.ecr.aws") } else { ecr_region(&registry) };
            assert_eq!(parsed.unwrap_or(""), region, "{artifact}");
            assert_eq!(CloudProvider::Aws.check_registry(&registry).is_ok(), !region.is_empty(), "{artifact}");
        }
        let err = CloudProvider::Aws.check_registry("gcr.io").unwrap_err().to_string();
        assert!(err.starts_with("invalid AWS registry: 'gcr.io'. must match ([0-9+]*).dkr[.-]ecr"), "{err}");
    }

    /// auth/azure/provider_test.go `TestProvider_ParseArtifactRegistry`
    /// (line 238), the rows without the environment file (the two
    /// `azurecr.private` rows need one).
    #[test]
    fn azure_registries_as_flux_parses_them() {
        let rows = [
            ("foo.azurecr.io/repo", true),
            ("foo.azurecr.cn/repo", true),
            ("foo.azurecr.de/repo", true),
            ("foo.azurecr.us/repo", true),
            ("foo.azurecr.com/repo", false),
            (".azurecr.io/repo", false),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com", false),
        ];
        for (artifact, valid) in rows {
            let registry = artifact.split('/').next().unwrap();
            assert_eq!(CloudProvider::Azure.check_registry(registry).is_ok(), valid, "{artifact}");
        }
    }

    /// auth/gcp/provider_test.go `TestProvider_ParseArtifactRegistry`
    /// (line 288), every row.
    #[test]
    fn gcp_registries_as_flux_parses_them() {
        let rows = [
            ("gcr.io", true),
            (".gcr.io", false),
            ("a.gcr.io", true),
            ("-docker.pkg.dev", false),
            ("a-docker.pkg.dev", true),
            ("012345678901.dkr.ecr.us-east-1.amazonaws.com", false),
            ("docker.s3nsregistry.fr/s3ns/dsna-shared-registry-0/shared-registry", true),
            ("docker.s3nsregistry.fr", true),
            ("u-france-east1-docker.s3nsregistry.fr", false),
            ("-docker.s3nsregistry.fr", false),
            ("a.docker.s3nsregistry.fr", false),
        ];
        for (artifact, valid) in rows {
            let registry = artifact.split('/').next().unwrap();
            assert_eq!(CloudProvider::Gcp.check_registry(registry).is_ok(), valid, "{artifact}");
        }
    }

    #[test]
    fn providers_and_their_helpers() {
        assert_eq!(CloudProvider::from_spec(Some("generic")), None);
        assert_eq!(CloudProvider::from_spec(None), None);
        assert_eq!(
            CloudProvider::from_spec(Some("aws")).map(CloudProvider::helper),
            Some("docker-credential-ecr-login")
        );
        assert_eq!(
            CloudProvider::from_spec(Some("azure")).map(CloudProvider::helper),
            Some("docker-credential-acr-env")
        );
        assert_eq!(CloudProvider::from_spec(Some("gcp")).map(CloudProvider::helper), Some("docker-credential-gcr"));
    }
}
