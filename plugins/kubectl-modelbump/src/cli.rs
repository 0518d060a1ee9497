//! Flags and arguments: what the user can ask for, nothing else.
// clap shows these doc comments as --help text, where brackets are
// literal (`host[:port]` in --insecure-registry), not rustdoc links, and a
// URL is text to copy (the forge defaults of --forge-url), not a link.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::bare_urls)]

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gpuops_cli::{OutputArgs, Verbosity};

#[derive(Debug, Parser)]
#[command(
    name = "kubectl modelbump",
    bin_name = "kubectl modelbump",
    version,
    about = "Bump model and image tags in a GitOps repository to the newest tag each policy allows",
    long_about = "Bump model and image tags in a GitOps repository to the newest tag each policy allows.\n\n\
        References are scalars marked with Flux setter comments, # {\"$imagepolicy\": \"NS:POLICY[:tag|:name|:digest]\"} \
        (the whole scalar is replaced), or gpuops markers, # {\"$modelpolicy\": \"NS:POLICY[:tag|:digest]\"} (only the \
        reference inside the scalar is replaced, so oci:// URIs keep their scheme, port and quotes). Policies are the \
        Flux ImagePolicy, ImageRepository and ImageUpdateAutomation objects (image.toolkit.fluxcd.io v1, v1beta2, \
        v1beta1) found under --policies (default: the git top level); every ImageUpdateAutomation is run as Flux runs it.",
    after_help = "Examples:\n  kubectl modelbump scan .\n  kubectl modelbump apply . --dry-run\n  kubectl modelbump diff clusters/prod --policies .\n  kubectl modelbump apply . --commit --push\n  kubectl modelbump tags ghcr.io/acme/models/qwen --semver '>=1.0.0'\n  kubectl modelbump promote --from overlays/dev --to overlays/staging --commit"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub verbosity: Verbosity,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List every reference with its policy, current and newest allowed value.
    Scan(ScanArgs),
    /// Rewrite references to the newest allowed value (surgically, atomically per file).
    Apply(ApplyArgs),
    /// Print the unified diff `apply` would write; exit codes as `kubectl diff` (0 none, 1 changes, 2 error).
    Diff(DiffArgs),
    /// List a repository's tags and show which one a policy picks.
    Tags(TagsArgs),
    /// Copy the references resolved in one directory (environment) into another.
    Promote(PromoteArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, or kubectl for `kubectl modelbump <TAB>`).
    Completion(gpuops_cli::CompletionArgs),
    /// Cobra-style completion candidates, for kubectl_complete-modelbump.
    #[command(name = "__complete", hide = true)]
    Complete(gpuops_cli::CompleteArgs),
}

#[derive(Debug, Clone, Args)]
pub struct RegistryArgs {
    /// Reach this registry (host[:port]) over plain HTTP (loopback hosts always are). Repeatable.
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registries: Vec<String>,
    /// Timeout of each registry request (e.g. 30s, 2m).
    #[arg(long, default_value = "30s", value_parser = gpuops_cli::parse_duration)]
    pub request_timeout: Duration,
    /// Retries of a request that failed with 429, 5xx or a transport error.
    #[arg(long, default_value_t = 3)]
    pub retries: u32,
    /// Registries asked at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Stop (with an error) after this many pages of tags per repository.
    #[arg(long, default_value_t = 100)]
    pub max_tag_pages: usize,
    /// Pin references to the manifest digest (tag@sha256:…), whatever the policy says.
    #[arg(long)]
    pub digest: bool,
    /// Trust the CA certificates in this PEM file for registries' TLS (a registry signed by a private
    /// CA), besides the built-in web PKI roots, the system's CA store, $SSL_CERT_FILE and
    /// $SSL_CERT_DIR. Repeatable; a file may hold several certificates.
    #[arg(long, value_name = "FILE", value_parser = crate::trust::parse_ca_file)]
    pub certificate_authority: Vec<crate::trust::CaFile>,
    /// Connect to ADDRESS when a registry is HOST:PORT, as curl --resolve (a port-forward or tunnel
    /// reached under the registry's own name: its certificate and spec.provider still apply). Repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDRESS", value_parser = crate::trust::parse_resolve)]
    pub resolve: Vec<(String, std::net::SocketAddr)>,
}

