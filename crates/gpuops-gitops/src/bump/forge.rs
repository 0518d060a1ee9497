//! Beyond Flux: a reviewable change per bump. The branch is named from the
//! changes by a Go template (`--branch-template`), and a pull request (a
//! merge request on GitLab) is opened for it — or the open one for the
//! same branch updated, never duplicated.
//!
//! Pure: the requests are built and the answers read here; the plugin
//! sends them. Wire formats from the forges' REST documentation:
//! GitHub "Pulls" (GET/POST /repos/{owner}/{repo}/pulls, PATCH
//! .../pulls/{number}; `head` as `owner:branch` for the filter), GitLab
//! "Merge requests" (GET/POST /projects/{id}/merge_requests with
//! `source_branch`/`target_branch`/`description`, PUT
//! .../merge_requests/{iid}; the project id the URL-encoded path), Gitea
//! "repository" pulls (GET/POST /repos/{owner}/{repo}/pulls, PATCH
//! .../pulls/{index}; the list filtered by `head.ref` here).

use std::collections::BTreeMap;

use gpuops_manifest::text::printable;
use serde_json::{Value, json};

use super::write::Change;
use crate::template::{self, Data, TemplateError};

/// Which forge's API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    GitHub,
    GitLab,
    Gitea,
}

/// Items asked per page of Gitea's pull request list (its default
/// `MAX_RESPONSE_ITEMS`).
const GITEA_PAGE: u32 = 50;

/// One HTTP request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub method: &'static str,
    /// Relative to the API base URL.
    pub path: String,
    pub body: Option<Value>,
}

/// A pull request's title, body, head and base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequest {
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
}

/// An answer that is not what the forge documents.
#[derive(Debug, thiserror::Error)]
#[error("{forge:?} answered {what} without {field}")]
pub struct ForgeError {
    pub forge: Forge,
    pub what: &'static str,
    pub field: &'static str,
}

