//! `check -f`: manifests read the way kubectl's resource builder reads
//! them, and the checks that keep gpufit from saying "fits" about input it
//! did not understand.
//!
//! kubectl (k8s.io/cli-runtime pkg/resource/builder.go `Path`, visitor.go
//! `ExpandPathsToFileVisitors`, `ignoreFile`, `FileVisitorForSTDIN`):
//! * `-` is stdin;
//! * a path that does not exist is `the path "P" does not exist`;
//! * a file named on the command line is read whatever its extension;
//! * a directory is walked in name order (`filepath.Walk`), its `.json`,
//!   `.yaml` and `.yml` files read (`FileExtensions`), hidden ones too;
//!   subdirectories are skipped unless `-R/--recursive` ("Process the
//!   directory used in -f, --filename recursively", the flag's help in
//!   cli-runtime pkg/genericclioptions/filename_flags.go);
//! * entries are not followed through symbolic links to directories
//!   (`filepath.Walk` uses `Lstat`). One difference, on purpose: a path
//!   given on the command line that is a link to a directory is read as
//!   that directory; kubectl opens it as a file and fails ("is a
//!   directory"), an accident of `Lstat` on the walk's root rather than a
//!   rule (builder_test.go `TestPathBuilderWithMultipleInvalid`, "symlink").

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use gpuops_manifest::input::InputError;
use gpuops_manifest::locator::{self, Replicas};

use crate::Error;

/// kubectl's `resource.FileExtensions`, dots left off.
const EXTENSIONS: [&str; 3] = ["json", "yaml", "yml"];

/// kustomize's kustomization file names (kustomize api/konfig/general.go,
/// `RecognizedKustomizationFileNames`).
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Objects read from one `-f` or `-k` argument, and what was passed over.
pub(crate) struct Source {
    /// The argument as the user typed it (`-` is stdin).
    pub name: String,
    pub objects: Vec<Value>,
    /// Objects read, Lists counted by their items (set once they are
    /// flattened and moved out of `objects`).
    pub read: usize,
    /// Subdirectories left unread because `-R` was not given.
    pub skipped_dirs: usize,
}

impl Source {
    pub(crate) fn new(name: String, objects: Vec<Value>) -> Self {
        Source { name, read: objects.len(), objects, skipped_dirs: 0 }
    }
}

/// Read one `-f` argument.
pub(crate) fn read(path: &Path, recursive: bool) -> Result<Source, Error> {
    let name = path.display().to_string();
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(InputError::Stdin)?;
        let objects = parse(&text, "<stdin>")?;
        return Ok(Source::new("stdin".into(), objects));
    }
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::PathMissing { path: path.into() }),
        Err(source) => return Err(InputError::Read { path: path.into(), source }.into()),
    };
    if !meta.is_dir() {
        if is_kustomization_file(path) {
            let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
            return Err(Error::IsKustomization { dir: dir.into() });
        }
        return Ok(Source::new(name, read_file(path)?));
    }
    let mut files = Vec::new();
    let mut skipped_dirs = 0;
    walk(path, recursive, &mut files, &mut skipped_dirs)?;
    let mut objects = Vec::new();
    for file in files {
        objects.extend(read_file(&file)?);
    }
    Ok(Source { skipped_dirs, ..Source::new(name, objects) })
}

fn is_kustomization_file(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_some_and(|n| KUSTOMIZATION_FILES.contains(&n))
}

/// The manifest files of `dir` in `filepath.Walk`'s order (entries sorted
/// by name, a directory's files before the next sibling), into `files`.
fn walk(dir: &Path, recursive: bool, files: &mut Vec<PathBuf>, skipped_dirs: &mut usize) -> Result<(), Error> {
    let read_error = |source| Error::from(InputError::Read { path: dir.into(), source });
    let mut entries: Vec<_> =
        std::fs::read_dir(dir).map_err(read_error)?.collect::<Result<_, _>>().map_err(read_error)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    // kubectl would read kustomization.yaml as a manifest and fail on its
    // kind; the user meant -k.
    if entries.iter().any(|e| e.file_name().to_str().is_some_and(|n| KUSTOMIZATION_FILES.contains(&n))) {
        return Err(Error::IsKustomization { dir: dir.into() });
    }
    for entry in entries {
        let path = entry.path();
        let kind = entry.file_type().map_err(|source| InputError::Read { path: path.clone(), source })?;
        if kind.is_dir() {
            if recursive {
                walk(&path, recursive, files, skipped_dirs)?;
            } else {
                *skipped_dirs += 1;
            }
        } else if path.extension().and_then(|e| e.to_str()).is_some_and(|e| EXTENSIONS.contains(&e))
            && !(kind.is_symlink() && path.is_dir())
        {
            files.push(path);
        }
    }
    Ok(())
}

fn read_file(path: &Path) -> Result<Vec<Value>, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| InputError::Read { path: path.into(), source })?;
    parse(&text, &path.display().to_string())
}