impl RegistryArgs {
    pub(crate) fn options(&self) -> gpuops_registry::Options {
        gpuops_registry::Options {
            insecure_registries: self.insecure_registries.clone(),
            timeout: self.request_timeout,
            retries: self.retries,
            max_pages: self.max_tag_pages,
            docker_config_dir: gpuops_registry::docker_config_dir(|k| std::env::var_os(k)),
            trusted_roots: crate::trust::trusted_roots(&self.certificate_authority, |k| std::env::var_os(k)),
            resolve: self.resolve.iter().cloned().collect(),
            ..gpuops_registry::Options::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory (or file) to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where the Flux ImagePolicy/ImageRepository/ImageUpdateAutomation objects are read (default: the
    /// git top level of PATH, else PATH); references are read under PATH only.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// All or nothing: a marker whose ImagePolicy is not in the tree, a policy no tag satisfies or that
    /// Flux would not make ready (access denied), and a file with a marker that cannot be parsed are
    /// errors (default: skipped with a warning, as Flux skips them; the rest proceed, exit 3).
    #[arg(long)]
    pub strict: bool,
    /// Update through spec.suspend: true on the ImageUpdateAutomation, ImagePolicy or ImageRepository
    /// (default: left as they are, as Flux leaves them).
    #[arg(long)]
    pub ignore_suspend: bool,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Args)]
pub struct WriteArgs {
    /// Print the unified diff (with -o json|yaml: the changes) and change nothing; exits 0 either way
    /// (`kubectl modelbump diff` exits 1 when something would change). `server` is refused: there is
    /// no server.
    #[arg(long, value_enum, value_name = "STRATEGY", num_args = 0..=1, require_equals = true,
          default_missing_value = "client", default_value = "none")]
    pub dry_run: DryRun,
    /// Commit the changed files (refuses a tree with uncommitted changes to tracked files).
    #[arg(long)]
    pub commit: bool,
    /// Commit message; {count} and {changes} are replaced.
    #[arg(long, value_name = "TMPL", requires = "commit")]
    pub message: Option<String>,
    /// Create this branch and commit there.
    #[arg(long, value_name = "NAME", requires = "commit")]
    pub branch: Option<String>,
    /// Name the new branch from the changes: a Go template over .Policy, .NewTag and .Changes (each
    /// .File, .Line, .Policy, .OldValue, .NewValue), e.g. 'modelbump/{{ .Policy }}-{{ .NewTag }}'.
    #[arg(long, value_name = "TMPL", requires = "commit", conflicts_with = "branch")]
    pub branch_template: Option<String>,
    /// Open a pull request (GitLab: merge request) for the pushed branch, or update the open one for
    /// the same branch; the token is read from $GITHUB_TOKEN, $GITLAB_TOKEN or $GITEA_TOKEN.
    #[arg(long, value_enum, value_name = "FORGE", requires = "push")]
    pub pull_request: Option<ForgeArg>,
    /// The forge's API base URL (default: https://api.github.com, https://gitlab.com/api/v4; needed
    /// for gitea, e.g. https://gitea.example/api/v1). Plain http only to loopback.
    #[arg(long, value_name = "URL", requires = "pull_request")]
    pub forge_url: Option<String>,
    /// The repository on the forge, OWNER/NAME (GitLab: the project path).
    #[arg(long, value_name = "OWNER/NAME", requires = "pull_request")]
    pub forge_repo: Option<String>,
    /// Pull request title (Go template over the same data as --branch-template).
    #[arg(
        long,
        value_name = "TMPL",
        requires = "pull_request",
        default_value = "modelbump: {{ .Policy }} to {{ .NewTag }}"
    )]
    pub pr_title: String,
    /// Pull request body (Go template over the same data as --branch-template).
    #[arg(
        long,
        value_name = "TMPL",
        requires = "pull_request",
        default_value = "Updated by kubectl modelbump:\n\n{{ range .Changes }}- {{ .File }}:{{ .Line }} {{ .Policy }}: {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}"
    )]
    pub pr_body: String,
    /// Push the commit (to --remote).
    #[arg(long, requires = "commit")]
    pub push: bool,
    /// Remote to push to.
    #[arg(long, default_value = "origin")]
    pub remote: String,
}