/// RFC 3986 unreserved characters kept, everything else %-escaped (GitLab's
/// project path in the URL, branch names in a query).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Forge {
    /// The header that carries the token: GitHub `Authorization: Bearer`,
    /// GitLab `PRIVATE-TOKEN`, Gitea `Authorization: token`.
    pub fn auth_header(self, token: &str) -> (&'static str, String) {
        match self {
            Forge::GitHub => ("Authorization", format!("Bearer {token}")),
            Forge::GitLab => ("PRIVATE-TOKEN", token.to_string()),
            Forge::Gitea => ("Authorization", format!("token {token}")),
        }
    }

    /// The environment variable the plugin reads the token from.
    pub fn token_variable(self) -> &'static str {
        match self {
            Forge::GitHub => "GITHUB_TOKEN",
            Forge::GitLab => "GITLAB_TOKEN",
            Forge::Gitea => "GITEA_TOKEN",
        }
    }

    /// The open pull requests for `head` (GitHub and GitLab filter on the
    /// server; Gitea's list is filtered by [`Forge::find_open`]), page
    /// `page` (from 1) of them: only Gitea's list is paged here. Gitea
    /// pages every list (routers/api/v1/repo/pull.go `ListPullRequests`
    /// takes `page`/`limit` through `utils.GetListOptions`), 30 items by
    /// default and at most `[api] MAX_RESPONSE_ITEMS` (50 unless the admin
    /// changes it, modules/setting/api.go), so the first page alone would
    /// miss the open pull request of a repository with more open ones.
    pub fn list_open(self, repo: &str, head: &str, page: u32) -> Request {
        let owner = repo.split('/').next().unwrap_or("");
        let path = match self {
            Forge::GitHub => format!("/repos/{repo}/pulls?state=open&head={}", encode(&format!("{owner}:{head}"))),
            Forge::GitLab => {
                format!("/projects/{}/merge_requests?state=opened&source_branch={}", encode(repo), encode(head))
            }
            Forge::Gitea => format!("/repos/{repo}/pulls?state=open&limit={GITEA_PAGE}&page={page}"),
        };
        Request { method: "GET", path, body: None }
    }

    /// Whether the list after `list` must be read too: on Gitea while a
    /// page holds anything (a server whose `MAX_RESPONSE_ITEMS` is under
    /// the asked limit answers shorter pages, so a short page is not the
    /// last; past the last page Gitea answers `[]`); never on GitHub and
    /// GitLab, which filter by branch on the server.
    pub fn more_pages(self, list: &Value) -> bool {
        self == Forge::Gitea && list.as_array().is_some_and(|items| !items.is_empty())
    }

    /// The number (GitLab: iid) of the open pull request for `head` in the
    /// list [`Forge::list_open`] got, if any.
    pub fn find_open(self, list: &Value, head: &str) -> Result<Option<u64>, ForgeError> {
        let items = list.as_array().ok_or(ForgeError { forge: self, what: "the list", field: "an array" })?;
        let (number, branch) = match self {
            Forge::GitHub | Forge::Gitea => ("/number", "/head/ref"),
            Forge::GitLab => ("/iid", "/source_branch"),
        };
        for item in items {
            if item.pointer(branch).and_then(Value::as_str) == Some(head) {
                let n = item.pointer(number).and_then(Value::as_u64);
                return n.map(Some).ok_or(ForgeError { forge: self, what: "a pull request", field: "its number" });
            }
        }
        Ok(None)
    }

    /// Open `pr`.
    pub fn create(self, repo: &str, pr: &PullRequest) -> Request {
        match self {
            Forge::GitHub | Forge::Gitea => Request {
                method: "POST",
                path: format!("/repos/{repo}/pulls"),
                body: Some(json!({"title": pr.title, "head": pr.head, "base": pr.base, "body": pr.body})),
            },
            Forge::GitLab => Request {
                method: "POST",
                path: format!("/projects/{}/merge_requests", encode(repo)),
                body: Some(json!({
                    "source_branch": pr.head, "target_branch": pr.base,
                    "title": pr.title, "description": pr.body
                })),
            },
        }
    }

    /// Update the open pull request `number` with `pr`'s title and body.
    pub fn update(self, repo: &str, number: u64, pr: &PullRequest) -> Request {
        match self {
            Forge::GitHub | Forge::Gitea => Request {
                method: "PATCH",
                path: format!("/repos/{repo}/pulls/{number}"),
                body: Some(json!({"title": pr.title, "body": pr.body})),
            },
            Forge::GitLab => Request {
                method: "PUT",
                path: format!("/projects/{}/merge_requests/{number}", encode(repo)),
                body: Some(json!({"title": pr.title, "description": pr.body})),
            },
        }
    }

    /// The web address of a created or updated pull request, if the
    /// answer has one (`html_url`; GitLab `web_url`).
    pub fn web_url(self, answer: &Value) -> Option<String> {
        let field = if self == Forge::GitLab { "/web_url" } else { "/html_url" };
        answer.pointer(field).and_then(Value::as_str).map(printable)
    }
}

/// The data a branch, title or body template sees: `.Changes` (each
/// `.File`, `.Line`, `.Policy`, `.OldValue`, `.NewValue`), and the first
/// change's `.Policy` (the ImagePolicy's name) and `.NewTag`.
pub fn change_data(changes: &[Change]) -> Data {
    let text = |s: &str| Data::str(printable(s));
    let policy_name = |c: &Change| {
        let label = c.subject.label();
        label.rsplit('/').next().unwrap_or("").to_string()
    };
    let list = changes
        .iter()
        .map(|c| Data::Struct {
            fields: BTreeMap::from([
                ("File".into(), text(&c.file)),
                ("Line".into(), Data::Int(i64::try_from(c.line).unwrap_or(i64::MAX))),
                ("Policy".into(), text(&c.subject.label())),
                ("OldValue".into(), text(&c.old)),
                ("NewValue".into(), text(&c.new)),
            ]),
            display: c.summary(),
        })
        .collect();
    let first = changes.first();
    Data::Struct {
        fields: BTreeMap::from([
            ("Changes".into(), Data::List(list)),
            ("Policy".into(), text(&first.map(policy_name).unwrap_or_default())),
            ("NewTag".into(), text(&first.map(|c| tag_of(&c.new)).unwrap_or_default())),
        ]),
        display: String::new(),
    }
}

/// The tag of a new value: `reg/img:v2@sha256:…` → `v2`; a bare tag as is.
fn tag_of(value: &str) -> String {
    let no_digest = value.split('@').next().unwrap_or(value);
    let after_slash = no_digest.rsplit('/').next().unwrap_or(no_digest);
    after_slash.rsplit_once(':').map_or(after_slash, |(_, t)| t).to_string()
}