fn parse(text: &str, source: &str) -> Result<Vec<Value>, Error> {
    let docs = gpuops_manifest::yaml::parse_stream(text, source).map_err(InputError::from)?;
    Ok(docs.into_iter().map(|d| d.value).collect())
}

/// Whether `obj` holds pods gpufit places: a workload kind with a pod
/// site that is not only a template (a ServingRuntime alone places nothing).
pub(crate) fn is_workload(obj: &Value) -> bool {
    locator::is_workload(obj) && locator::pod_sites(obj).iter().any(|s| !matches!(s.replicas, Replicas::Template))
}

/// Objects that deploy workloads through a controller gpufit does not run:
/// `(API group, kind, how to check what it deploys)`.
const UNRENDERED: &[(&str, &str, &str)] = &[
    ("helm.toolkit.fluxcd.io", "HelmRelease", "render its chart with `helm template` and check the output with -f"),
    ("argoproj.io", "Application", "check its source directory with -k or -f"),
    ("argoproj.io", "ApplicationSet", "check each generated Application's source directory with -k or -f"),
    ("kustomize.toolkit.fluxcd.io", "Kustomization", "check its spec.path with -k"),
];

/// One object whose workloads are not checked, and why.
pub(crate) struct Unrendered {
    /// `Kind/namespace/name (group)`, printable.
    pub object: String,
    pub advice: &'static str,
}

impl std::fmt::Display for Unrendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} deploys workloads gpufit cannot render, so they are not checked: {}", self.object, self.advice)
    }
}

/// The objects of `objects` that carry workloads gpufit cannot render.
pub(crate) fn unrendered(objects: &[Value]) -> Vec<Unrendered> {
    objects
        .iter()
        .filter_map(|obj| {
            let (group, kind) = (locator::api_group(obj), locator::kind(obj));
            let (_, _, advice) = UNRENDERED.iter().find(|(g, k, _)| *g == group && *k == kind)?;
            let reference = gpuops_manifest::krm::ResourceRef::of(obj);
            let path = match &reference.namespace {
                Some(ns) => format!("{kind}/{ns}/{}", reference.name),
                None => format!("{kind}/{}", reference.name),
            };
            Some(Unrendered { object: gpuops_manifest::text::printable(&format!("{path} ({group})")), advice })
        })
        .collect()
}

