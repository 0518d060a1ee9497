//! Which policy a marker gets, as Flux's controllers decide it: the
//! automation's own namespace and `spec.policySelector`, suspension, and
//! `ImageRepository.spec.accessFrom` for a repository in another namespace.

use std::collections::BTreeMap;

use crate::selector::LabelSelector;
use crate::{ImagePolicy, ImageRepository, ImageUpdateAutomation, ResolveError, Scan};

/// Whose policies apply, and whether suspension is overridden by hand.
#[derive(Debug, Clone, Copy, Default)]
pub struct Scope<'a> {
    pub automation: Option<&'a ImageUpdateAutomation>,
    pub ignore_suspend: bool,
}

/// Why a marker gets no value from its policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// No such ImagePolicy in the tree: Flux leaves the marker (a warning
    /// here; `--strict` makes it an error).
    Missing(String),
    /// Flux would not apply this policy here (another namespace, not
    /// selected): the marker belongs to some other automation.
    NotApplied(String),
    /// The policy or its repository is suspended: Flux's value is frozen
    /// where modelbump cannot see it, so the marker is left as it is.
    Suspended(String),
    /// Flux's policy would not be ready (no repository, access denied):
    /// skipped with a warning, the rest proceed.
    NotReady(String),
}

/// A cross-namespace reference that fluxcd/pkg runtime/acl refuses, in its
/// words (acl.go `HasAccessToRef`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessDenied {
    #[error("access denied: {reference} can't be accessed due to missing ACL labels on 'accessFrom'")]
    MissingAcl { reference: String },
    #[error("access denied: {reference} can't be accessed due to ACL labels mismatch on namespace '{namespace}'")]
    LabelsMismatch { reference: String, namespace: String },
}

