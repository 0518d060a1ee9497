//! krew's structural rules, ported from kubernetes-sigs/krew v0.4.5
//! internal/index/validation/validate.go, one function per Go function.
//! krew stops at the first problem; these collect every one, each naming
//! its field, so a CI log shows them all at once.

use std::sync::LazyLock;

use regex::Regex;

use super::{API_VERSION, FileOperation, Platform, Plugin, Selector, semver};

/// validate.go:35 `safePluginRegexp` (`^[\w-]+$`; Go's `\w` is ASCII).
static SAFE_PLUGIN: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9A-Za-z_-]+$").expect("valid regex"));
/// validate.go:31 `sha256Pattern`.
static SHA256: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-f0-9]{64}$").expect("valid regex"));
/// validate.go:39-41 `windowsForbidden` (COM0 and LPT0 are not in it).
const WINDOWS_FORBIDDEN: &[&str] = &[
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9", "LPT1", "LPT2",
    "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// validate.go:45-55 `IsSafePluginName`.
pub fn is_safe_plugin_name(name: &str) -> bool {
    SAFE_PLUGIN.is_match(name) && !WINDOWS_FORBIDDEN.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// validate.go:57-59 `isSupportedAPIVersion`.
pub fn is_supported_api_version(api_version: &str) -> bool {
    api_version == API_VERSION
}

/// validate.go:65-100 `ValidatePlugin`: `name` is the one the file name gives.
pub fn validate_plugin(name: &str, p: &Plugin) -> Vec<String> {
    let mut problems = Vec::new();
    if !is_supported_api_version(&p.api_version) {
        problems.push(format!("apiVersion: not {API_VERSION}"));
    }
    // validate.go:70 (constants.PluginKind).
    if p.kind != "Plugin" {
        problems.push("kind: not Plugin".into());
    }
    if !is_safe_plugin_name(name) {
        problems.push("the plugin name (the file name) must match ^[\\w-]+$ and not be a Windows device name".into());
    }
    if p.metadata.name != name {
        problems.push("metadata.name: differs from the file name".into());
    }
    let short = &p.spec.short_description;
    if short.is_empty() {
        problems.push("spec.shortDescription: required".into());
    }
    if short.contains(['\r', '\n']) {
        problems.push("spec.shortDescription: must be one line".into());
    }
    if p.spec.platforms.is_empty() {
        problems.push("spec.platforms: at least one platform is required".into());
    }
    if p.spec.version.is_empty() {
        problems.push("spec.version: required".into());
    } else if let Err(why) = semver::parse(&p.spec.version) {
        problems.push(format!("spec.version: {why}"));
    }
    for (i, platform) in p.spec.platforms.iter().enumerate() {
        problems.extend(validate_platform(platform).into_iter().map(|m| format!("spec.platforms[{i}].{m}")));
    }
    problems
}

/// validate.go:103-123 `validatePlatform`; each problem starts with its field.
pub fn validate_platform(p: &Platform) -> Vec<String> {
    let mut problems = Vec::new();
    if p.uri.is_empty() {
        problems.push("uri: required".into());
    }
    if p.sha256.is_empty() {
        problems.push("sha256: required".into());
    } else if !SHA256.is_match(&p.sha256) {
        problems.push("sha256: not 64 lower-case hex digits".into());
    }
    if p.bin.is_empty() {
        problems.push("bin: required".into());
    }
    if let Err(why) = validate_files(p.files.as_deref()) {
        problems.push(format!("files{why}"));
    }
    if let Err(why) = validate_selector(p.selector.as_ref()) {
        problems.push(format!("selector{why}"));
    }
    problems
}

/// validate.go:125-140 `validateFiles`: absent is fine, empty is not.
pub fn validate_files(fops: Option<&[FileOperation]>) -> Result<(), String> {
    let Some(fops) = fops else { return Ok(()) };
    if fops.is_empty() {
        return Err(": must be left out or non-empty".into());
    }
    for (j, op) in fops.iter().enumerate() {
        if op.from.is_empty() {
            return Err(format!("[{j}].from: required"));
        }
        if op.to.is_empty() {
            return Err(format!("[{j}].to: required"));
        }
    }
    Ok(())
}

/// validate.go:143-173 `validateSelector`: present, not empty, keys `os`
/// and `arch` only, and neither list given empty.
pub fn validate_selector(sel: Option<&Selector>) -> Result<(), String> {
    let Some(sel) = sel else { return Err(": required".into()) };
    // validate.go:147: nil matchLabels and no expressions.
    if sel.match_labels.is_none() && sel.match_expressions.as_ref().is_none_or(Vec::is_empty) {
        return Err(": empty selector".into());
    }
    let keys =
        sel.match_labels.iter().flatten().map(|(k, _)| k).chain(sel.match_expressions.iter().flatten().map(|r| &r.key));
    for key in keys {
        if key != "os" && key != "arch" {
            return Err(format!(": key {} is not os or arch", super::shown(key)));
        }
    }
    if sel.match_labels.as_ref().is_some_and(|m| m.is_empty()) {
        return Err(".matchLabels: given but empty".into());
    }
    if sel.match_expressions.as_ref().is_some_and(Vec::is_empty) {
        return Err(".matchExpressions: given but empty".into());
    }
    Ok(())
}
