//! Reading every kustomization an app reaches, as kustomize would.
//!
//! kustomize v5.5 (api v0.18.0), api/internal/target/kusttarget.go:
//! * `resources` (and `bases`, merged into it by `FixKustomization`) and
//!   `components` name files, directories holding a kustomization, or
//!   remote repositories (`accumulateResources`, `accumulateComponents`;
//!   `ldr.New` tries `git.NewRepoSpecFromURL` before a local directory);
//! * `transformers`, `generators` and `validators` entries are inline YAML
//!   when they parse as resources, else paths read like resources: a file
//!   of configs, a directory whose kustomization's OUTPUT is the configs,
//!   or a remote URL (`configureExternalTransformers`,
//!   `configureExternalGenerators`, `runValidators`);
//! * a config file may hold `*List` objects whose items are configs
//!   (api/resource/factory.go, `inlineAnyEmbeddedLists`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::kinds::{self, PluginKind, Policy, printable};
use super::{Declared, Refusal, Remote, Verdict};

/// Kustomization file names (api/konfig/general.go,
/// `RecognizedKustomizationFileNames`).
const KUSTOMIZATION_FILES: [&str; 3] = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
/// Fields whose entries name more kustomize input.
const PATH_FIELDS: [&str; 3] = ["resources", "bases", "components"];
const PLUGIN_FIELDS: [&str; 3] = ["transformers", "generators", "validators"];
/// Bounds on the work a repository can ask for.
const MAX_KUSTOMIZATIONS: usize = 500;
const MAX_FILE_BYTES: u64 = 8 << 20;
const MAX_TOTAL_BYTES: u64 = 256 << 20;

pub(super) fn walk(app: &Path, root: &Path, policy: &Policy) -> Result<Verdict, Refusal> {
    let root = root.canonicalize().map_err(|e| Refusal::Unreadable { file: ".".into(), message: e.to_string() })?;
    let mut walker = Walker { root, policy, seen: HashSet::new(), verdict: Verdict::default(), read: 0 };
    let app = walker.inside(app, Path::new("."), "the app directory", ".")?;
    walker.kustomization_dir(&app)?;
    Ok(walker.verdict)
}

struct Walker<'a> {
    root: PathBuf,
    policy: &'a Policy,
    seen: HashSet<PathBuf>,
    verdict: Verdict,
    /// Bytes read so far: a kustomization may name one big file many times.
    read: u64,
}

