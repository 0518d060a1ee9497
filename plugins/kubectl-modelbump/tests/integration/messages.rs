//! Issue 19, deliverable 7: what a person reads — `--help` of every
//! subcommand and every message of a usage error or a bad input — as
//! reviewed snapshots, so a wording change is a reviewed change. Each entry
//! is what ran (and, for inputs, what was wrong with the tree), its exit
//! code and what the plugin printed. Registries are real docker-registry
//! processes (or a fault proxy in front of one) on 127.0.0.1; their ports
//! change per run and are shown as `[REGISTRY]`, `[PROXY]`, `[LOGIN]`.

use std::path::PathBuf;
use std::process::Output;

use gpuops_testkit::{Fault, Proxy, Registry, git, push_model_tags_as};

use crate::util::{Repo, SEED_IMAGE_PATH, seeded_registry, text};

const POLICIES: &str = "infrastructure/image-automation/foundry-gpu-models.yaml";
const AUTOMATION: &str = "infrastructure/image-automation/automation.yaml";

fn snapshots() -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/integration/snapshots")
}

/// An argument as a shell would need it typed.
fn shown(arg: &str) -> String {
    let plain = !arg.is_empty() && arg.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%^".contains(c));
    if plain { arg.to_string() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

fn command_line<S: AsRef<str>>(args: &[S]) -> String {
    let mut line = String::from("kubectl modelbump");
    for arg in args {
        line.push(' ');
        line.push_str(&shown(arg.as_ref()));
    }
    line
}

fn entry(title: &str, out: &Output) -> String {
    gpuops_testkit::snapshot::entry(title, out)
}

#[test]
fn help_of_every_subcommand() {
    // A repository whose registry is never asked: help reads nothing.
    let repo = Repo::seed("127.0.0.1:1");
    let mut all = String::new();
    for args in [
        &["--help"][..],
        &["-h"],
        &["scan", "--help"],
        &["apply", "--help"],
        &["tags", "--help"],
        &["promote", "--help"],
        &["completion", "--help"],
        &["help", "promote"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        assert!(out.stderr.is_empty(), "{args:?}: {}", text(&out.stderr));
        all.push_str(&entry(&command_line(args), &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "modelbump-help", all);
}

/// Mistakes on the command line: exit 2, nothing on stdout, no registry
/// asked (127.0.0.1:1 refuses every connection, and no entry says so).
#[test]
fn usage_errors() {
    let repo = Repo::seed("127.0.0.1:1");
    let mut all = String::new();
    for args in [
        // clap's: unknown names, values its parsers refuse, conflicts,
        // flags that need another, missing arguments.
        &[][..],
        &["bump"],
        &["help", "bump"],
        &["scan", "--no-such-flag"],
        &["scan", ".", "extra"],
        &["scan", "-o", "xml"],
        &["scan", "--strict=yes"],
        &["scan", "--request-timeout", "soon"],
        &["scan", "--concurrency", "0"],
        &["scan", "--retries", "many"],
        &["scan", "--max-tag-pages", "-1"],
        &["-v", "loud", "scan"],
        &["apply", "--message", "bump {count}"],
        &["apply", "--branch", "bump/models"],
        &["apply", "--push"],
        &["tags"],
        &["tags", "127.0.0.1:1/m", "--semver", ">=1.0.0", "--numerical", "asc"],
        &["tags", "127.0.0.1:1/m", "--numerical", "asc", "--alphabetical", "asc"],
        &["tags", "127.0.0.1:1/m", "--extract", "$1"],
        &["promote"],
        &["promote", "--from", "overlays/dev"],
        &["completion"],
        &["completion", "tcsh"],
        // The tool's own: values of `tags` read before any registry is asked.
        &["tags", "127.0.0.1:1/m", "--numerical", "up"],
        &["tags", "127.0.0.1:1/m", "--alphabetical", "sideways"],
        &["tags", "127.0.0.1:1/m", "--semver", "not a range"],
        &["tags", "127.0.0.1:1/m", "--filter", "v(["],
        &["tags", "127.0.0.1:1/acme/qwen:1.0"],
        &["tags", "127.0.0.1:1/Acme/Qwen"],
    ] {
        let out = repo.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out.stderr));
        assert!(out.stdout.is_empty(), "{args:?}: {}", text(&out.stdout));
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("Connection refused"), "{args:?}: a registry was asked: {stderr}");
        all.push_str(&entry(&command_line(args), &out));
    }
    gpuops_testkit::assert_reviewed!(snapshots(), "modelbump-usage-errors", all);
}

fn commit_all(repo: &Repo) {
    git(repo.path(), &["add", "-A"]);
    git(repo.path(), &["commit", "--quiet", "-m", "change"]);
}

/// `repo` with `file` written (and committed).
fn with_file(repo: Repo, file: &str, content: &str) -> Repo {
    let path = repo.path().join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, content).unwrap();
    commit_all(&repo);
    repo
}

/// `repo` with the first `from` of the policy file replaced by `to` (committed).
fn with_policies(repo: Repo, from: &str, to: &str) -> Repo {
    let text = repo.read(POLICIES);
    assert!(text.contains(from), "{from:?} not in {POLICIES}");
    let edited = text.replacen(from, to, 1);
    with_file(repo, POLICIES, &edited)
}

/// An ImageUpdateAutomation `name` in flux-system, updating the whole tree.
fn automation(name: &str) -> String {
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageUpdateAutomation\nmetadata:\n  name: {name}\n  namespace: flux-system\nspec:\n  interval: 30m\n  sourceRef: {{kind: GitRepository, name: flux-system}}\n  update: {{path: ./, strategy: Setters}}\n"
    )
}

