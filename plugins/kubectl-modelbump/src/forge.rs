//! The forge's REST API behind `--pull-request`: the requests
//! `gpuops_gitops::bump::forge` builds, sent with ureq; the token from the
//! environment, never printed, never sent over plain HTTP except to
//! loopback.

use gpuops_gitops::bump::forge::{Forge, PullRequest, Request};
use gpuops_manifest::text::printable;
use serde_json::Value;

use crate::Error;

/// Pages of a Gitea pull request list read at most (50 items each: 10,000
/// open pull requests).
const MAX_PAGES: u32 = 200;

pub(crate) struct ForgeClient {
    forge: Forge,
    base: String,
    repo: String,
    token: String,
    agent: ureq::Agent,
}

/// What was done on the forge.
pub(crate) enum Outcome {
    Created(Option<String>),
    Updated(u64, Option<String>),
}

fn loopback(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
    matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

impl ForgeClient {
    /// `token` is the value of the forge's variable (`Forge::token_variable`).
    pub(crate) fn new(
        forge: Forge,
        url: Option<&str>,
        repo: Option<&str>,
        token: Option<String>,
    ) -> Result<Self, Error> {
        let variable = forge.token_variable();
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Usage(format!("--pull-request needs a token in ${variable}")))?;
        let repo = repo
            .filter(|r| r.contains('/'))
            .ok_or_else(|| Error::Usage("--pull-request needs --forge-repo OWNER/NAME".into()))?;
        let base = match (url, forge) {
            (Some(u), _) => u.trim_end_matches('/').to_string(),
            (None, Forge::GitHub) => "https://api.github.com".into(),
            (None, Forge::GitLab) => "https://gitlab.com/api/v4".into(),
            (None, Forge::Gitea) => {
                return Err(Error::Usage(
                    "--pull-request gitea needs --forge-url (e.g. https://gitea.example/api/v1)".into(),
                ));
            }
        };
        let secure = base.starts_with("https://") || (base.starts_with("http://") && loopback(&base));
        if !secure {
            return Err(Error::Usage(format!(
                "--forge-url {}: the token goes over https only (plain http to loopback)",
                printable(&base)
            )));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(30)))
            .user_agent(concat!("gpuops-modelbump/", env!("CARGO_PKG_VERSION")))
            .max_redirects(0)
            .build()
            .new_agent();
        Ok(Self { forge, base, repo: repo.to_string(), token, agent })
    }

    fn send(&self, request: &Request) -> Result<Value, Error> {
        let url = format!("{}{}", self.base, request.path);
        let (name, value) = self.forge.auth_header(&self.token);
        let body = request.body.as_ref().map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let response = match request.method {
            "GET" => self.agent.get(&url).header(name, &value).header("Accept", "application/json").call(),
            "POST" => {
                self.agent.post(&url).header(name, &value).header("Content-Type", "application/json").send(&body[..])
            }
            "PUT" => {
                self.agent.put(&url).header(name, &value).header("Content-Type", "application/json").send(&body[..])
            }
            _ => self.agent.patch(&url).header(name, &value).header("Content-Type", "application/json").send(&body[..]),
        };
        let shown = printable(url.split('?').next().unwrap_or(&url));
        let mut response = response.map_err(|e| Error::Usage(format!("{} {shown}: {e}", request.method)))?;
        let status = response.status().as_u16();
        let text = response.body_mut().read_to_string().unwrap_or_default();
        if !(200..300).contains(&status) {
            let excerpt: String = text.chars().take(200).collect();
            return Err(Error::Usage(format!("{} {shown}: HTTP {status}: {}", request.method, printable(&excerpt))));
        }
        serde_json::from_str(&text)
            .map_err(|e| Error::Usage(format!("{} {shown}: the answer is not JSON ({e})", request.method)))
    }

    /// The open pull request for `head`, reading Gitea's list page by page
    /// (`Forge::more_pages`) up to [`MAX_PAGES`]; past that, an error
    /// rather than a duplicate pull request.
    fn find_open(&self, head: &str) -> Result<Option<u64>, Error> {
        for page in 1..=MAX_PAGES {
            let list = self.send(&self.forge.list_open(&self.repo, head, page))?;
            if let Some(number) = self.forge.find_open(&list, head).map_err(|e| Error::Usage(e.to_string()))? {
                return Ok(Some(number));
            }
            if !self.forge.more_pages(&list) {
                return Ok(None);
            }
        }
        Err(Error::Usage(format!(
            "{}: more than {MAX_PAGES} pages of open pull requests, none for {head}; close some or open it by hand",
            self.repo
        )))
    }

    /// Update the open pull request for `pr.head`, else open one.
    pub(crate) fn open_or_update(&self, pr: &PullRequest) -> Result<Outcome, Error> {
        let open = self.find_open(&pr.head)?;
        Ok(match open {
            Some(number) => {
                let answer = self.send(&self.forge.update(&self.repo, number, pr))?;
                Outcome::Updated(number, self.forge.web_url(&answer))
            }
            None => {
                let answer = self.send(&self.forge.create(&self.repo, pr))?;
                Outcome::Created(self.forge.web_url(&answer))
            }
        })
    }
}