/// fluxcd/pkg runtime/acl/acl.go `Authorization.HasAccessToRef`: the same
/// namespace always; else the repository's `accessFrom` must be set and one
/// of its namespace selectors (matchLabels) must match the labels of the
/// policy's namespace. Kubernetes labels every namespace with
/// `kubernetes.io/metadata.name: <name>` (NamespaceDefaultLabelName), so
/// that label counts even without a Namespace object in the tree.
pub fn has_access(
    policy_namespace: &str,
    repository: &ImageRepository,
    repository_namespace: &str,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<(), AccessDenied> {
    if repository_namespace.is_empty() || policy_namespace == repository_namespace {
        return Ok(());
    }
    let shown = crate::printable_short;
    let reference = format!("'{}/{}'", shown(repository_namespace), shown(&repository.name));
    let Some(selectors) = &repository.access_from else {
        return Err(AccessDenied::MissingAcl { reference });
    };
    let mut labels = namespace_labels.get(policy_namespace).cloned().unwrap_or_default();
    labels.insert("kubernetes.io/metadata.name".into(), policy_namespace.to_string());
    if selectors.iter().any(|s| LabelSelector::from_labels(s).matches(&labels)) {
        return Ok(());
    }
    Err(AccessDenied::LabelsMismatch { reference, namespace: shown(policy_namespace) })
}

impl Scan {
    /// The policy and repository a marker `namespace:policy` gets in `scope`.
    pub fn policy_in_scope(
        &self,
        scope: Scope<'_>,
        namespace: &str,
        policy: &str,
    ) -> Result<(&ImagePolicy, &ImageRepository), Unusable> {
        let shown = |s: &str| crate::printable_short(s);
        let (p, r) = self.resolve(namespace, policy).map_err(|e| match e {
            ResolveError::NoPolicy { .. } => Unusable::Missing(e.to_string()),
            ResolveError::NoRepository { .. } => Unusable::NotReady(e.to_string()),
        })?;
        let key = format!("{}/{}", shown(namespace), shown(policy));
        if let Some(a) = scope.automation {
            // imageupdateautomation_controller.go `getPolicies`: the
            // policies of the automation's namespace that match its selector.
            if let Some(ns) = &a.namespace
                && ns != namespace
            {
                return Err(Unusable::NotApplied(format!(
                    "ImagePolicy {key} is not in the namespace of ImageUpdateAutomation {}",
                    shown(&a.key())
                )));
            }
            if let Some(Ok(selector)) = &a.policy_selector
                && !selector.matches(&p.labels)
            {
                return Err(Unusable::NotApplied(format!(
                    "ImagePolicy {key} does not match spec.policySelector of ImageUpdateAutomation {}",
                    shown(&a.key())
                )));
            }
        }
        if !scope.ignore_suspend {
            if p.suspend {
                return Err(Unusable::Suspended(format!("ImagePolicy {key} is suspended (spec.suspend: true)")));
            }
            if r.suspend {
                return Err(Unusable::Suspended(format!(
                    "ImageRepository {}/{} of ImagePolicy {key} is suspended (spec.suspend: true)",
                    shown(r.namespace.as_deref().unwrap_or(namespace)),
                    shown(&r.name)
                )));
            }
        }
        let repository_namespace = p.repository_namespace.clone().unwrap_or_else(|| namespace.to_string());
        let policy_namespace = p.namespace.as_deref().unwrap_or(namespace);
        // imagepolicy_controller.go `getImageRepository`: "access denied: %w".
        has_access(policy_namespace, r, &repository_namespace, &self.namespace_labels)
            .map_err(|e| Unusable::NotReady(format!("ImagePolicy {key}: {e}")))?;
        Ok((p, r))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Source, scan_text};

    fn repo(access: Option<Vec<BTreeMap<String, String>>>) -> ImageRepository {
        ImageRepository {
            namespace: Some("default".into()),
            name: "r".into(),
            image: "reg/x".into(),
            exclusion_list: None,
            insecure: false,
            suspend: false,
            access_from: access,
            provider: None,
            secret_ref: None,
            cert_secret_ref: None,
            source: Source { path: "f".into(), line: 1 },
        }
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    /// fluxcd/pkg runtime/acl/acl_test.go `TestAclAuthorization`, every case.
    #[test]
    fn acl_authorization_rows() {
        let ns = |n: &str, l: &[(&str, &str)]| BTreeMap::from([(n.to_string(), labels(l))]);
        let acl = |l: Option<&[(&str, &str)]>| Some(vec![l.map(labels).unwrap_or_default()]);
        // "When in same namespace it ignores the ACL and grands access"
        assert!(
            has_access("test1", &repo(acl(Some(&[("tenant", "b")]))), "test1", &ns("test1", &[("tenant", "a")]))
                .is_ok()
        );
        // "When in different namespace with nil ACL it denies access"
        let e = has_access("test2", &repo(None), "default", &ns("test2", &[])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "access denied: 'default/r' can't be accessed due to missing ACL labels on 'accessFrom'"
        );
        // "When in different namespace with empty ACL it denies access"
        assert!(has_access("test3", &repo(Some(vec![])), "default", &ns("test3", &[])).is_err());
        // "When in different namespace with empty match labels it grants access"
        assert!(has_access("test4", &repo(acl(None)), "default", &ns("test4", &[])).is_ok());
        // "When in different namespace with matching labels it grands access"
        assert!(
            has_access("test5", &repo(acl(Some(&[("tenant", "a")]))), "default", &ns("test5", &[("tenant", "a")]))
                .is_ok()
        );
        // "When in different namespace with mismatching labels it denies access"
        let e = has_access("test6", &repo(acl(Some(&[("tenant", "b")]))), "default", &ns("test6", &[("tenant", "a")]));
        assert_eq!(
            e.unwrap_err().to_string(),
            "access denied: 'default/r' can't be accessed due to ACL labels mismatch on namespace 'test6'"
        );
        // image-reflector-controller imagepolicy_controller_test.go
        // `TestImagePolicyReconciler_getImageRepository`: "repo in different
        // namespace, multiple ACL namespace selectors, authorized" / "... unauthorized".
        let two = |a: &[(&str, &str)], b: &[(&str, &str)]| repo(Some(vec![labels(a), labels(b)]));
        let apps = ns("apps", &[("tenant", "b")]);
        assert!(has_access("apps", &two(&[("tenant", "a")], &[("tenant", "b")]), "default", &apps).is_ok());
        assert!(has_access("apps", &two(&[("tenant", "a")], &[("tenant", "c")]), "default", &apps).is_err());
        // The label Kubernetes puts on every namespace.
        let by_name = acl(Some(&[("kubernetes.io/metadata.name", "apps")]));
        assert!(has_access("apps", &repo(by_name), "default", &BTreeMap::new()).is_ok());
    }

    const OBJECTS: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: r, namespace: flux-system}\nspec: {image: reg/x}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: a, namespace: flux-system, labels: {team: a}}\nspec: {imageRepositoryRef: {name: r}, policy: {semver: {range: '>=1'}}}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: b, namespace: flux-system, labels: {team: b}}\nspec: {imageRepositoryRef: {name: r}, policy: {semver: {range: '>=1'}}, suspend: true}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: c, namespace: apps}\nspec: {imageRepositoryRef: {name: r, namespace: flux-system}, policy: {semver: {range: '>=1'}}}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata: {name: u, namespace: flux-system}\nspec:\n  policySelector:\n    matchExpressions: [{key: team, operator: In, values: [a, b]}]\n";

    #[test]
    fn an_automation_applies_the_selected_policies_of_its_namespace() {
        let mut scan = Scan::default();
        scan_text(&mut scan, "f.yaml", OBJECTS);
        assert_eq!(scan.problems, []);
        let scope = Scope { automation: scan.automations.first(), ignore_suspend: false };
        assert!(scan.policy_in_scope(scope, "flux-system", "a").is_ok());
        assert!(matches!(scan.policy_in_scope(scope, "flux-system", "b"), Err(Unusable::Suspended(_))));
        let ignore = Scope { ignore_suspend: true, ..scope };
        assert!(scan.policy_in_scope(ignore, "flux-system", "b").is_ok());
        assert!(matches!(scan.policy_in_scope(scope, "apps", "c"), Err(Unusable::NotApplied(_))));
        // Without an automation, c is a cross-namespace reference: no accessFrom.
        let e = scan.policy_in_scope(Scope::default(), "apps", "c").unwrap_err();
        assert!(matches!(&e, Unusable::NotReady(m) if m.contains("missing ACL labels on 'accessFrom'")), "{e:?}");
    }
}
