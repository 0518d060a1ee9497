//! Issue 23: modelbump does what Flux's controllers would do — which
//! policies an automation applies, what suspension freezes, which objects
//! Flux refuses, which failures it isolates, and when it keeps a digest.
//! Real binary, real docker-registry, real git.

use crate::util::{HELMRELEASE, Repo, SEED_IMAGE_PATH, seeded_registry, text};
use gpuops_testkit::git;

const POLICIES: &str = "infrastructure/image-automation/foundry-gpu-models.yaml";
const AUTOMATION: &str = "infrastructure/image-automation/automation.yaml";
const BUMPED: &str = "tag: v2.0.0 #";
const KEPT: &str = "tag: v1.0.0 #";

fn commit_all(repo: &Repo) {
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "--quiet", "-m", "change"]);
}

/// An ImageUpdateAutomation in flux-system with `spec` lines appended.
fn automation(spec: &str) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: models\n  namespace: flux-system\nspec:\n  interval: 30m\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n{spec}"
    )
}

/// The seed's policy file with `from` replaced by `to`.
fn edit_policies(repo: &Repo, from: &str, to: &str) {
    let text = repo.read(POLICIES);
    assert!(text.contains(from), "{from:?} not in {POLICIES}");
    std::fs::write(repo.path().join(POLICIES), text.replacen(from, to, 1)).unwrap();
}

fn untouched(repo: &Repo) {
    assert_eq!(git(repo.path(), &["status", "--porcelain"]), "", "no file may change");
}