/// The `no workloads found` error for these sources.
pub(crate) fn nothing_found(sources: &[Source], unrendered: &[Unrendered]) -> Error {
    let names: Vec<String> = sources.iter().map(|s| gpuops_manifest::text::printable(&s.name)).collect();
    let mut notes = Vec::new();
    let skipped: usize = sources.iter().map(|s| s.skipped_dirs).sum();
    if skipped > 0 {
        notes.push(format!("{skipped} subdirectory(ies) not read: pass -R to read them, as with kubectl"));
    }
    if !unrendered.is_empty() {
        notes.push(format!("{} object(s) deploy workloads gpufit cannot render (warned above)", unrendered.len()));
    }
    let read: usize = sources.iter().map(|s| s.read).sum();
    if read == 0 && skipped == 0 {
        notes.push("no objects at all".into());
    } else if unrendered.len() < read {
        notes.push(format!("{read} object(s), none a workload gpufit places"));
    }
    Error::NoWorkloadsIn { sources: names.join(", "), notes: notes.join("; ") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().unwrap()).unwrap();
            std::fs::write(file, text).unwrap();
        }
        dir
    }

    const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: NAME}\nspec: {containers: [{name: c, image: i}]}\n";

    fn names(source: &Source) -> Vec<String> {
        source.objects.iter().map(|o| o["metadata"]["name"].as_str().unwrap().to_string()).collect()
    }

    /// kubectl's ExpandPathsToFileVisitors: top level only without -R,
    /// name order, its three extensions, hidden files read.
    #[test]
    fn a_directory_is_read_as_kubectl_reads_it() {
        let dir = tree(&[
            ("b.yaml", &POD.replace("NAME", "b")),
            ("a.json", r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[]}}"#),
            (".hidden.yml", &POD.replace("NAME", "hidden")),
            ("notes.txt", &POD.replace("NAME", "txt")),
            ("sub/c.yaml", &POD.replace("NAME", "c")),
        ]);
        let top = read(dir.path(), false).unwrap();
        assert_eq!(names(&top), ["hidden", "a", "b"]);
        assert_eq!(top.skipped_dirs, 1);
        let all = read(dir.path(), true).unwrap();
        assert_eq!(names(&all), ["hidden", "a", "b", "c"]);
        assert_eq!(all.skipped_dirs, 0);
        // A file named on the command line is read whatever its extension.
        assert_eq!(names(&read(&dir.path().join("notes.txt"), false).unwrap()), ["txt"]);
    }

    /// cli-runtime pkg/resource/builder_test.go, TestPathBuilderWithMultiple:
    /// every row ("pod", "recursive-pod", "rc", "recursive-rc", both
    /// "hardlink"), with the files it creates (and its artifacts' names).
    #[test]
    fn upstream_path_builder_with_multiple() {
        let pod = |id: &str| POD.replace("NAME", &format!("busybox{id}"));
        let rc = |id: &str| {
            format!(
                "apiVersion: v1\nkind: ReplicationController\nmetadata: {{name: busybox{id}}}\nspec: {{replicas: 1}}\n"
            )
        };
        let dir = tree(&[
            ("recursive/pod/busybox.json", &pod("0")),
            ("recursive/pod/pod_1/busybox.json", &pod("1")),
            ("recursive/rc/busybox.json", &rc("0")),
            ("recursive/rc/rc_1/busybox.json", &rc("1")),
            ("inode/hardlink/busybox.json", &pod("0")),
            ("artifacts/pod.yaml", &POD.replace("NAME", "nginx")),
            ("artifacts/redis-master-controller.yaml", &rc("").replace("busybox", "redis-master")),
        ]);
        let root = dir.path();
        std::fs::hard_link(root.join("inode/hardlink/busybox.json"), root.join("inode/hardlink/busybox-link.json"))
            .unwrap();
        for (name, recursive, path, expected) in [
            ("pod", false, "artifacts/pod.yaml", &["nginx"][..]),
            ("recursive-pod", true, "recursive/pod", &["busybox0", "busybox1"]),
            ("rc", false, "artifacts/redis-master-controller.yaml", &["redis-master"]),
            ("recursive-rc", true, "recursive/rc", &["busybox0", "busybox1"]),
            ("hardlink", false, "inode/hardlink/busybox-link.json", &["busybox0"]),
            ("hardlink", true, "inode/hardlink/busybox-link.json", &["busybox0"]),
        ] {
            assert_eq!(names(&read(&root.join(path), recursive).unwrap()), expected, "{name}");
        }
    }

    /// cli-runtime pkg/resource/builder_test.go,
    /// TestPathBuilderWithMultipleInvalid: "loop" (both rows) is an error
    /// here too; "symlink" (a link to a directory, both rows) is answered
    /// differently on purpose: read as the directory (see the module's notes).
    #[test]
    fn upstream_path_builder_with_multiple_invalid() {
        let dir = tree(&[("inode/symlink/pod/busybox.json", &POD.replace("NAME", "busybox0"))]);
        let root = dir.path().join("inode/symlink");
        std::os::unix::fs::symlink(root.join("pod"), root.join("pod-link")).unwrap();
        std::os::unix::fs::symlink(root.join("loop"), root.join("loop")).unwrap();
        for recursive in [false, true] {
            assert!(read(&root.join("loop"), recursive).is_err(), "loop");
            assert_eq!(names(&read(&root.join("pod-link"), recursive).unwrap()), ["busybox0"], "symlink");
        }
    }

    #[test]
    fn kustomizations_and_missing_paths_are_named() {
        let dir = tree(&[("app/kustomization.yaml", "resources: []\n"), ("nested/x/Kustomization", "")]);
        let err = read(&dir.path().join("app"), false).err().unwrap();
        assert!(err.to_string().contains("app is a kustomization; use -k "), "{err}");
        let err = read(&dir.path().join("app/kustomization.yaml"), false).err().unwrap();
        assert!(err.to_string().contains("app is a kustomization; use -k "), "{err}");
        // Only when -R reaches it.
        assert!(read(&dir.path().join("nested"), false).is_ok());
        assert!(read(&dir.path().join("nested"), true).is_err());
        let err = read(&dir.path().join("nope"), false).err().unwrap();
        assert!(err.to_string().starts_with("the path \"") && err.to_string().ends_with("nope\" does not exist"));
    }

    #[test]
    fn unrendered_objects_are_named_with_their_group() {
        let objects = [
            json!({"apiVersion": "helm.toolkit.fluxcd.io/v2", "kind": "HelmRelease", "metadata": {"name": "vllm", "namespace": "llm"}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "app"}}),
            json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet", "metadata": {"name": "set"}}),
            json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "k"}}),
            // kustomize's own Kustomization is not a Flux one.
            json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}),
        ];
        let found: Vec<String> = unrendered(&objects).iter().map(|u| u.object.clone()).collect();
        assert_eq!(
            found,
            [
                "HelmRelease/llm/vllm (helm.toolkit.fluxcd.io)",
                "Application/app (argoproj.io)",
                "ApplicationSet/set (argoproj.io)",
                "Kustomization/k (kustomize.toolkit.fluxcd.io)"
            ]
        );
    }

    #[test]
    fn a_serving_runtime_alone_is_no_workload() {
        assert!(!is_workload(&json!({"apiVersion": "serving.kserve.io/v1alpha1", "kind": "ServingRuntime",
            "spec": {"containers": [{"name": "c"}]}})));
        assert!(is_workload(&json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "spec": {"template": {"spec": {"containers": []}}}})));
        assert!(!is_workload(&json!({"apiVersion": "v1", "kind": "ConfigMap"})));
    }
}
