//! Issue 22, deliverable 9 (flags half): extra kustomize flags come from
//! the sidecar's own environment only. The cmp-server runs the command
//! with its own environment plus the Application's `plugin.env`, each
//! name prefixed `ARGOCD_ENV_` (argo-cd reposerver/repository/repository.go
//! `getPluginEnvs` / `getPluginParamEnvs`; cmpserver/plugin/plugin.go
//! `generateManifest`: `append(os.Environ(), environ(envEntries)...)`).

use crate::harness::{Plugin, Profile, Source, Workspace, text};

fn app(ws: &Workspace) -> Source {
    // A resource file above the kustomization root: kustomize's default
    // load restrictor (LoadRestrictionsRootOnly) refuses it.
    ws.write("apps/shared/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared}\n");
    ws.write("apps/flags/kustomization.yaml", "resources:\n- ../shared/cm.yaml\n");
    Source::at("apps/flags")
}

#[test]
fn kustomize_flags_come_from_the_sidecar_only() {
    let ws = Workspace::new();
    let source = app(&ws);
    let out = ws.generate(&source);
    assert_eq!(out.status.code(), Some(1), "the default restrictor refuses the file");
    let generate = Plugin::load().generate;
    let out = ws
        .command(&generate, &source, Profile::Generate)
        .env("GPUOPS_KUSTOMIZE_FLAGS", "--load-restrictor=LoadRestrictionsNone")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("name: shared"));
    // The same from the Application's plugin.env is refused, naming it.
    let mut from_app = source.clone();
    from_app.env.insert("GPUOPS_KUSTOMIZE_FLAGS".into(), "--load-restrictor=LoadRestrictionsNone".into());
    let out = ws.generate(&from_app);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("GPUOPS_KUSTOMIZE_FLAGS"), "{}", text(&out.stderr));
    // --enable-exec is refused with the reason.
    let out = ws
        .command(&generate, &source, Profile::Generate)
        .env("GPUOPS_KUSTOMIZE_FLAGS", "--enable-exec")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("setting GPUOPS_KUSTOMIZE_FLAGS: --enable-exec is not supported"),
        "{}",
        text(&out.stderr)
    );
}
