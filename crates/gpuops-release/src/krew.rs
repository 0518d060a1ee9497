//! The krew plugin manifest and its validation.
//!
//! Rules, with their source (kubernetes-sigs/krew @ db921d5):
//! internal/index/validation/validate.go (`ValidatePlugin`,
//! `validatePlatform`, `validateFiles`, `validateSelector`) and
//! cmd/validate-krew-manifest/main.go (file extension, supported platforms,
//! overlapping selectors, licence after install). Beyond krew: unknown
//! fields are errors (krew's scanner uses plain `yaml.Unmarshal`), and the
//! short description must fit the 50 characters `kubectl krew search`
//! shows (cmd/krew/cmd/search.go `limitString`).

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

pub const API_VERSION: &str = "krew.googlecontainertools.github.com/v1alpha2";

/// pkg/index/types.go `Plugin`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Plugin {
    pub api_version: String,
    pub kind: String,
    pub metadata: Metadata,
    pub spec: PluginSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PluginSpec {
    pub version: String,
    pub short_description: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub caveats: Option<String>,
    #[serde(default)]
    pub homepage: Option<String>,
    pub platforms: Vec<Platform>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Platform {
    pub uri: String,
    pub sha256: String,
    pub bin: String,
    pub selector: Option<Selector>,
    #[serde(default)]
    pub files: Option<Vec<FileOperation>>,
}

/// A `metav1.LabelSelector`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Selector {
    #[serde(default)]
    pub match_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub match_expressions: Option<Vec<Requirement>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub key: String,
    pub operator: String,
    #[serde(default)]
    pub values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileOperation {
    pub from: String,
    pub to: String,
}

/// The `<os, arch>` pairs krew-index accepts (validate-krew-manifest main.go
/// `osArchPairs`).
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

/// Licence file names krew-index accepts after install (main.go
/// `licenseFiles`), compared case-insensitively.
pub const LICENSE_NAMES: &[&str] =
    &["license", "license.txt", "license.md", "licenses", "licenses.txt", "licenses.md", "copying", "copying.txt"];

/// Every rule the manifest breaks; empty when it is valid. `file_name` is
/// the manifest's file name (`modelbump.yaml`).
pub fn validate(file_name: &str, text: &str) -> Result<Plugin, Vec<String>> {
    let mut errors = Vec::new();
    let Some(stem) = file_name.strip_suffix(".yaml") else {
        return Err(vec![format!("{file_name}: a manifest file must end in .yaml")]);
    };
    let plugin: Plugin = match serde_saphyr::from_str(text) {
        Ok(p) => p,
        Err(e) => return Err(vec![format!("{file_name}: {}", e.to_string().lines().next().unwrap_or(""))]),
    };
    let mut fail = |m: String| errors.push(format!("{file_name}: {m}"));
    if plugin.api_version != API_VERSION {
        fail(format!("apiVersion {:?} is not {API_VERSION}", plugin.api_version));
    }
    if plugin.kind != "Plugin" {
        fail(format!("kind {:?} is not Plugin", plugin.kind));
    }
    let name = &plugin.metadata.name;
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        fail(format!("metadata.name {name:?} must match ^[\\w-]+$"));
    }
    let reserved = ["con", "prn", "aux", "nul"];
    let lower = name.to_ascii_lowercase();
    if reserved.contains(&lower.as_str())
        || (lower.len() == 4
            && (lower.starts_with("com") || lower.starts_with("lpt"))
            && lower.as_bytes()[3].is_ascii_digit()
            && lower.as_bytes()[3] != b'0')
    {
        fail(format!("metadata.name {name:?} is a Windows reserved name"));
    }
    if name != stem {
        fail(format!("metadata.name {name:?} differs from the file name {stem:?}"));
    }
    let short = &plugin.spec.short_description;
    if short.is_empty() {
        fail("spec.shortDescription is required".into());
    }
    if short.contains(['\r', '\n']) {
        fail("spec.shortDescription must be one line".into());
    }
    if short.chars().count() > 50 {
        fail(format!("spec.shortDescription is {} characters; `kubectl krew search` shows 50", short.chars().count()));
    }
    if !valid_version(&plugin.spec.version) {
        fail(format!("spec.version {:?} is not v followed by semver (v1.2.3)", plugin.spec.version));
    }
    if plugin.spec.platforms.is_empty() {
        fail("spec.platforms must list at least one platform".into());
    }
    let mut matched: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for (i, p) in plugin.spec.platforms.iter().enumerate() {
        let at = format!("spec.platforms[{i}]");
        if p.uri.is_empty() {
            fail(format!("{at}.uri is required"));
        }
        if p.sha256.len() != 64 || !p.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            fail(format!("{at}.sha256 {:?} is not 64 lower-case hex digits", p.sha256));
        }
        if p.bin.is_empty() {
            fail(format!("{at}.bin is required"));
        }
        if let Some(files) = &p.files {
            if files.is_empty() {
                fail(format!("{at}.files is empty; omit it to copy everything"));
            }
            for (j, f) in files.iter().enumerate() {
                if f.from.is_empty() || f.to.is_empty() {
                    fail(format!("{at}.files[{j}] needs from and to"));
                }
            }
        }
        match &p.selector {
            None => fail(format!("{at}.selector is required")),
            Some(s) => {
                let labels = s.match_labels.as_ref();
                let exprs = s.match_expressions.as_ref();
                if labels.is_none_or(BTreeMap::is_empty) && exprs.is_none_or(Vec::is_empty) {
                    fail(format!("{at}.selector is empty"));
                }
                if labels.is_some_and(BTreeMap::is_empty) || exprs.is_some_and(Vec::is_empty) {
                    fail(format!("{at}.selector has an empty matchLabels or matchExpressions"));
                }
                let keys = labels.into_iter().flat_map(|l| l.keys()).chain(exprs.into_iter().flatten().map(|r| &r.key));
                for key in keys {
                    if key != "os" && key != "arch" {
                        fail(format!("{at}.selector key {key:?} is not os or arch"));
                    }
                }
                let pairs: Vec<(&str, &str)> = SUPPORTED.iter().copied().filter(|pair| selects(s, *pair)).collect();
                if pairs.is_empty() {
                    fail(format!("{at}.selector matches no supported os/arch pair"));
                }
                for pair in pairs {
                    if let Some(other) = matched.insert(pair, i) {
                        fail(format!("{}/{} is matched by spec.platforms[{other}] and {at}", pair.0, pair.1));
                    }
                }
            }
        }
    }
    if errors.is_empty() { Ok(plugin) } else { Err(errors) }
}

