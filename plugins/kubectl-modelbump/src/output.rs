//! Printing: scan rows, tag listings.
#![allow(clippy::print_stdout)] // the plugin's output edge

use gpuops_cli::{OutputFormat, Table, render_value};
use gpuops_gitops::policy::{self, Order, Policy, Rule};
use serde::Serialize;
use serde_json::json;

use crate::{Error, ExitCode, OutputArgs, TagsArgs};

pub(crate) use gpuops_cli::print;
/// Text from the repository (file names, object and policy names, scalar
/// values) made safe for one line: control characters, newlines and bidi
/// controls escaped, as registry text already is.
pub(crate) use gpuops_manifest::text::printable;

/// Text of several lines made safe to print or commit: each line as
/// [`printable`] escapes it, tabs kept. For what the tool composes itself
/// (an error listing several failures, a rendered commit message); every
/// untrusted part inside it is escaped with [`printable`] first, so a
/// newline in a file name cannot forge a line here.
pub fn safe_lines(text: &str) -> String {
    text.split('\n')
        .map(|line| line.split('\t').map(printable).collect::<Vec<_>>().join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Where a reference stands (`update`, `up-to-date`, `error` in JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RowStatus {
    /// Not resolved yet.
    #[default]
    Pending,
    Update,
    UpToDate,
    /// A marker whose policy is not in the tree (a warning, as Flux skips it).
    Skipped,
    Error,
}

impl RowStatus {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            RowStatus::Pending => "pending",
            RowStatus::Update => "update",
            RowStatus::UpToDate => "up-to-date",
            RowStatus::Skipped => "skipped",
            RowStatus::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Row {
    pub(crate) file: String,
    pub(crate) line: usize,
    pub(crate) policy: String,
    pub(crate) marker: String,
    pub(crate) field: String,
    pub(crate) image: String,
    pub(crate) current: String,
    pub(crate) latest: String,
    #[serde(rename = "new")]
    pub(crate) new_value: String,
    pub(crate) status: RowStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

pub(crate) fn print_rows(rows: &[Row], args: &OutputArgs) {
    match args.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let value = json!({"apiVersion": "gpuops.dev/v1alpha1", "kind": "ReferenceList", "items": rows});
            print(&render_value(&value, args.output));
        }
        format => {
            let wide = format == OutputFormat::Wide;
            let mut headers = vec!["file", "policy", "current", "latest", "status"];
            if wide {
                headers.extend(["marker", "field", "image", "new"]);
            }
            let mut table = Table::new(&headers);
            for r in rows {
                let status = r.error.as_ref().map_or_else(|| r.status.as_str().to_string(), |e| format!("error: {e}"));
                let mut cells = vec![
                    format!("{}:{}", r.file, r.line),
                    r.policy.clone(),
                    r.current.clone(),
                    r.latest.clone(),
                    status,
                ];
                if wide {
                    // The status may be long; keep it last.
                    let status = cells.pop().unwrap_or_default();
                    cells.extend([r.marker.clone(), r.field.clone(), r.image.clone(), r.new_value.clone(), status]);
                }
                // Every cell can come from the repository; `-o json` has
                // JSON's own escaping instead.
                table.push(cells.iter().map(|c| printable(c)).collect());
            }
            if wide {
                table.headers = ["FILE", "POLICY", "CURRENT", "LATEST", "MARKER", "FIELD", "IMAGE", "NEW", "STATUS"]
                    .map(String::from)
                    .to_vec();
            }
            print(&table.render(args.no_headers));
        }
    }
}

fn order(text: &str) -> Result<Order, Error> {
    Order::parse(text).ok_or_else(|| Error::Usage(format!("order must be asc or desc, not {text:?}")))
}

pub(crate) fn tags(args: &TagsArgs) -> Result<ExitCode, Error> {
    let rule = match (&args.semver, &args.numerical, &args.alphabetical) {
        (Some(range), _, _) => Rule::Semver(policy::Range::parse(range).map_err(policy::PolicyError::from)?),
        (_, Some(o), _) => Rule::Numerical(order(o)?),
        (_, _, Some(o)) => Rule::Alphabetical(order(o)?),
        _ => Rule::Semver(policy::Range::parse("*").map_err(policy::PolicyError::from)?),
    };
    let mut policy = Policy { rule, filter: None, exclusions: policy::default_exclusions() };
    if let Some(pattern) = &args.filter {
        policy = policy.with_filter(pattern, args.extract.as_deref())?;
    }
    // No credentials over plain HTTP to an --insecure-registry host (resolve::Clients).
    let clients = crate::resolve::Clients::new(args.registry.options(), &gpuops_gitops::Scan::default());
    let client = clients.for_image(&args.repository);
    let mut tags = client.list_tags(&args.repository)?;
    tags.sort();
    let verdicts = policy.evaluate(&tags)?;
    let latest = verdicts.iter().position(|v| *v == policy::Verdict::Latest).map(|i| tags[i].clone());
    let digest = match (&latest, args.registry.digest) {
        (Some(tag), true) => Some(client.digest(&args.repository, tag)?),
        _ => None,
    };
    match args.output.output {
        OutputFormat::Json | OutputFormat::Yaml => {
            let items: Vec<_> =
                tags.iter().zip(&verdicts).map(|(t, v)| json!({"tag": t, "verdict": v.as_str()})).collect();
            let value = json!({"repository": args.repository, "latest": latest, "digest": digest, "tags": items});
            print(&render_value(&value, args.output.output));
        }
        _ => {
            let mut table = Table::new(&["tag", "verdict"]);
            for (t, v) in tags.iter().zip(&verdicts) {
                table.push(vec![t.clone(), v.as_str().to_string()]);
            }
            print(&table.render(args.output.no_headers));
            match (&latest, &digest) {
                (Some(tag), Some(d)) => eprint_line(&format!("latest: {}:{tag}@{d}", args.repository)),
                (Some(tag), None) => eprint_line(&format!("latest: {}:{tag}", args.repository)),
                (None, _) => {
                    eprint_line(&format!("no tag of {} satisfies the policy ({} tags)", args.repository, tags.len()));
                }
            }
        }
    }
    Ok(ExitCode::answer(latest.is_some()))
}

#[allow(clippy::print_stderr)]
pub(crate) fn eprint_line(text: &str) {
    eprintln!("{text}");
}