/// `text` with `host` (`127.0.0.1:PORT`) shown as `label`; not where it is
/// the start of a longer port.
fn mask(text: &str, host: &str, label: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(host) {
        let after = &rest[at + host.len()..];
        shown.push_str(&rest[..at]);
        shown.push_str(if after.starts_with(|c: char| c.is_ascii_digit()) { host } else { label });
        rest = after;
    }
    shown.push_str(rest);
    shown
}

/// One input error: what was wrong, the tree, the command.
struct Case {
    title: &'static str,
    repo: Repo,
    args: Vec<String>,
}

fn case(title: &'static str, repo: Repo, args: &[&str]) -> Case {
    Case { title, repo, args: args.iter().map(|a| a.to_string()).collect() }
}

/// The seed-000 tree on `host`'s registry, for each case afresh.
struct Seed {
    host: String,
}

impl Seed {
    fn repo(&self) -> Repo {
        Repo::seed(&self.host)
    }

    fn image(&self) -> String {
        format!("{}/{SEED_IMAGE_PATH}", self.host)
    }

    /// A `$imagepolicy` marker on the seed's image naming `policy`.
    fn marker(&self, policy: &str) -> String {
        format!("image: {}:v1.0.0 # {{\"$imagepolicy\": \"{policy}\"}}\n", self.image())
    }
}

/// Paths that are not there, and git states a commit or push cannot use.
fn path_and_git_cases(seed: &Seed) -> Vec<Case> {
    let no_git = seed.repo();
    std::fs::remove_dir_all(no_git.path().join(".git")).unwrap();
    let dirty = seed.repo();
    std::fs::write(dirty.path().join("apps/foundry-gpu-oras/kustomization.yaml"), "# local edit\n").unwrap();
    let detached = seed.repo();
    git(detached.path(), &["checkout", "--quiet", "--detach"]);
    vec![
        case("PATH that does not exist", seed.repo(), &["scan", "no/such/dir"]),
        case("PATH that does not exist", seed.repo(), &["apply", "no/such/dir", "--commit"]),
        case("--from that does not exist", seed.repo(), &["promote", "--from", "overlays/dev", "--to", "apps"]),
        case("--to that does not exist", seed.repo(), &["promote", "--from", "apps", "--to", "overlays/staging"]),
        case(
            "--policies that does not exist",
            seed.repo(),
            &["promote", "--from", "apps", "--to", "apps", "--policies", "no/such/dir"],
        ),
        case("not a git repository", no_git, &["apply", "--commit"]),
        case("uncommitted changes", dirty, &["apply", "--commit"]),
        case("a detached HEAD", detached, &["apply", "--commit", "--push"]),
        case("no remote to push to", seed.repo(), &["apply", "--commit", "--push"]),
        case("an invalid branch name", seed.repo(), &["apply", "--commit", "--branch", "bump..models"]),
    ]
}