/// One kustomization file's fields that matter here.
#[derive(Default)]
struct Fields {
    paths: Vec<(&'static str, String)>,
    plugins: Vec<(&'static str, String)>,
    /// Keys other than apiVersion, kind and resources (a config directory
    /// may use none of them).
    others: bool,
}

impl Walker<'_> {
    /// `path` canonical and inside the repository, or a refusal naming
    /// `file` (the declaring file) and the entry.
    fn inside(&self, path: &Path, file: &Path, field: &'static str, entry: &str) -> Result<PathBuf, Refusal> {
        let canonical = path
            .canonicalize()
            .map_err(|e| Refusal::Unreadable { file: self.show(file), message: format!("{field}: {e}") })?;
        if !canonical.starts_with(&self.root) {
            return Err(Refusal::Escapes { file: self.show(file), field, entry: printable(entry) });
        }
        Ok(canonical)
    }

    /// A path as messages show it: relative to the repository root.
    fn show(&self, path: &Path) -> String {
        printable(&path.strip_prefix(&self.root).unwrap_or(path).display().to_string())
    }

    fn read(&mut self, path: &Path) -> Result<String, Refusal> {
        let shown = self.show(path);
        let unreadable = |message: String| Refusal::Unreadable { file: shown.clone(), message };
        let len = std::fs::metadata(path).map_err(|e| unreadable(e.to_string()))?.len();
        if len > MAX_FILE_BYTES {
            return Err(unreadable(format!("larger than {} MiB", MAX_FILE_BYTES >> 20)));
        }
        self.read += len;
        if self.read > MAX_TOTAL_BYTES {
            return Err(unreadable(format!("the app's kustomize input passes {} MiB", MAX_TOTAL_BYTES >> 20)));
        }
        std::fs::read_to_string(path).map_err(|e| unreadable(e.to_string()))
    }

    fn kustomization_files(dir: &Path) -> Vec<PathBuf> {
        KUSTOMIZATION_FILES.iter().map(|n| dir.join(n)).filter(|p| p.is_file()).collect()
    }

    /// A base, overlay or component: every kustomization file in it (kustomize
    /// refuses a directory with two, but reads any one of them).
    fn kustomization_dir(&mut self, dir: &Path) -> Result<(), Refusal> {
        if !self.seen.insert(dir.to_path_buf()) {
            return Ok(());
        }
        if self.seen.len() > MAX_KUSTOMIZATIONS {
            return Err(Refusal::TooMany { file: self.show(dir), limit: MAX_KUSTOMIZATIONS });
        }
        for file in Self::kustomization_files(dir) {
            let fields = self.fields(&file)?;
            for (field, entry) in &fields.paths {
                match self.local(dir, &file, field, entry)? {
                    Some(path) if path.is_dir() => self.kustomization_dir(&path)?,
                    _ => {}
                }
            }
            for (field, entry) in &fields.plugins {
                self.plugin_entry(dir, &file, field, entry)?;
            }
        }
        Ok(())
    }

    /// A local entry, canonical and inside the repository; `None` (and the
    /// entry recorded as remote) when kustomize may fetch it instead.
    fn local(&mut self, dir: &Path, file: &Path, field: &'static str, entry: &str) -> Result<Option<PathBuf>, Refusal> {
        let path = dir.join(entry);
        if looks_remote(entry) || !path.exists() {
            // A missing local path fails kustomize's build; treating it as
            // remote only turns plugins off, which is the safe side.
            self.verdict.remote.push(Remote { entry: redact(entry), file: self.rel(file) });
            return Ok(None);
        }
        self.inside(&path, file, field, entry).map(Some)
    }

    fn rel(&self, path: &Path) -> PathBuf {
        path.strip_prefix(&self.root).unwrap_or(path).to_path_buf()
    }

    /// One `transformers`/`generators`/`validators` entry.
    fn plugin_entry(&mut self, dir: &Path, file: &Path, field: &'static str, entry: &str) -> Result<(), Refusal> {
        if let Some(configs) = inline(entry, &self.show(file), field)? {
            return configs.iter().try_for_each(|c| self.config(c, file, field));
        }
        let Some(path) = self.local(dir, file, field, entry)? else { return Ok(()) };
        if path.is_file() {
            return self.config_file(&path, field);
        }
        // A directory: kustomize builds it and loads its OUTPUT as
        // configs, so its own patches or transformers could rewrite a
        // checked kind. Accept only a kustomization that lists local files.
        let files = Self::kustomization_files(&path);
        let shown = self.show(file);
        let refuse = || Refusal::ConfigDirectory { file: shown.clone(), field, entry: printable(entry) };
        if files.is_empty() {
            return Err(refuse());
        }
        for kustomization in files {
            let fields = self.fields(&kustomization)?;
            if fields.others || !fields.plugins.is_empty() {
                return Err(refuse());
            }
            for (_, resource) in &fields.paths {
                let target = path.join(resource);
                if looks_remote(resource) || !target.is_file() {
                    return Err(refuse());
                }
                let target = self.inside(&target, &kustomization, field, resource)?;
                self.config_file(&target, field)?;
            }
        }
        Ok(())
    }

    fn config_file(&mut self, path: &Path, field: &'static str) -> Result<(), Refusal> {
        let text = self.read(path)?;
        for config in parse(&text, &self.show(path))? {
            self.config(&config, path, field)?;
        }
        Ok(())
    }

    /// One config object (a `*List` is its items).
    fn config(&mut self, object: &Value, file: &Path, field: &'static str) -> Result<(), Refusal> {
        let kind = object.get("kind").and_then(Value::as_str);
        let api_version = object.get("apiVersion").and_then(Value::as_str);
        let (Some(kind), Some(api_version)) = (kind, api_version) else {
            return Err(Refusal::NoKind { file: self.show(file), field });
        };
        if kind.ends_with("List") {
            match object.get("items") {
                Some(Value::Null) => return Ok(()),
                Some(Value::Array(items)) => return items.iter().try_for_each(|i| self.config(i, file, field)),
                Some(_) => return Err(Refusal::NoKind { file: self.show(file), field }),
                None => {}
            }
        }
        if kinds::is_builtin(api_version) {
            return Ok(());
        }
        let named = |file: String| (file, printable(api_version), printable(kind));
        let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
        let parsed = PluginKind { group: group.into(), version: version.into(), kind: kind.into() };
        if !parsed.is_valid() {
            let (file, api_version, kind) = named(self.show(file));
            return Err(Refusal::BadName { file, field, api_version, kind });
        }
        if let Some(key) = kinds::function_key(object) {
            let hint = function_hint(api_version, kind);
            let (file, api_version, kind) = named(self.show(file));
            return Err(Refusal::Function { file, field, api_version, kind, key, hint });
        }
        if !self.policy.allows(&parsed) {
            let (file, api_version, kind) = named(self.show(file));
            return Err(Refusal::NotAllowed {
                file,
                field,
                api_version,
                kind,
                gpuops: gpuops_inject::PLUGIN_GROUP_VERSION,
            });
        }
        self.verdict.plugins.push(Declared { kind: parsed, file: self.rel(file) });
        Ok(())
    }

    /// The fields of one kustomization file, refusing spellings kustomize
    /// would read differently from us.
    fn fields(&mut self, file: &Path) -> Result<Fields, Refusal> {
        let shown = self.show(file);
        let text = self.read(file)?;
        let mut fields = Fields::default();
        for document in parse(&text, &shown)? {
            let Some(map) = document.as_object() else { continue };
            for (key, value) in map {
                let field = canonical_field(key, &shown)?;
                let strings = || value.as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_string);
                match field {
                    Some(f) if PATH_FIELDS.contains(&f) => {
                        fields.others |= f != "resources";
                        fields.paths.extend(strings().map(|s| (f, s)));
                    }
                    Some(f) if PLUGIN_FIELDS.contains(&f) => {
                        fields.plugins.extend(strings().map(|s| (f, s)));
                    }
                    Some("apiVersion" | "kind") => {}
                    _ => fields.others = true,
                }
            }
        }
        Ok(fields)
    }
}

