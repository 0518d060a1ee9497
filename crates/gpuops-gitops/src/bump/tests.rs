//! The transaction with fakes for the tag source and git: plan, ties,
//! all-or-nothing writes, rollback on a failed commit, a failed push,
//! Ctrl-C.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::*;
use crate::policy::Verdict;
use crate::scope::Scope;
use crate::{Field, MarkerKind, Scan};

const POLICIES: &str = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {name: r, namespace: flux-system}\nspec: {image: reg.example/m}\n---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: p, namespace: flux-system}\nspec: {imageRepositoryRef: {name: r}, policy: {semver: {range: '>=1.0.0'}}}\n";
const A: &str = "image: reg.example/m:v1.0.0 # {\"$imagepolicy\": \"flux-system:p\"}\n";
const B: &str = "spec:\n  tag: v1.0.0 # {\"$imagepolicy\": \"flux-system:p:tag\"}\n";

/// Tags per image, in the registry's listing order.
struct FakeTags(BTreeMap<String, Vec<String>>);

impl FakeTags {
    fn new(image: &str, tags: &[&str]) -> Self {
        Self(BTreeMap::from([(image.to_string(), tags.iter().map(|t| (*t).to_string()).collect())]))
    }
}

#[derive(Debug, thiserror::Error)]
#[error("no such repository {0}")]
struct NoRepo(String);

impl TagSource for FakeTags {
    fn list_tags(&self, image: &str) -> Result<Vec<String>, TagSourceError> {
        self.0.get(image).cloned().ok_or_else(|| TagSourceError::new(NoRepo(image.into())))
    }
    fn digest(&self, _: &str, tag: &str) -> Result<String, TagSourceError> {
        Ok(format!("sha256:{}", tag.len().to_string().repeat(64)))
    }
}

/// git as a script: what it answers, what it was asked.
struct FakeGit {
    root: PathBuf,
    dirty: Vec<String>,
    branch: Option<String>,
    commit_fails: bool,
    push_fails: bool,
    signs: bool,
    /// The files' contents when `commit` was called.
    committed: RefCell<Vec<String>>,
    calls: RefCell<Vec<String>>,
}

impl FakeGit {
    fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            dirty: Vec::new(),
            branch: Some("main".into()),
            commit_fails: false,
            push_fails: false,
            signs: false,
            committed: RefCell::new(Vec::new()),
            calls: RefCell::new(Vec::new()),
        }
    }

    fn failed(what: &str) -> GitError {
        GitError::Failed { command: what.into(), stderr: "refused by the fake".into() }
    }
}

impl Git for FakeGit {
    fn toplevel(&self, _: &Path) -> Result<PathBuf, GitError> {
        Ok(self.root.clone())
    }
    fn dirty_files(&self, _: &Path) -> Result<Vec<String>, GitError> {
        Ok(self.dirty.clone())
    }
    fn current_branch(&self, _: &Path) -> Option<String> {
        self.branch.clone()
    }
    fn create_branch(&self, _: &Path, name: &str) -> Result<(), GitError> {
        self.calls.borrow_mut().push(format!("branch {name}"));
        Ok(())
    }
    fn commit(&self, _: &Path, files: &[PathBuf], message: &str, _: Option<&Author>) -> Result<String, GitError> {
        self.calls.borrow_mut().push(format!("commit {} file(s): {message}", files.len()));
        self.committed.borrow_mut().extend(files.iter().map(|f| std::fs::read_to_string(f).unwrap()));
        if self.commit_fails { Err(Self::failed("commit")) } else { Ok("abc1234".into()) }
    }
    fn push(&self, _: &Path, spec: &PushSpec) -> Result<(), GitError> {
        let force = if spec.force { " --force" } else { "" };
        let options: String = spec.options.iter().map(|o| format!(" -o {o}")).collect();
        self.calls.borrow_mut().push(format!("push{force}{options} {} {}", spec.remote, spec.refspec));
        if self.push_fails { Err(Self::failed("push")) } else { Ok(()) }
    }
    fn switch_new(&self, _: &Path, name: &str) -> Result<(), GitError> {
        self.calls.borrow_mut().push(format!("switch -C {name}"));
        Ok(())
    }
    fn switch_back(&self, _: &Path, to: &Checkout) -> Result<(), GitError> {
        self.calls.borrow_mut().push(format!("switch back {to:?}"));
        Ok(())
    }
    fn head(&self, _: &Path) -> Result<String, GitError> {
        Ok("0123456789abcdef".into())
    }
    fn signs_commits(&self, _: &Path) -> bool {
        self.signs
    }
}