/// Flux objects and markers that cannot be read or name what is not there.
fn policy_and_marker_cases(seed: &Seed) -> Vec<Case> {
    let future = "---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {name: future, namespace: flux-system}\nspec:\n  imageRepositoryRef: {name: foundry-gpu-models}\n  policy: {semver: {range: '>=9.0.0'}}\n";
    let broken = format!("{}  bad: [indent\n", seed.marker("flux-system:foundry-gpu-models"));
    let extra = |policy: &str| with_file(seed.repo(), "apps/extra.yaml", &seed.marker(policy));
    vec![
        case(
            "an ImagePolicy whose semver range does not parse",
            with_policies(seed.repo(), "range: \">=1.0.0\"", "range: \"not a range\""),
            &["apply"],
        ),
        case(
            "an ImagePolicy without imageRepositoryRef",
            with_policies(seed.repo(), "  imageRepositoryRef:\n    name: foundry-gpu-models\n", ""),
            &["apply"],
        ),
        case(
            "an ImageRepository with an unsupported provider",
            with_policies(seed.repo(), "  interval: 5s\n", "  interval: 5s\n  provider: oracle\n"),
            &["apply"],
        ),
        case("a marker without a namespace", extra("no-namespace"), &["apply"]),
        case("a marker with an unknown suffix", extra("flux-system:foundry-gpu-models:version"), &["apply"]),
        case("a marker naming an ImagePolicy not in the tree", extra("flux-system:missing"), &["apply"]),
        case("a marker naming an ImagePolicy not in the tree", extra("flux-system:missing"), &["scan"]),
        case(
            "a file with a marker that does not parse",
            with_file(seed.repo(), "apps/broken.yaml", &broken),
            &["apply"],
        ),
        case(
            "a file with a marker that does not parse",
            with_file(seed.repo(), "apps/broken.yaml", &broken),
            &["apply", "--strict"],
        ),
        case(
            "a policy no tag satisfies",
            with_policies(
                with_file(seed.repo(), "apps/next.yaml", &seed.marker("flux-system:future")),
                "range: \">=1.0.0\"\n",
                &format!("range: \">=1.0.0\"\n{future}"),
            ),
            &["apply", "--strict"],
        ),
        case(
            "--automation naming none in the tree",
            with_file(seed.repo(), AUTOMATION, &automation("models")),
            &["apply", "--automation", "flux-system/nope"],
        ),
        case("--automation naming none in the tree", seed.repo(), &["apply", "--automation", "models"]),
    ]
}

/// Promotions that cannot be planned.
fn promote_cases(seed: &Seed) -> Vec<Case> {
    let promote = ["promote", "--from", "overlays/dev", "--to", "overlays/staging"];
    let image = seed.image();
    let pinned = |policy: &str| format!("model:\n  uri: 'oci://{image}:v1.0.0' # {{\"$modelpolicy\": \"{policy}\"}}\n");
    let images = |tag: &str| format!("kind: Kustomization\nimages:\n- name: vllm/vllm-openai\n  {tag}\n");
    let envs = |dev: &str, staging: &str, file: &str| {
        let repo = with_file(seed.repo(), &format!("overlays/dev/{file}"), dev);
        with_file(repo, &format!("overlays/staging/{file}"), staging)
    };
    vec![
        case(
            "promote: the source pins nothing of the image",
            envs("model: {}\n", &pinned("flux-system:foundry-gpu-models"), "model.yaml"),
            &promote,
        ),
        case(
            "promote: a marker naming an ImagePolicy not in the tree",
            envs(&pinned("flux-system:foundry-gpu-models"), &pinned("flux-system:missing"), "model.yaml"),
            &promote,
        ),
        case(
            "promote: an images entry without the key the source sets",
            envs(&images("newTag: v0.10.1"), &images("newName: vllm/vllm-openai"), "kustomization.yaml"),
            &promote,
        ),
    ]
}