/// Why a branch name cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum BranchError {
    #[error("--branch-template: {0}")]
    Template(#[from] TemplateError),
    #[error("--branch-template rendered {0:?}, which is empty")]
    Empty(String),
}

/// `--branch-template` rendered over `changes`; characters git refuses in a
/// branch name (space, `~^:?*[\`, control characters) become `-`.
pub fn branch_name(template_text: &str, changes: &[Change]) -> Result<String, BranchError> {
    let rendered = template::render(template_text, &change_data(changes))?;
    let name: String =
        rendered.trim().chars().map(|c| if c.is_control() || " ~^:?*[\\".contains(c) { '-' } else { c }).collect();
    if name.is_empty() {
        return Err(BranchError::Empty(rendered));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bump::plan::{Setter, Subject};
    use crate::{Field, MarkerKind};

    fn change(file: &str, old: &str, new: &str) -> Change {
        Change {
            file: file.into(),
            line: 3,
            subject: Subject::Marker {
                kind: MarkerKind::Flux,
                setter: Setter { namespace: "flux-system".into(), policy: "qwen".into(), field: Field::Tag },
            },
            old: old.into(),
            new: new.into(),
        }
    }

    #[test]
    fn a_branch_is_named_from_the_changes() {
        let changes = [change("a.yaml", "v1", "v2"), change("b.yaml", "reg/m:v1", "reg:5000/m:v2@sha256:ab")];
        assert_eq!(branch_name("modelbump/{{ .Policy }}-{{ .NewTag }}", &changes).unwrap(), "modelbump/qwen-v2");
        assert_eq!(
            branch_name("b/{{ range .Changes }}{{ .NewValue }}{{ end }}", &changes[1..]).unwrap(),
            "b/reg-5000/m-v2@sha256-ab"
        );
        assert_eq!(tag_of("reg:5000/m:v2@sha256:ab"), "v2");
        assert!(matches!(branch_name("{{ \"\" }}", &changes), Err(BranchError::Empty(_))));
    }

    /// The requests each forge documents, and an open pull request for the
    /// same branch found (updated, not duplicated).
    #[test]
    fn requests_follow_each_forge_s_wire_format() {
        let pr = PullRequest { title: "t".into(), body: "b".into(), head: "bump/x".into(), base: "main".into() };
        assert_eq!(
            Forge::GitHub.list_open("acme/gitops", "bump/x", 1).path,
            "/repos/acme/gitops/pulls?state=open&head=acme%3Abump%2Fx"
        );
        assert_eq!(
            Forge::GitLab.list_open("acme/gitops", "bump/x", 1).path,
            "/projects/acme%2Fgitops/merge_requests?state=opened&source_branch=bump%2Fx"
        );
        let gl = Forge::GitLab.create("acme/gitops", &pr);
        assert_eq!(gl.body.unwrap()["source_branch"], "bump/x");
        assert_eq!(Forge::Gitea.update("acme/gitops", 7, &pr).method, "PATCH");
        assert_eq!(Forge::GitLab.update("acme/gitops", 7, &pr).path, "/projects/acme%2Fgitops/merge_requests/7");
        let list = json!([{"number": 4, "head": {"ref": "other"}}, {"number": 9, "head": {"ref": "bump/x"}}]);
        assert_eq!(Forge::Gitea.find_open(&list, "bump/x").unwrap(), Some(9));
        assert_eq!(
            Forge::Gitea.list_open("acme/gitops", "bump/x", 2).path,
            "/repos/acme/gitops/pulls?state=open&limit=50&page=2"
        );
        assert!(Forge::Gitea.more_pages(&list) && !Forge::Gitea.more_pages(&json!([])));
        assert!(!Forge::GitHub.more_pages(&list) && !Forge::GitLab.more_pages(&list));
        assert_eq!(
            Forge::GitLab.find_open(&json!([{"iid": 2, "source_branch": "bump/x"}]), "bump/x").unwrap(),
            Some(2)
        );
        assert_eq!(Forge::GitHub.find_open(&json!([]), "bump/x").unwrap(), None);
        assert_eq!(Forge::GitLab.auth_header("s").0, "PRIVATE-TOKEN");
    }
}