/// A GitOps tree: the policies and two files with a marker each.
struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        for (name, text) in [("policies.yaml", POLICIES), ("a.yaml", A), ("b.yaml", B)] {
            std::fs::write(dir.path().join(name), text).unwrap();
        }
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path().join(name)).unwrap()
    }

    fn scan(&self) -> Scan {
        crate::scan_tree(self.path()).unwrap()
    }

    /// The plan against `tags`, as `apply` makes it.
    fn plan(&self, tags: &FakeTags, strict: bool) -> Plan {
        let scan = self.scan();
        let resolutions = Lookups::new(&scan, Scope::default(), &scan.references, false).resolve(tags, 2);
        let mut items = plan::plan_references(&scan.references, plan::from_resolutions(&resolutions, strict));
        items.extend(plan::problem_items(&scan, strict));
        Plan { items }
    }

    fn prepared(&self) -> Prepared {
        let tags = FakeTags::new("reg.example/m", &["v1.0.0", "v2.0.0", "v2.1.0-rc.1"]);
        prepare(self.path(), &self.plan(&tags, false)).unwrap()
    }

    fn untouched(&self) -> bool {
        self.read("a.yaml") == A && self.read("b.yaml") == B
    }
}

fn commit_options(push: bool) -> CommitOptions {
    CommitOptions { commit: true, push, remote: "origin".into(), ..CommitOptions::default() }
}

fn never() -> bool {
    false
}