/// Registries that refuse (as the tree names them, and as `tags` asks
/// them), and `tags` answers that are no tag.
fn registry_cases(seed: &Seed, login: &str, unavailable: &str) -> Vec<Case> {
    let tags = |title: &'static str, repository: String, extra: &[&str]| {
        let mut args = vec!["tags".to_string(), repository];
        args.extend(extra.iter().map(|a| a.to_string()));
        Case { title, repo: seed.repo(), args }
    };
    vec![
        case("a registry that wants a login", Repo::seed(login), &["apply", "--commit"]),
        case("a registry answering 503", Repo::seed(unavailable), &["apply", "--retries", "0"]),
        case("a registry answering 503", Repo::seed(unavailable), &["scan", "--retries", "0"]),
        case("no registry listening", Repo::seed("127.0.0.1:1"), &["apply", "--retries", "0"]),
        tags("a repository the registry does not know", format!("{}/no/such/repository", seed.host), &[]),
        tags("a registry that wants a login", format!("{login}/{SEED_IMAGE_PATH}"), &[]),
        tags("a registry answering 503", format!("{unavailable}/{SEED_IMAGE_PATH}"), &["--retries", "0"]),
        tags("no registry listening", format!("127.0.0.1:1/{SEED_IMAGE_PATH}"), &["--retries", "0"]),
        tags("no tag satisfies the policy", seed.image(), &["--semver", ">=9.0.0"]),
        tags("a numerical order over tags that are not numbers", seed.image(), &["--numerical", "asc"]),
    ]
}

/// Run one case: its entry, after checking it failed the way a user
/// should see it fail.
fn run_case(Case { title, repo, args }: Case) -> String {
    let out = repo.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let code = out.status.code();
    // Exit 0 only where a warning says what was skipped.
    assert!(
        matches!(code, Some(1..=3)) || (code == Some(0) && text(&out.stderr).starts_with("warning: ")),
        "{title}: {args:?}: {:?} {}",
        out.status,
        text(&out.stderr)
    );
    // The reason is on stderr, or (`scan`) in the row's STATUS column.
    let in_table = args[0] == "scan" && text(&out.stdout).contains("error: ");
    assert!(!out.stderr.is_empty() || in_table, "{title}: {args:?}: the reason is on stderr");
    let is_git = repo.path().join(".git").exists();
    if code == Some(2) && is_git && title != "uncommitted changes" {
        // A refusal leaves the tree clean (the `no remote` case keeps its commit, and says so).
        let status = git(repo.path(), &["status", "--porcelain"]);
        assert!(status.is_empty(), "{title}: {status}");
    }
    // Commit ids change with the clock: shown as [HEAD].
    let mut shown = entry(&format!("{title}: {}", command_line(&args)), &out);
    if is_git {
        let full = git(repo.path(), &["rev-parse", "HEAD"]).trim().to_string();
        shown = shown.replace(&full, "[HEAD]").replace(&full[..7], "[HEAD]");
    }
    shown
}

/// What a user meets with a real tree: paths that are not there, git
/// states a commit cannot use, policies and markers that cannot be read,
/// promotions that cannot be planned, and registries that refuse.
#[test]
fn input_errors() {
    let registry = seeded_registry();
    let seed = Seed { host: registry.host() };
    // A registry that wants a login the user's docker config lacks.
    let login = Registry::start_with_login("ci", "s3cret-pass");
    push_model_tags_as(&format!("{}/{SEED_IMAGE_PATH}", login.host()), "ci", "s3cret-pass", &["v1.0.0"]);
    // A registry answering 503 to everything.
    let unavailable = Proxy::start(registry.port(), Fault::AlwaysUnavailable);

    let cases = path_and_git_cases(&seed)
        .into_iter()
        .chain(policy_and_marker_cases(&seed))
        .chain(promote_cases(&seed))
        .chain(registry_cases(&seed, &login.host(), &unavailable.host()));
    let all: String = cases.map(run_case).collect();
    let all = mask(&all, &login.host(), "[LOGIN]");
    let all = mask(&mask(&all, &unavailable.host(), "[PROXY]"), &seed.host, "[REGISTRY]");
    assert!(!all.contains("s3cret"), "a credential reached a message");
    gpuops_testkit::assert_reviewed!(snapshots(), "modelbump-input-errors", all);
}