/// `--pull-request`: which forge's REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForgeArg {
    Github,
    Gitlab,
    Gitea,
}

impl ForgeArg {
    pub(crate) fn forge(self) -> gpuops_gitops::bump::forge::Forge {
        use gpuops_gitops::bump::forge::Forge;
        match self {
            ForgeArg::Github => Forge::GitHub,
            ForgeArg::Gitlab => Forge::GitLab,
            ForgeArg::Gitea => Forge::Gitea,
        }
    }
}

/// kubectl's `--dry-run[=none|client|server]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DryRun {
    None,
    Client,
    Server,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Directory (or file) to scan and rewrite.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where the Flux ImagePolicy/ImageRepository/ImageUpdateAutomation objects are read (default: the
    /// git top level of PATH, else PATH); references are read under PATH only.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// All or nothing: a marker whose ImagePolicy is not in the tree, a policy no tag satisfies or that
    /// Flux would not make ready (access denied), and a file with a marker that cannot be parsed are
    /// errors (default: skipped with a warning, as Flux skips them; the rest proceed, exit 3).
    #[arg(long)]
    pub strict: bool,
    /// Update through spec.suspend: true on the ImageUpdateAutomation, ImagePolicy or ImageRepository
    /// (default: left as they are, as Flux leaves them).
    #[arg(long)]
    pub ignore_suspend: bool,
    /// Only this ImageUpdateAutomation (NAMESPACE/NAME); default: every one in the tree, each with
    /// its own spec.update.path, policies, commit message, author and push settings, as Flux runs them.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub automation: Option<String>,
    #[command(flatten)]
    pub write: WriteArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Directory (or file) to scan.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Where the Flux ImagePolicy/ImageRepository/ImageUpdateAutomation objects are read (default: the
    /// git top level of PATH, else PATH); references are read under PATH only.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// All or nothing (see `apply --strict`).
    #[arg(long)]
    pub strict: bool,
    /// Update through spec.suspend: true (see `apply --ignore-suspend`).
    #[arg(long)]
    pub ignore_suspend: bool,
    /// Only this ImageUpdateAutomation (NAMESPACE/NAME); default: every one in the tree.
    #[arg(long, value_name = "NAMESPACE/NAME")]
    pub automation: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct TagsArgs {
    /// Repository, e.g. ghcr.io/acme/models/qwen (no tag).
    pub repository: String,
    /// Semver range (Flux / Masterminds syntax), e.g. '>=1.0.0' or '^1.x-0'.
    #[arg(long, group = "policy")]
    pub semver: Option<String>,
    /// Numerical order: asc picks the highest number, desc the lowest.
    #[arg(long, group = "policy", value_name = "asc|desc")]
    pub numerical: Option<String>,
    /// Alphabetical order: asc picks the last string, desc the first.
    #[arg(long, group = "policy", value_name = "asc|desc")]
    pub alphabetical: Option<String>,
    /// Keep only tags matching this regular expression (filterTags.pattern).
    #[arg(long)]
    pub filter: Option<String>,
    /// Compare this expansion of the filter's match ($name, ${name}, $1) instead of the tag.
    #[arg(long, requires = "filter")]
    pub extract: Option<String>,
    /// Where ImageRepository objects are read (default: the git top level of the current directory,
    /// none outside a git repository): one whose spec.image is REPOSITORY gives its spec.provider,
    /// spec.insecure and spec.exclusionList, as scan and apply use them.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// Directory whose references are the source (e.g. overlays/dev).
    #[arg(long)]
    pub from: PathBuf,
    /// Directory whose references are rewritten (e.g. overlays/staging).
    #[arg(long)]
    pub to: PathBuf,
    /// Where the Flux ImagePolicy/ImageRepository objects are (default: the git top level of --to, else .).
    #[arg(long)]
    pub policies: Option<PathBuf>,
    #[command(flatten)]
    pub write: WriteArgs,
}

impl WriteArgs {
    /// What the transaction does after the writes.
    pub(crate) fn commit_options(&self) -> gpuops_gitops::bump::CommitOptions {
        gpuops_gitops::bump::CommitOptions {
            commit: self.commit,
            message: self.message.clone(),
            branch: self.branch.clone(),
            push: self.push,
            remote: self.remote.clone(),
            on_push_branch: None,
        }
    }
}