/// imageupdateautomation_controller.go `getPolicies`: the policies of the
/// automation's namespace matching `spec.policySelector`; an invalid
/// selector stalls (controller_test.go `TestImageUpdateAutomationReconciler_Reconcile`,
/// "invalid policy selector results in stalled").
#[test]
fn an_automation_applies_only_the_policies_its_selector_picks() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let selector = "  policySelector:\n    matchExpressions:\n      - {key: team, operator: In, values: [models]}\n";
    std::fs::write(repo.path().join(AUTOMATION), automation(selector)).unwrap();
    commit_all(&repo);
    let out = repo.run(&["apply", "-v", "2"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("does not match spec.policySelector"), "{}", text(&out.stderr));
    untouched(&repo);

    edit_policies(&repo, "kind: ImagePolicy\nmetadata:\n", "kind: ImagePolicy\nmetadata:\n  labels: {team: models}\n");
    commit_all(&repo);
    let out = repo.run(&["apply"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read(HELMRELEASE).contains(BUMPED), "the selected policy is applied");

    // A key longer than 63 characters: Flux stalls the automation.
    let repo = Repo::seed(&registry.host());
    let bad = format!("  policySelector:\n    matchLabels:\n      label-too-long-{}: ''\n", "0".repeat(63));
    std::fs::write(repo.path().join(AUTOMATION), automation(&bad)).unwrap();
    commit_all(&repo);
    let out = repo.run(&["apply"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("ImageUpdateAutomation flux-system/models (infrastructure/image-automation/automation.yaml:1): failed to parse policy selector: spec.policySelector: key"),
        "{stderr}"
    );
    assert!(stderr.contains("stalled, as Flux stalls it (InvalidPolicySelector); nothing was changed"), "{stderr}");
    untouched(&repo);

    // A policy of another namespace is not the automation's.
    let repo = Repo::seed(&registry.host());
    std::fs::write(repo.path().join(AUTOMATION), automation("").replace("namespace: flux-system", "namespace: apps"))
        .unwrap();
    commit_all(&repo);
    assert_eq!(repo.run(&["apply"]).status.code(), Some(0));
    untouched(&repo);
}

/// `spec.suspend: true` on each kind: Reconcile returns "reconciliation is
/// suspended for this object" (image-automation-controller and
/// image-reflector-controller controllers; controller_test.go
/// `TestImageUpdateAutomationReconciler_suspended`: nothing is written).
#[test]
fn suspend_on_each_kind_freezes_the_tree_unless_ignore_suspend() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    std::fs::write(repo.path().join(AUTOMATION), automation("  suspend: true\n")).unwrap();
    commit_all(&repo);
    let out = repo.run(&["apply", "--commit"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("ImageUpdateAutomation flux-system/models is suspended (spec.suspend: true)"), "{stderr}");
    untouched(&repo);
    assert_eq!(repo.commits(), 2);
    let out = repo.run(&["apply", "--ignore-suspend"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(repo.read(HELMRELEASE).contains(BUMPED));

    for (kind, spec_line) in [("ImagePolicy", "  imageRepositoryRef:\n"), ("ImageRepository", "  image: ")] {
        let repo = Repo::seed(&registry.host());
        edit_policies(&repo, spec_line, &format!("  suspend: true\n{spec_line}"));
        commit_all(&repo);
        let out = repo.run(&["apply"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{kind}: {stderr}");
        assert!(stderr.contains(&format!("{kind} flux-system/foundry-gpu-models")), "{kind}: {stderr}");
        assert!(stderr.contains("is suspended (spec.suspend: true); left as it is"), "{kind}: {stderr}");
        assert!(repo.read(HELMRELEASE).contains(KEPT), "{kind}");
        let out = repo.run(&["apply", "--ignore-suspend"]);
        assert_eq!(out.status.code(), Some(0), "{kind}: {}", text(&out.stderr));
        assert!(repo.read(HELMRELEASE).contains(BUMPED), "{kind}");
    }
}

/// A policy in another namespace than its ImageRepository: fluxcd/pkg
/// runtime/acl/acl.go `HasAccessToRef` (imagepolicy_controller.go
/// `getImageRepository`: "access denied: ...").
#[test]
fn a_cross_namespace_repository_needs_access_from() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let apps = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels: {tenant: models}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: tenant-model, namespace: apps}\nspec:\n  imageRepositoryRef: {name: foundry-gpu-models, namespace: flux-system}\n  policy: {semver: {range: '>=1.0.0'}}\n";
    std::fs::write(repo.path().join("infrastructure/image-automation/apps.yaml"), apps).unwrap();
    std::fs::create_dir_all(repo.path().join("apps/tenant")).unwrap();
    let values = format!("image: {image}:v1.0.0 # {{\"$imagepolicy\": \"apps:tenant-model\"}}\n");
    std::fs::write(repo.path().join("apps/tenant/values.yaml"), &values).unwrap();
    commit_all(&repo);

    let out = repo.run(&["apply"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "partial: {stderr}");
    assert!(
        stderr.contains("warning: apps/tenant/values.yaml:1: ImagePolicy apps/tenant-model: access denied: 'flux-system/foundry-gpu-models' can't be accessed due to missing ACL labels on 'accessFrom'"),
        "{stderr}"
    );
    assert_eq!(repo.read("apps/tenant/values.yaml"), values, "denied");
    assert!(repo.read(HELMRELEASE).contains(BUMPED), "the rest proceed");

    for (labels, allowed) in [("{tenant: other}", false), ("{tenant: models}", true), ("{}", true)] {
        git(repo.path(), &["checkout", "--quiet", "--", "."]);
        edit_policies(
            &repo,
            "  interval: 5s\n",
            &format!("  interval: 5s\n  accessFrom:\n    namespaceSelectors:\n      - matchLabels: {labels}\n"),
        );
        let out = repo.run(&["apply"]);
        let stderr = text(&out.stderr);
        let bumped = repo.read("apps/tenant/values.yaml").contains(":v2.0.0");
        assert_eq!(bumped, allowed, "{labels}: {stderr}");
        assert_eq!(out.status.code(), Some(if allowed { 0 } else { 3 }), "{labels}: {stderr}");
        if !allowed {
            assert!(stderr.contains("due to ACL labels mismatch on namespace 'apps'"), "{stderr}");
        }
    }
}

/// What Flux's API server or controller refuses is refused here, with its
/// words: the update.strategy enum (applier.go `ErrUnsupportedUpdateStrategy`,
/// applier_test.go "unknown update strategy"), the provider enum, the
/// ImagePolicy CEL rules on interval and digestReflectionPolicy.
#[test]
fn objects_flux_rejects_are_refused_with_flux_wording() {
    let registry = seeded_registry();
    let cases: [(&str, &str, &str, &str); 4] = [
        (
            AUTOMATION,
            "",
            "",
            "ImageUpdateAutomation/models: spec.update.strategy: Unsupported value: \"Rebase\": supported values: \"Setters\"",
        ),
        (
            POLICIES,
            "  interval: 5s\n",
            "  interval: 5s\n  provider: oracle\n",
            "ImageRepository/foundry-gpu-models: spec.provider: Unsupported value: \"oracle\": supported values: \"generic\", \"aws\", \"azure\", \"gcp\"",
        ),
        (
            POLICIES,
            "  policy:\n",
            "  digestReflectionPolicy: Always\n  policy:\n",
            "ImagePolicy/foundry-gpu-models: spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
        ),
        (
            POLICIES,
            "  policy:\n",
            "  interval: 10m\n  policy:\n",
            "ImagePolicy/foundry-gpu-models: spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
        ),
    ];
    for (file, from, to, expected) in cases {
        let repo = Repo::seed(&registry.host());
        if file == AUTOMATION {
            std::fs::write(repo.path().join(AUTOMATION), automation("  update: {strategy: Rebase}\n")).unwrap();
        } else {
            edit_policies(&repo, from, to);
        }
        commit_all(&repo);
        let out = repo.run(&["apply"]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{expected}: {stderr}");
        assert!(stderr.contains(expected), "{expected}: {stderr}");
        assert!(stderr.contains("nothing was changed"), "{stderr}");
        untouched(&repo);
    }
}

/// Flux isolates failures: a policy with no latest image is ignored
/// (controller `getPolicies`), a file with a marker that cannot be parsed is
/// a problem file (internal/update/filereader.go); the rest proceed.
/// `--strict` is all or nothing; exit 3 says "partial".
#[test]
fn a_policy_without_a_tag_and_a_broken_file_are_skipped_and_the_rest_proceed() {
    let registry = seeded_registry();
    let repo = Repo::seed(&registry.host());
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let future = "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: future, namespace: flux-system}\nspec:\n  imageRepositoryRef: {name: foundry-gpu-models}\n  policy: {semver: {range: '>=9.0.0'}}\n";
    let policies = repo.read(POLICIES) + future;
    std::fs::write(repo.path().join(POLICIES), policies).unwrap();
    std::fs::create_dir_all(repo.path().join("apps/next")).unwrap();
    let waiting = format!("image: {image}:v1.0.0 # {{\"$imagepolicy\": \"flux-system:future\"}}\n");
    std::fs::write(repo.path().join("apps/next/values.yaml"), &waiting).unwrap();
    let broken =
        format!("image: {image}:v1.0.0 # {{\"$imagepolicy\": \"flux-system:foundry-gpu-models\"}}\n  bad: [indent\n");
    std::fs::write(repo.path().join("apps/next/broken.yaml"), &broken).unwrap();
    commit_all(&repo);

    let strict = repo.run(&["apply", "--strict"]);
    let stderr = text(&strict.stderr);
    assert_eq!(strict.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("apps/next/values.yaml:1: no tag of"), "{stderr}");
    assert!(stderr.contains("satisfies ImagePolicy flux-system/future (3 tags listed)"), "{stderr}");
    assert!(stderr.contains("apps/next/broken.yaml:0:"), "{stderr}");
    untouched(&repo);

    let scan = repo.run(&["scan", "."]);
    assert_eq!(scan.status.code(), Some(3), "{}", text(&scan.stderr));

    let out = repo.run(&["apply", "--commit"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "partial: {stderr}");
    assert!(stderr.contains("warning: apps/next/values.yaml:1: no tag of"), "{stderr}");
    assert!(stderr.contains("skipped, as Flux skips it, the rest proceed (--strict makes this an error)"), "{stderr}");
    assert!(
        stderr.contains("warning: apps/next/broken.yaml: cannot be parsed (")
            && stderr.contains("its markers are skipped"),
        "{stderr}"
    );
    assert!(repo.read(HELMRELEASE).contains(BUMPED), "the rest proceed");
    assert_eq!(repo.read("apps/next/values.yaml"), waiting);
    assert_eq!(repo.read("apps/next/broken.yaml"), broken);
    assert_eq!(repo.commits(), 3, "the partial update is committed");
}

/// image-reflector-controller imagepolicy_controller.go: with
/// `IfNotPresent` the digest is fetched only when the tag changes (or none
/// is held); `Always` re-resolves; `Never` pins none. Rows of
/// imagepolicy_controller_test.go `TestImagePolicyReconciler_digestReflection`:
/// "'IfNotPresent' policy only sets digest once", "'IfNotPresent' policy
/// updates digest when new tag is selected", "'Always' policy always updates
/// digest", "'Never' policy leaves digest empty".
#[test]
fn if_not_present_keeps_the_digest_already_in_git() {
    let registry = seeded_registry();
    let image = format!("{}/{SEED_IMAGE_PATH}", registry.host());
    let stale = format!("sha256:{}", "a".repeat(64));
    let pinned = |tag: &str| {
        format!("image: {image}:{tag}@{stale} # {{\"$imagepolicy\": \"flux-system:foundry-gpu-models\"}}\n")
    };
    for (policy, tag, keeps) in [
        ("  digestReflectionPolicy: IfNotPresent\n", "v2.0.0", true),
        ("  digestReflectionPolicy: IfNotPresent\n", "v1.0.0", false),
        ("  digestReflectionPolicy: Always\n  interval: 10m\n", "v2.0.0", false),
    ] {
        let repo = Repo::seed(&registry.host());
        edit_policies(&repo, "  policy:\n", &format!("{policy}  policy:\n"));
        std::fs::write(repo.path().join("apps/foundry-gpu-oras/pinned.yaml"), pinned(tag)).unwrap();
        commit_all(&repo);
        let out = repo.run(&["apply"]);
        assert_eq!(out.status.code(), Some(0), "{policy}{tag}: {}", text(&out.stderr));
        let now = repo.read("apps/foundry-gpu-oras/pinned.yaml");
        assert!(now.contains(&format!("{image}:v2.0.0@sha256:")), "{policy}{tag}: {now}");
        assert_eq!(now.contains(&stale), keeps, "{policy}{tag}: {now}");
    }
    // Never: no digest, as before.
    let repo = Repo::seed(&registry.host());
    std::fs::write(repo.path().join("apps/foundry-gpu-oras/pinned.yaml"), pinned("v2.0.0")).unwrap();
    commit_all(&repo);
    assert_eq!(repo.run(&["apply"]).status.code(), Some(0));
    assert!(repo.read("apps/foundry-gpu-oras/pinned.yaml").starts_with(&format!("image: {image}:v2.0.0 #")));
}