/// Steps as the plugin would print them.
fn recorder(steps: &RefCell<Vec<String>>) -> impl FnMut(Step<'_>) + '_ {
    move |step| {
        steps.borrow_mut().push(match step {
            Step::Written { changes } => format!("written {}", changes.len()),
            Step::Committed { sha, .. } => format!("committed {sha}"),
            Step::Pushed { remote } => format!("pushed {remote}"),
        });
    }
}

#[test]
fn the_plan_names_each_setter_and_its_edit() {
    let tree = Tree::new();
    let plan = tree.prepared();
    let labels: Vec<String> = plan.changes().iter().map(Change::summary).collect();
    assert_eq!(
        labels,
        [
            "a.yaml:1 flux-system/p: reg.example/m:v1.0.0 -> reg.example/m:v2.0.0",
            "b.yaml:2 flux-system/p: v1.0.0 -> v2.0.0"
        ]
    );
    let setters: Vec<String> = plan
        .changes()
        .iter()
        .map(|c| match &c.subject {
            Subject::Marker { kind: MarkerKind::Flux, setter } => setter.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(setters, ["flux-system:p", "flux-system:p:tag"]);
    assert_eq!(plan.files().len(), 2);
    assert_eq!(plan.files()[1].after, B.replace("v1.0.0", "v2.0.0"));
    assert!(plan.diff().contains("+  tag: v2.0.0"), "{}", plan.diff());
}

#[test]
fn what_flux_skips_is_skipped_and_strict_makes_it_fail() {
    let tree = Tree::new();
    std::fs::write(tree.path().join("c.yaml"), "x: y:1 # {\"$imagepolicy\": \"flux-system:missing\"}\n").unwrap();
    // No tag satisfies >=1.0.0: Flux isolates the policy (partial).
    let old = FakeTags::new("reg.example/m", &["v0.1.0"]);
    let plan = tree.plan(&old, false);
    let reasons: Vec<Option<SkipReason>> = plan
        .items
        .iter()
        .map(|i| match &i.decision {
            Decision::Skipped(s) => Some(s.reason),
            _ => None,
        })
        .collect();
    assert_eq!(reasons, [Some(SkipReason::Isolated), Some(SkipReason::Isolated), Some(SkipReason::Missing)]);
    assert!(plan.is_partial() && !plan.has_failures());
    let strict = tree.plan(&old, true);
    assert!(strict.items.iter().all(|i| matches!(i.decision, Decision::Failed(_))));
    let err = prepare(tree.path(), &strict).unwrap_err();
    assert!(matches!(&err, BumpError::ReferencesFailed(f) if f.len() == 3), "{err}");
}

/// `tags` and `apply` choose the same tag on a tie, and it is Flux's:
/// semver.go keeps the first of equal precedence in listing order,
/// numerical.go the last of equal numbers. `tags` used to sort the listing
/// first and so showed `1.0.0` as latest where `apply` wrote `v1.0.0`.
#[test]
fn tags_and_apply_choose_the_same_tag_on_a_tie() {
    let tree = Tree::new();
    let policy = crate::policy::Policy::semver(">=1.0.0").unwrap();
    for (listed, flux) in [(["v1.0.0", "1.0.0"], "v1.0.0"), (["1.0.0", "v1.0.0"], "1.0.0")] {
        let tags = FakeTags::new("reg.example/m", &listed);
        // What `tags` shows.
        let choice = choose(&policy, tags.list_tags("reg.example/m").unwrap()).unwrap();
        assert_eq!(choice.latest(), Some(flux), "{listed:?}");
        let shown: Vec<(&str, &Verdict)> = choice.sorted();
        assert_eq!(shown.iter().find(|(_, v)| **v == Verdict::Latest).map(|(t, _)| *t), Some(flux));
        // What `apply` writes.
        let plan = tree.plan(&tags, true);
        assert_eq!(plan.items[1].new_value(), Some(flux), "{listed:?}");
    }
    let mut numerical = policy;
    numerical.rule = crate::policy::Rule::Numerical(crate::policy::Order::Asc);
    let choice = choose(&numerical, ["1.0", "1", "0.5"].map(String::from).to_vec()).unwrap();
    assert_eq!(choice.latest(), Some("1"), "numerical.go: the last of equal numbers");
}

#[test]
fn a_file_that_fails_verification_leaves_every_file_as_it_was() {
    let tree = Tree::new();
    let mut plan = tree.plan(&FakeTags::new("reg.example/m", &["v2.0.0"]), false);
    // b.yaml's edit would add a key: verification refuses it.
    if let Decision::Update { edit, .. } = &mut plan.items[1].decision {
        edit.replacement = "v2.0.0\n  extra: 1".into();
    }
    let err = prepare(tree.path(), &plan).unwrap_err();
    assert!(matches!(err, BumpError::Edit(_)), "{err}");
    assert!(tree.untouched());
}

#[test]
fn a_write_that_fails_puts_back_the_files_already_written() {
    let tree = Tree::new();
    let transaction = tree.prepared().begin(&FakeGit::new(tree.path()), &CommitOptions::default(), None).unwrap();
    // b.yaml becomes a directory after the checks: the rename over it fails.
    std::fs::remove_file(tree.path().join("b.yaml")).unwrap();
    std::fs::create_dir_all(tree.path().join("b.yaml/inside")).unwrap();
    let steps = RefCell::new(Vec::new());
    let err = transaction.run(&FakeGit::new(tree.path()), &never, &mut recorder(&steps)).unwrap_err();
    assert!(matches!(err, BumpError::Edit(_)), "{err}");
    assert_eq!(tree.read("a.yaml"), A, "a.yaml was written, then put back");
    assert!(steps.borrow().is_empty());
}

#[test]
fn a_failed_commit_puts_every_file_back() {
    let tree = Tree::new();
    let git = FakeGit { commit_fails: true, ..FakeGit::new(tree.path()) };
    let steps = RefCell::new(Vec::new());
    let err =
        tree.prepared().begin(&git, &commit_options(true), None).unwrap().run(&git, &never, &mut recorder(&steps));
    let err = err.unwrap_err();
    assert!(matches!(err, BumpError::CommitFailed { files: 2, .. }), "{err}");
    assert!(err.to_string().starts_with("the commit failed, so the 2 file(s) written were put back"), "{err}");
    assert!(tree.untouched());
    assert_eq!(git.committed.borrow().len(), 2, "the files were written when git was asked to commit");
    assert!(git.calls.borrow().iter().all(|c| !c.starts_with("push")), "no push after a failed commit");
    assert_eq!(*steps.borrow(), ["written 2"]);
}

/// A push that fails keeps the commit (and so the files): the remote can
/// be pushed to later; the message says so.
#[test]
fn a_failed_push_keeps_the_commit() {
    let tree = Tree::new();
    let git = FakeGit { push_fails: true, ..FakeGit::new(tree.path()) };
    let steps = RefCell::new(Vec::new());
    let err =
        tree.prepared().begin(&git, &commit_options(true), None).unwrap().run(&git, &never, &mut recorder(&steps));
    let err = err.unwrap_err();
    assert!(matches!(&err, BumpError::PushFailed { sha, .. } if sha == "abc1234"), "{err}");
    assert!(err.to_string().contains("the commit stays"), "{err}");
    assert_eq!(tree.read("b.yaml"), B.replace("v1.0.0", "v2.0.0"));
    assert_eq!(*steps.borrow(), ["written 2", "committed abc1234"]);
}

#[test]
fn ctrl_c_during_the_writes_puts_every_file_back() {
    let tree = Tree::new();
    let git = FakeGit::new(tree.path());
    // Ctrl-C arrives while the first file is being written.
    let checks = Cell::new(0);
    let pressed = || {
        checks.set(checks.get() + 1);
        true
    };
    let transaction = tree.prepared().begin(&git, &commit_options(false), None).unwrap();
    let err = transaction.run(&git, &pressed, &mut |_| panic!("nothing to report")).unwrap_err();
    assert!(matches!(err, BumpError::Interrupted(Interruption::NothingWritten)), "{err}");
    assert_eq!(err.to_string(), "interrupted: no file was changed");
    assert_eq!(checks.get(), 1, "stopped after the first file");
    assert!(tree.untouched());
    assert!(git.calls.borrow().is_empty(), "no commit");
}

#[test]
fn ctrl_c_that_kills_the_commit_puts_every_file_back() {
    let tree = Tree::new();
    // The terminal's Ctrl-C reaches git too: it fails, and the flag is set.
    let git = FakeGit { commit_fails: true, ..FakeGit::new(tree.path()) };
    let after_commit = || !git.calls.borrow().is_empty();
    let transaction = tree.prepared().begin(&git, &commit_options(true), None).unwrap();
    let err = transaction.run(&git, &after_commit, &mut |_| {}).unwrap_err();
    assert!(matches!(err, BumpError::Interrupted(Interruption::CommitUndone { files: 2 })), "{err}");
    assert!(tree.untouched());
}

#[test]
fn ctrl_c_after_the_commit_keeps_it_and_does_not_push() {
    let tree = Tree::new();
    let git = FakeGit::new(tree.path());
    let after_commit = || !git.calls.borrow().is_empty();
    let transaction = tree.prepared().begin(&git, &commit_options(true), None).unwrap();
    let err = transaction.run(&git, &after_commit, &mut |_| {}).unwrap_err();
    assert!(matches!(&err, BumpError::Interrupted(Interruption::NotPushed { sha }) if sha == "abc1234"), "{err}");
    assert_eq!(git.calls.borrow().len(), 1, "commit only: {:?}", git.calls.borrow());
}

#[test]
fn refusals_come_before_any_write() {
    let tree = Tree::new();
    let dirty = FakeGit { dirty: vec!["other.yaml".into()], ..FakeGit::new(tree.path()) };
    let err = tree.prepared().begin(&dirty, &commit_options(false), None).unwrap_err();
    assert!(matches!(err, BumpError::Dirty(_)), "{err}");
    let detached = FakeGit { branch: None, ..FakeGit::new(tree.path()) };
    let err = tree.prepared().begin(&detached, &commit_options(true), None).unwrap_err();
    assert!(matches!(err, BumpError::DetachedHead), "{err}");
    // A symlink out of the tree is not written through.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("b.yaml"), B).unwrap();
    let prepared = tree.prepared();
    std::fs::remove_file(tree.path().join("b.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("b.yaml"), tree.path().join("b.yaml")).unwrap();
    let err = prepared.begin(&FakeGit::new(tree.path()), &CommitOptions::default(), None).unwrap_err();
    assert!(matches!(err, BumpError::Unwritable { .. }), "{err}");
    assert_eq!(tree.read("a.yaml"), A);
    assert_eq!(std::fs::read_to_string(outside.path().join("b.yaml")).unwrap(), B);
    assert!(dirty.calls.borrow().is_empty() && detached.calls.borrow().is_empty());
}

/// The automation's template gets Flux's `Change.Setter` from the typed
/// setter (`flux-system:p:tag`), and its author and push branch apply.
#[test]
fn an_automation_writes_flux_s_message_and_pushes_its_branch() {
    let tree = Tree::new();
    let automation = "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata: {name: u, namespace: flux-system}\nspec:\n  git:\n    commit:\n      author: {name: bot, email: bot@example.com}\n      messageTemplate: '{{range .Changed.Changes}}{{.Setter}} {{.OldValue}}->{{.NewValue}};{{end}}'\n    push: {branch: bumps}\n";
    let mut scan = Scan::default();
    crate::scan_text(&mut scan, "automation.yaml", automation);
    let a = automation::choose(&scan, None).unwrap();
    let git = FakeGit::new(tree.path());
    let steps = RefCell::new(Vec::new());
    tree.prepared().begin(&git, &commit_options(true), a).unwrap().run(&git, &never, &mut recorder(&steps)).unwrap();
    assert_eq!(
        *git.calls.borrow(),
        [
            "switch -C bumps",
            "commit 2 file(s): flux-system:p reg.example/m:v1.0.0->reg.example/m:v2.0.0;flux-system:p:tag v1.0.0->v2.0.0;",
            "push --force origin HEAD:refs/heads/bumps",
            "switch back Branch(\"main\")"
        ]
    );
    assert_eq!(*steps.borrow(), ["written 2", "committed abc1234", "pushed origin"]);
}

/// image-automation-controller: the push branch pushed with force only when
/// it differs from the checkout branch (controller `reconcile`:
/// GitForcePushBranch && SwitchBranch), then `push.refspec` without force
/// (source.go `buildRefspecPushConfig`), both with `push.options`
/// (`WithPushConfigOptions`). Rows of internal/source/source_test.go
/// `TestSourceManager_CommitAndPush`: "push to cloned branch+refspec" (checkout main,
/// push main, refspec refs/heads/main:refs/heads/smth/else), "push to
/// different branch+refspec" (checkout main, push auto, refspec
/// refs/heads/auto:refs/heads/smth/else), "push to branch from tag" (a tag
/// checked out — a detached HEAD — pushing to a named branch; it was
/// refused here). The options are ours (the upstream rows set none).
#[test]
fn push_refspec_options_and_force_as_flux() {
    let automation = |branch: &str| {
        format!(
            "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata: {{name: u, namespace: flux-system}}\nspec:\n  git:\n    push:\n      branch: {branch}\n      refspec: refs/heads/{branch}:refs/heads/smth/else\n      options: {{ci.skip: '', merge_request.create: 'true'}}\n"
        )
    };
    for (checkout, branch, switched) in
        [(Some("main"), "main", false), (Some("main"), "auto", true), (None, "auto", true)]
    {
        let tree = Tree::new();
        let mut scan = Scan::default();
        crate::scan_text(&mut scan, "automation.yaml", &automation(branch));
        let a = automation::choose(&scan, None).unwrap();
        let mut git = FakeGit::new(tree.path());
        git.branch = checkout.map(str::to_string);
        let steps = RefCell::new(Vec::new());
        tree.prepared()
            .begin(&git, &commit_options(true), a)
            .unwrap()
            .run(&git, &never, &mut recorder(&steps))
            .unwrap();
        let calls = git.calls.borrow();
        let force = if switched { " --force" } else { "" };
        let pushes: Vec<&String> = calls.iter().filter(|c| c.starts_with("push")).collect();
        assert_eq!(
            pushes,
            [
                &format!("push{force} -o ci.skip -o merge_request.create=true origin HEAD:refs/heads/{branch}"),
                &format!(
                    "push -o ci.skip -o merge_request.create=true origin refs/heads/{branch}:refs/heads/smth/else"
                ),
            ],
            "{checkout:?} -> {branch}"
        );
        assert_eq!(calls.first().is_some_and(|c| c.starts_with("switch -C")), switched, "{calls:?}");
    }
}

/// spec.git.commit.signingKey: Flux signs with the key of a cluster
/// Secret; without git's own signing configured the commit is refused,
/// never made unsigned.
#[test]
fn a_signing_key_without_git_signing_is_refused() {
    let tree = Tree::new();
    let text = "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata: {name: u, namespace: flux-system}\nspec:\n  git:\n    commit:\n      signingKey: {secretRef: {name: signing-key}}\n";
    let mut scan = Scan::default();
    crate::scan_text(&mut scan, "automation.yaml", text);
    let a = automation::choose(&scan, None).unwrap();
    let err = tree.prepared().begin(&FakeGit::new(tree.path()), &commit_options(true), a).unwrap_err();
    assert!(err.to_string().contains("spec.git.commit.signingKey.secretRef: signing-key"), "{err}");
    assert!(err.to_string().contains("refusing to commit unsigned"), "{err}");
    assert!(tree.untouched());
    let mut signing = FakeGit::new(tree.path());
    signing.signs = true;
    assert!(tree.prepared().begin(&signing, &commit_options(true), a).is_ok());
}

#[test]
fn setters_print_as_flux_writes_them() {
    let setter = |field| Setter { namespace: "ns".into(), policy: "p".into(), field };
    assert_eq!(setter(Field::Ref).to_string(), "ns:p");
    assert_eq!(setter(Field::Digest).to_string(), "ns:p:digest");
    assert_eq!(setter(Field::Name).policy_key().to_string(), "ns/p");
}

/// A template on a field Flux removed gets Flux's own message (source.go
/// `RemovedTemplateFieldError`), decided on the typed error, and nothing
/// is written.
#[test]
fn a_removed_template_field_gets_flux_s_message() {
    let tree = Tree::new();
    for (field, message) in [
        ("{{ .Updated }}", "template uses removed '.Updated' field. Please use '.Changed' instead."),
        ("{{ .Changed.ImageResult }}", "template uses removed '.Changed.ImageResult' field."),
    ] {
        let text = format!(
            "apiVersion: image.toolkit.fluxcd.io/v1beta2\nkind: ImageUpdateAutomation\nmetadata: {{name: u, namespace: flux-system}}\nspec:\n  git:\n    commit:\n      messageTemplate: '{field}'\n"
        );
        let mut scan = Scan::default();
        crate::scan_text(&mut scan, "automation.yaml", &text);
        let a = automation::choose(&scan, None).unwrap();
        let err = tree.prepared().begin(&FakeGit::new(tree.path()), &commit_options(false), a).unwrap_err();
        assert!(matches!(err, BumpError::Automation(AutomationError::Template { .. })), "{err}");
        assert!(err.to_string().contains(message), "{err}");
        assert!(err.to_string().ends_with("; nothing was changed"), "{err}");
    }
    assert!(tree.untouched());
}
