//! Rows of argo-cd's own tests, ported: util/glob/glob_test.go
//! (`Test_Match`) and reposerver/repository/repository_test.go
//! (`TestFindResources`, `TestFindManifests_Exclude*`,
//! `Test_getPotentiallyValidManifests`, `Test_findManifests`), with
//! argo-cd's testdata written into a temporary repository.

use super::*;

fn glob(pattern: &str) -> Glob {
    Glob::new(pattern, "directory-include").unwrap()
}

/// util/glob/glob_test.go `Test_Match`: every row but "Invalid pattern",
/// which matches nothing there (a log line) and is an error here.
#[test]
fn argo_cd_glob_match_rows() {
    for (name, input, pattern, result) in [
        ("Exact match", "hello", "hello", true),
        ("Non-match exact", "hello", "hell", false),
        ("Long glob match", "hello", "hell*", true),
        ("Short glob match", "hello", "h*", true),
        ("Glob non-match", "hello", "e*", false),
    ] {
        assert_eq!(glob(pattern).matches(input), result, "{name}");
    }
    assert!(Glob::new("e[[a*", "directory-include").is_err(), "Invalid pattern");
    // Without separators `*` crosses `/`; alternatives, classes, escapes.
    assert!(glob("*.yaml").matches("subdir/deploymentSub.yaml"));
    assert!(!glob("**/*.yaml").matches("deployment.yaml"));
    assert!(glob("{*.yaml.sealed,*.yaml}").matches("a.yaml.sealed"));
    assert!(glob("[!b]?.json").matches("ab.json") && !glob("[!b]?.json").matches("bb.json"));
    assert!(glob(r"a\*.yaml").matches("a*.yaml") && !glob(r"a\*.yaml").matches("ab.yaml"));
}

struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl Tree {
    fn new(files: &[(&str, &str)]) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        for (path, content) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, content).unwrap();
        }
        Tree { _dir: dir, root }
    }

    fn link(&self, at: &str, to: &str) {
        std::os::unix::fs::symlink(to, self.root.join(at)).unwrap();
    }

    /// findManifests(app, repoRoot = the tree): the objects' names, or the error.
    fn find(&self, app: &str, options: &Options) -> Result<Vec<String>, String> {
        let dir = self.root.join(app);
        let repo = Repo::at(&self.root);
        let mut names = Vec::new();
        for file in files(&dir, &repo, options).map_err(|e| e.to_string())? {
            let rel = file.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&file).unwrap();
            for (_, value) in objects(&rel, &text).map_err(|e| e.to_string())?.unwrap_or_default() {
                names.push(value.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string());
            }
        }
        Ok(names)
    }
}

const INCLUDE_EXCLUDE: &[(&str, &str)] = &[
    ("deployment.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx-deployment\n"),
    ("subdir/deploymentSub.yaml", "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx-deployment-sub\n"),
];

/// repository_test.go `TestFindResources` (every row), with
/// `TestFindManifests_Exclude` and `TestFindManifests_Exclude_NothingMatches`.
#[test]
fn argo_cd_find_resources_rows() {
    let tree = Tree::new(INCLUDE_EXCLUDE);
    let opts = |include: &str, exclude: &str| Options {
        recurse: true,
        include: (!include.is_empty()).then(|| include.to_string()),
        exclude: (!exclude.is_empty()).then(|| exclude.to_string()),
    };
    for (name, include, exclude, expected) in [
        ("Include One Match", "subdir/deploymentSub.yaml", "", &["nginx-deployment-sub"][..]),
        ("Include Everything", "*.yaml", "", &["nginx-deployment", "nginx-deployment-sub"]),
        ("Include Subdirectory", "**/*.yaml", "", &["nginx-deployment-sub"]),
        ("Include No Matches", "nothing.yaml", "", &[]),
        ("Exclude - One Match", "", "subdir/deploymentSub.yaml", &["nginx-deployment"]),
        ("Exclude - Everything", "", "*.yaml", &[]),
        ("TestFindManifests_Exclude_NothingMatches", "", "nothing.yaml", &["nginx-deployment", "nginx-deployment-sub"]),
    ] {
        assert_eq!(tree.find(".", &opts(include, exclude)).unwrap(), expected, "{name}");
    }
}

