//! The krew plugin manifest and its validation, as krew v0.4.5 (what
//! krew-index CI runs) decides it:
//!
//! * decoding: internal/index/indexscanner/scanner.go:135 decodes with
//!   sigs.k8s.io/yaml `Unmarshal` (YAML → JSON → encoding/json): unknown
//!   fields are ignored (reported here as warnings), keys match fields
//!   case-insensitively, `null` leaves a field unset, and a scalar meant for
//!   a string field becomes that string (`decode`);
//! * pkg/index/types.go: `metadata` is a full `metav1.ObjectMeta` (labels,
//!   annotations, `creationTimestamp: null`);
//! * [`rules`], internal/index/validation/validate.go;
//! * [`semver`], internal/installation/semver + apimachinery `ParseSemantic`;
//! * [`selector`], apimachinery `LabelSelectorAsSelector`;
//! * cmd/validate-krew-manifest/main.go: the `.yaml` extension (:73-77),
//!   every platform matching a supported pair (:88-92), no pair matched
//!   twice (:117-131); its install step is [`crate::install`].
//!
//! krew-index's review tips (docs/plugin-naming / "shortDescription under
//! 50 characters", a description that says more) are warnings.

mod decode;
pub mod rules;
pub mod selector;
pub mod semver;

use std::collections::BTreeMap;

use serde::Deserialize;

pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";

/// pkg/index/types.go `Plugin`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Plugin {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: PluginSpec,
}

/// The parts of `metav1.ObjectMeta` krew-index manifests use; the other
/// ObjectMeta fields are accepted and ignored (see `decode::METADATA`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Metadata {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// pkg/index/types.go `PluginSpec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct PluginSpec {
    pub version: String,
    pub short_description: String,
    pub description: String,
    pub caveats: String,
    pub homepage: String,
    pub platforms: Vec<Platform>,
}

/// pkg/index/types.go `Platform`. `files` and the selector's lists keep
/// "left out" apart from "empty", as krew's rules do.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Platform {
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    pub selector: Option<Selector>,
    pub files: Option<Vec<FileOperation>>,
}

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Selector {
    pub match_labels: Option<BTreeMap<String, String>>,
    pub match_expressions: Option<Vec<Requirement>>,
}

/// A `metav1.LabelSelectorRequirement`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    pub values: Option<Vec<String>>,
}

/// pkg/index/types.go `FileOperation`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct FileOperation {
    pub from: String,
    pub to: String,
}

/// The `<os, arch>` pairs krew-index accepts (validate-krew-manifest
/// main.go:234-248 `allPlatforms`).
pub const SUPPORTED: &[(&str, &str)] = &[
    ("windows", "386"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "386"),
    ("linux", "amd64"),
    ("linux", "arm"),
    ("linux", "arm64"),
    ("linux", "ppc64le"),
    ("darwin", "386"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
];

/// Licence file names krew-index accepts after install (main.go:171-180
/// `licenseFiles`), compared case-insensitively.
pub const LICENSE_NAMES: &[&str] =
    &["license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"];

/// A manifest krew accepts, with the review tips it misses.
#[derive(Debug, Clone)]
pub struct Validated {
    pub plugin: Plugin,
    pub warnings: Vec<String>,
}

/// `text` shown in a one-line message: at most 160 characters, anything
/// but printable ASCII escaped (no terminal control, no bidi override).
pub fn shown(text: &str) -> String {
    let mut out = String::from("\"");
    for (i, c) in text.chars().enumerate() {
        if i == 160 {
            out.push('…');
            break;
        }
        match c {
            '"' | '\\' => out.extend(['\\', c]),
            ' '..='~' => out.push(c),
            _ => out.push_str(&c.escape_unicode().to_string()),
        }
    }
    out.push('"');
    out
}

/// Every rule of krew's `validate-krew-manifest` (but the install, see
/// [`crate::install`]) the manifest `file_name` (a path or a file name)
/// with contents `text` breaks, one line each naming the file and field;
/// or the plugin and its warnings.
pub fn validate(file_name: &str, text: &str) -> Result<Validated, Vec<String>> {
    let base = file_name.rsplit('/').next().unwrap_or(file_name);
    let file = shown(file_name);
    let at = |m: String| format!("{file}: {m}");
    // main.go:73-77: filepath.Ext, the part from the last dot.
    let Some(name) = base.strip_suffix(".yaml") else {
        return Err(vec![at("a manifest's file name must end in .yaml".into())]);
    };
    let (plugin, unknown) = decode::plugin(text).map_err(|e| vec![at(e)])?;
    let mut problems = rules::validate_plugin(name, &plugin);
    if problems.is_empty() {
        problems.extend(platform_coverage(&plugin.spec.platforms));
    }
    if !problems.is_empty() {
        return Err(problems.into_iter().map(at).collect());
    }
    let warnings = unknown.into_iter().chain(review_tips(&plugin)).map(at).collect();
    Ok(Validated { plugin, warnings })
}

/// main.go:88-92 (each platform matches a supported pair) and :117-131 (no
/// pair matched by two platforms).
fn platform_coverage(platforms: &[Platform]) -> Vec<String> {
    let mut problems = Vec::new();
    let sel = |p: &Platform| p.selector.clone().unwrap_or_default();
    for (i, p) in platforms.iter().enumerate() {
        if !SUPPORTED.iter().any(|pair| selector::matches(&sel(p), *pair)) {
            let why = selector::as_selector_error(&sel(p)).map_or(String::new(), |e| format!(" ({e})"));
            problems.push(format!("spec.platforms[{i}].selector: matches no supported os/arch{why}"));
        }
    }
    for (os, arch) in SUPPORTED {
        let at: Vec<String> = platforms
            .iter()
            .enumerate()
            .filter(|(_, p)| selector::matches(&sel(p), (os, arch)))
            .map(|(i, _)| i.to_string())
            .collect();
        if at.len() > 1 {
            problems.push(format!("spec.platforms[{}].selector: all select {os}/{arch}", at.join(",")));
        }
    }
    problems
}

/// krew-index's review guide, as warnings: `kubectl krew search` shows a
/// 50-character shortDescription (cmd/krew/cmd/search.go `limitString`),
/// and reviewers ask for a description that says more than the tagline.
fn review_tips(p: &Plugin) -> Vec<String> {
    let mut tips = Vec::new();
    let short = p.spec.short_description.chars().count();
    if short > 50 {
        tips.push(format!("warning: spec.shortDescription: {short} characters; `kubectl krew search` shows 50"));
    }
    let description = p.spec.description.trim();
    if description.is_empty() {
        tips.push("warning: spec.description: empty; reviewers ask what the plugin does and how".into());
    } else if description == p.spec.short_description.trim() || description.len() < 50 {
        tips.push("warning: spec.description: says no more than the shortDescription".into());
    }
    if p.spec.homepage.is_empty() {
        tips.push("warning: spec.homepage: empty; `kubectl krew info` links it".into());
    }
    tips
}