/// The field `key` names for kustomize, which decodes a kustomization with
/// Go's encoding/json after YAMLToJSON (api/types/kustomization.go,
/// `Unmarshal`): field names match ignoring case, Unicode simple folding
/// included (`ſ` is `s`, `K` Kelvin is `k`). A watched field must be spelled
/// exactly, and `<<` (merge keys, which go-yaml v2 expands) is refused.
fn canonical_field(key: &str, file: &str) -> Result<Option<&'static str>, Refusal> {
    const WATCHED: [&str; 8] =
        ["resources", "bases", "components", "transformers", "generators", "validators", "apiVersion", "kind"];
    let folded: String = key.chars().flat_map(char::to_lowercase).map(|c| if c == 'ſ' { 's' } else { c }).collect();
    if key.starts_with("<<") {
        return Err(Refusal::MergeKey { file: file.to_string() });
    }
    match WATCHED.iter().find(|w| w.to_lowercase() == folded) {
        Some(w) if *w == key => Ok(Some(w)),
        Some(w) => Err(Refusal::Spelling { file: file.to_string(), key: printable(key), field: w }),
        None => Ok(None),
    }
}

/// Configs written inline in the kustomization, or `None` for a path.
/// kustomize tries the entry as YAML resources first and falls back to a
/// path when that fails (kusttarget.go, `configureExternalTransformers`).
fn inline(entry: &str, file: &str, field: &'static str) -> Result<Option<Vec<Value>>, Refusal> {
    match parse(entry, &format!("{file}: {field} entry")) {
        Ok(values) if values.iter().any(|v| !v.is_string() && !v.is_null()) => Ok(Some(values)),
        Ok(_) => Ok(None),
        // A single line that is not YAML is a path to kustomize too.
        Err(_) if !entry.contains('\n') => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether kustomize may read `entry` as a remote repository or URL: a
/// superset of what `git.NewRepoSpecFromURL` accepts
/// (api/internal/git/repospec.go: schemes `ssh://`, `https://`, `http://`,
/// `file://`, the `git::` prefix, `github.com` and `user@host:` SCP forms)
/// and of HTTP file URLs (api/loader/fileloader.go, `Load`).
fn looks_remote(entry: &str) -> bool {
    let lower = entry.to_ascii_lowercase();
    lower.contains("://") || lower.starts_with("git::") || lower.starts_with("github.com") || entry.contains('@')
}

/// `entry` without the user information of a URL.
fn redact(entry: &str) -> String {
    let shown = match entry.find("://") {
        Some(i) => {
            let authority_end = entry[i + 3..].find('/').map_or(entry.len(), |j| i + 3 + j);
            match entry[i + 3..authority_end].rfind('@') {
                Some(at) => format!("{}***{}", &entry[..i + 3], &entry[i + 3 + at..]),
                None => entry.to_string(),
            }
        }
        None => entry.to_string(),
    };
    printable(&shown)
}

/// Every document, always through the YAML parser: it refuses duplicate
/// keys, where serde_json keeps the last `kind` and kyaml (kustomize's
/// reader: kyaml/yaml/rnode.go, `getMapFieldValue`) the first.
fn parse(text: &str, shown: &str) -> Result<Vec<Value>, Refusal> {
    let unreadable = |e: gpuops_manifest::yaml::YamlError| Refusal::Unreadable {
        file: shown.to_string(),
        message: format!("not YAML that kustomize and gpuops read alike: {}", e.message),
    };
    let mut values = Vec::new();
    for raw in gpuops_manifest::yaml::split_documents(text) {
        // A leading comment keeps parse_document off its serde_json path.
        let commented = format!("#\n{}", raw.text);
        let value = gpuops_manifest::yaml::parse_document(&commented, shown, raw.first_line.saturating_sub(1).max(1))
            .map_err(unreadable)?;
        values.push(value);
    }
    Ok(values)
}

/// What to write instead of a gpuops kind bound as a KRM function. The
/// binding is what `gpuops-inject --help` once offered, but `kubectl
/// kustomize` has no `--enable-exec` and renders such a config without
/// running it: the app would deploy with no GPUs. The sidecar runs the same
/// config in process when it is bound as the legacy plugin (no annotation).
fn function_hint(api_version: &str, kind: &str) -> &'static str {
    if api_version == gpuops_inject::PLUGIN_GROUP_VERSION && gpuops_inject::PLUGIN_KINDS.iter().any(|(_, k)| *k == kind)
    {
        "; for gpuops' own GpuProfile/ModelTags remove the annotation: bound as a legacy plugin (no annotation) the sidecar runs it in process, as `kubectl kustomize --enable-alpha-plugins` does (an exec binding is skipped there, rendering no GPUs)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_names_fold_as_go_json_does() {
        assert_eq!(canonical_field("transformers", "k").unwrap(), Some("transformers"));
        assert_eq!(canonical_field("namePrefix", "k").unwrap(), None);
        for odd in ["Transformers", "TRANSFORMERS", "tranſformers", "Kind", "\u{212a}ind", "<<"] {
            assert!(canonical_field(odd, "k").is_err(), "{odd}");
        }
    }

    #[test]
    fn duplicate_keys_and_merge_keys_are_not_read_two_ways() {
        let json = r#"{"apiVersion":"gpuops.dev/v1alpha1","kind":"../sh","kind":"GpuProfile"}"#;
        assert!(parse(json, "t.yaml").is_err());
        let yaml = "apiVersion: gpuops.dev/v1alpha1\nkind: ../sh\nkind: GpuProfile\n";
        assert!(parse(yaml, "t.yaml").is_err());
    }

    #[test]
    fn remote_entries_and_redaction() {
        for remote in [
            "https://github.com/org/repo//base?ref=v1",
            "git::https://example.com/r.git",
            "github.com/org/repo/base",
            "git@github.com:org/repo.git",
            "file:///srv/repo.git//base",
            "HTTPS://x/y",
        ] {
            assert!(looks_remote(remote), "{remote}");
        }
        assert!(!looks_remote("../base"));
        assert_eq!(redact("https://user:token@example.com/r.git?ref=v1"), "https://***@example.com/r.git?ref=v1");
        assert_eq!(redact("https://example.com/a@b"), "https://example.com/a@b");
    }

    #[test]
    fn inline_entries_are_configs_and_paths_are_paths() {
        assert!(inline("gpu.yaml", "k", "transformers").unwrap().is_none());
        assert!(inline("../t", "k", "transformers").unwrap().is_none());
        let configs = inline("apiVersion: builtin\nkind: LabelTransformer\n", "k", "transformers").unwrap().unwrap();
        assert_eq!(configs[0]["kind"], "LabelTransformer");
    }
}