/// k8s.io/apimachinery `ParseSemantic` after a required `v`.
fn valid_version(version: &str) -> bool {
    let Some(rest) = version.strip_prefix('v') else { return false };
    let (core, _build) = rest.split_once('+').unwrap_or((rest, ""));
    let (core, pre) = core.split_once('-').map_or((core, None), |(c, p)| (c, Some(p)));
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) && (p.len() == 1 || !p.starts_with('0')))
        && pre.is_none_or(|p| {
            !p.is_empty()
                && p.split('.').all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        })
}

/// Whether `selector` selects the labels `{os, arch}` (LabelSelector semantics).
fn selects(selector: &Selector, (os, arch): (&str, &str)) -> bool {
    let label = |key: &str| match key {
        "os" => Some(os),
        "arch" => Some(arch),
        _ => None,
    };
    let labels_ok = selector.match_labels.iter().flatten().all(|(k, v)| label(k) == Some(v.as_str()));
    let exprs_ok = selector.match_expressions.iter().flatten().all(|r| {
        let value = label(&r.key);
        match r.operator.as_str() {
            "In" => value.is_some_and(|v| r.values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| r.values.iter().all(|x| x != v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// validate-krew-manifest's install check, without krew: the archive a
/// platform names extracts to `bin` and a licence file. `archive` is the
/// local copy of the platform's `uri`.
pub fn check_archive(platform: &Platform, archive: &Path) -> Result<(), String> {
    let data = std::fs::read(archive).map_err(|e| format!("{}: {e}", archive.display()))?;
    let digest = crate::sha256_hex(&data);
    if digest != platform.sha256 {
        return Err(format!("{}: sha256 is {digest}, the manifest says {}", archive.display(), platform.sha256));
    }
    let names = crate::archive::list(archive, &data)?;
    if !names.iter().any(|n| n == &platform.bin) {
        return Err(format!("{}: no {} in the archive ({})", archive.display(), platform.bin, names.join(", ")));
    }
    if !names.iter().any(|n| LICENSE_NAMES.contains(&n.to_ascii_lowercase().as_str())) {
        return Err(format!("{}: no licence file (LICENSE) in the archive", archive.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "apiVersion: krew.googlecontainertools.github.com/v1alpha2\nkind: Plugin\nmetadata:\n  name: modelbump\nspec:\n  version: v0.1.0\n  homepage: https://github.com/gpuops/gpuops\n  shortDescription: Bump model and image tags in GitOps repos\n  description: x\n  platforms:\n  - selector:\n      matchLabels: {os: linux, arch: amd64}\n    uri: https://example.com/a.tar.gz\n    sha256: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n    bin: kubectl-modelbump\n";

    #[test]
    fn a_valid_manifest_passes() {
        assert!(validate("modelbump.yaml", VALID).is_ok());
    }

    /// One broken manifest per rule; each names what is wrong.
    #[test]
    fn every_rule_is_enforced() {
        let broken = |from: &str, to: &str| VALID.replacen(from, to, 1);
        let cases: Vec<(String, &str, &str)> = vec![
            (VALID.into(), "modelbump.yml", "must end in .yaml"),
            (broken("v1alpha2", "v1alpha1"), "modelbump.yaml", "apiVersion"),
            (broken("kind: Plugin", "kind: Plugins"), "modelbump.yaml", "kind"),
            (VALID.into(), "gpufit.yaml", "differs from the file name"),
            (broken("name: modelbump", "name: model.bump"), "model.bump.yaml", "must match"),
            (broken("name: modelbump", "name: COM1"), "COM1.yaml", "Windows reserved"),
            (broken("version: v0.1.0", "version: 0.1.0"), "modelbump.yaml", "spec.version"),
            (broken("version: v0.1.0", "version: v0.1"), "modelbump.yaml", "spec.version"),
            (
                broken(
                    "shortDescription: Bump",
                    "shortDescription: A very long description that krew search would cut, Bump",
                ),
                "modelbump.yaml",
                "50",
            ),
            (broken("0123456789abcdef0123", "0123456789ABCDEF0123"), "modelbump.yaml", "lower-case hex"),
            (broken("    bin: kubectl-modelbump\n", "    bin: \"\"\n"), "modelbump.yaml", "bin is required"),
            (
                broken("bin: kubectl-modelbump", "bin: kubectl-modelbump\n    files: []"),
                "modelbump.yaml",
                "files is empty",
            ),
            (
                broken("{os: linux, arch: amd64}", "{os: linux, arch: amd64, distro: debian}"),
                "modelbump.yaml",
                "not os or arch",
            ),
            (broken("{os: linux, arch: amd64}", "{os: plan9, arch: amd64}"), "modelbump.yaml", "no supported"),
            (broken("matchLabels: {os: linux, arch: amd64}", "matchLabels: {}"), "modelbump.yaml", "empty"),
            (broken("  homepage:", "  homepgae:"), "modelbump.yaml", "unknown field `homepgae`"),
        ];
        for (text, file, expect) in cases {
            let errors = validate(file, &text).expect_err(expect).join("\n");
            assert!(errors.contains(expect), "{file} {expect}: {errors}");
        }
        // Overlapping selectors: linux/amd64 twice.
        let platform = VALID.split_once("  platforms:\n").unwrap().1;
        let twice = format!("{VALID}{platform}");
        let errors = validate("modelbump.yaml", &twice).unwrap_err().join("\n");
        assert!(errors.contains("linux/amd64 is matched by spec.platforms[0] and spec.platforms[1]"), "{errors}");
    }
}