/// repository_test.go `Test_findManifests` / `Test_getPotentiallyValidManifests`
/// rows on argo-cd's testdata (recurse, non-manifest-file, irrelevant-yaml,
/// partially-valid-yaml, invalid-manifests, invalid-manifests-skipped,
/// json-list, invalid-json).
#[test]
fn argo_cd_find_manifests_rows() {
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ template \"stuff.fullname\" . }}-init\ndata:\n  {{- $files := .Files }}\n    {{ . }}: |-\n";
    let tree = Tree::new(&[
        (
            "recurse/baz.yaml",
            "apiVersion: v1\nkind: ConfigMapList\nitems:\n---\napiVersion: v1\nkind: ServiceAccount\n",
        ),
        (
            "recurse/foo/bar.yaml",
            "apiVersion: v1\nkind: ConfigMapList\nitems:\n---\napiVersion: v1\nkind: ServiceAccount\n",
        ),
        ("non-manifest-file/not-json-or-yaml", "apiVersion: v1\nkind: ConfigMap\n"),
        ("irrelevant-yaml/irrelevant.yaml", "some: [irrelevant, yaml]\n"),
        ("irrelevant-yaml/relevant.yaml", "apiVersion: v1\nkind: ConfigMap\n"),
        ("partially-valid-yaml/partially-valid.yaml", "apiVersion: v1\nkind: ConfigMap\n---\ninvalid:\n"),
        ("invalid-manifests/bad.yaml", bad),
        ("invalid-manifests-skipped/bad.yaml", &format!("# +argocd:skip-file-rendering\n{bad}")),
        (
            "json-list/list.json",
            "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}\n{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\"}\n",
        ),
        ("invalid-json/invalid.json", "[\n"),
    ]);
    let flat = Options::default();
    let recurse = Options { recurse: true, ..Options::default() };
    let count = |app: &str, o: &Options| tree.find(app, o).map(|n| n.len());
    assert_eq!(count("recurse", &flat), Ok(2), "no recursion when recursion is disabled");
    assert_eq!(count("recurse", &recurse), Ok(4), "recursion when recursion is enabled");
    assert_eq!(count("non-manifest-file", &flat), Ok(0), "non-JSON/YAML is skipped");
    assert_eq!(count("irrelevant-yaml", &flat), Ok(1), "irrelevant YAML gets skipped, relevant YAML gets parsed");
    assert!(count("partially-valid-yaml", &flat).is_err(), "partially valid YAML file throws an error");
    assert!(count("invalid-manifests", &flat).is_err(), "invalid manifest throws an error");
    assert_eq!(count("invalid-manifests-skipped", &flat), Ok(0), "'+argocd:skip-file-rendering' doesn't throw");
    assert!(count("json-list", &flat).is_err(), "multiple JSON objects in one file throws an error");
    assert!(count("invalid-json", &flat).is_err(), "invalid JSON throws an error");
}

/// repository_test.go `Test_findManifests` symlink rows: in-bounds-link,
/// link-to-nowhere, out-of-bounds-link, circular-link.
#[test]
fn argo_cd_symlink_rows() {
    let tree = Tree::new(&[("in-bounds-link/cm.yaml", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: sa}\n")]);
    std::fs::create_dir_all(tree.root.join("in-bounds-link/app")).unwrap();
    tree.link("in-bounds-link/app/cm.link.yaml", "../cm.yaml");
    std::fs::create_dir_all(tree.root.join("link-to-nowhere")).unwrap();
    tree.link("link-to-nowhere/nowhere.json", "nowhere");
    std::fs::create_dir_all(tree.root.join("circular-link")).unwrap();
    tree.link("circular-link/a.json", "b.json");
    tree.link("circular-link/b.json", "a.json");
    let flat = Options::default();
    assert_eq!(tree.find("in-bounds-link/app", &flat), Ok(vec!["sa".to_string()]), "symlink to a regular file works");
    assert_eq!(tree.find("link-to-nowhere", &flat), Ok(vec![]), "symlink to nowhere should be ignored");
    assert!(tree.find("circular-link", &flat).is_err(), "circular link should throw an error");
    // out-of-bounds-link: the repository is the app directory itself.
    let inner = Tree::new(&[("app/x.yaml", "apiVersion: v1\nkind: ConfigMap\n")]);
    inner.link("app/out-of-bounds.json", "../../outside.json");
    std::fs::write(inner.root.parent().unwrap().join("outside.json"), "{}").ok();
    let repo = Repo::at(&inner.root.join("app"));
    let err = files(&inner.root.join("app"), &repo, &flat).unwrap_err().to_string();
    assert!(err.contains("illegal filepath in symlink"), "out-of-bounds symlink should throw an error: {err}");
    // A symlinked directory is never walked into (filepath.Walk uses Lstat).
    let dirs = Tree::new(&[("real/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")]);
    dirs.link("linked", "real");
    assert_eq!(dirs.find(".", &Options { recurse: true, ..flat }), Ok(vec!["a".to_string()]));
}
