//! Applying `ModelTags`: rewrite references to listed models wherever they are.

use serde_json::Value;

use super::config::{ModelSpec, ModelTagsSpec, Part};
use gpuops_manifest::imageref::{ImageRef, find_embedded};
use gpuops_manifest::krm::{KrmResult, Severity};
use gpuops_manifest::locator;
use gpuops_manifest::path::FieldPath;

/// The OCI URI schemes: KServe's modelcar `oci://` (storageUri,
/// storageUris[].uri, LLMInferenceService spec.model.uri), and the
/// transport-qualified forms other tools write for the same references
/// (`oci+http://`, `oci+https://`, as ORAS, flatpak and nelm do).
fn oci_scheme(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("oci")?;
    let transport = rest.strip_prefix('+').map_or(Some(0), |t| {
        let n = t.bytes().take_while(u8::is_ascii_alphanumeric).count();
        (n > 0).then_some(n + 1)
    })?;
    rest[transport..].starts_with("://").then_some(3 + transport + 3)
}

/// Counts of what changed, per model and per field spec.
pub(crate) struct TagStats {
    pub(crate) model_hits: Vec<usize>,
    pub(crate) field_hits: Vec<usize>,
    pub(crate) references_changed: usize,
}

impl TagStats {
    pub(crate) fn new(spec: &ModelTagsSpec) -> Self {
        Self { model_hits: vec![0; spec.models.len()], field_hits: vec![0; spec.fields.len()], references_changed: 0 }
    }
}

/// Findings for models and fields that matched nothing, counted over every
/// object of the render (`model_hits`, `field_hits`: [`TagStats`]' counts,
/// added up), at `severity` (the config's `onNoMatch`).
pub(crate) fn no_match(
    spec: &ModelTagsSpec,
    object: &str,
    model_hits: &[usize],
    field_hits: &[usize],
    severity: Severity,
) -> Vec<KrmResult> {
    let mut out = Vec::new();
    for (i, model) in spec.models.iter().enumerate() {
        if model_hits.get(i).copied().unwrap_or(0) == 0 {
            out.push(KrmResult::new(severity, format!("{object}: model {:?} matched no reference", model.name)).at(
                format!("spec.models[{i}].name"),
                Some(Value::String(model.name.clone())),
                None,
            ));
        }
    }
    for (i, field) in spec.fields.iter().enumerate() {
        if field_hits.get(i).copied().unwrap_or(0) == 0 {
            let target = field.name.as_deref().map_or_else(|| field.kind.clone(), |n| format!("{}/{n}", field.kind));
            out.push(
                KrmResult::new(severity, format!("{object}: field {} matched nothing in {target}", field.path)).at(
                    format!("spec.fields[{i}].path"),
                    Some(Value::String(field.path.clone())),
                    None,
                ),
            );
        }
    }
    out
}

/// Rewrite one object; returns whether it changed.
pub(crate) fn apply(spec: &ModelTagsSpec, obj: &mut Value, stats: &mut TagStats) -> bool {
    let mut changed = false;
    // Container images may name a model without a tag (`image: repo`).
    for site in locator::pod_sites(obj) {
        for slot in locator::containers(obj, &site) {
            if let Some(image) = slot.path.get_mut(obj).and_then(|c| c.get_mut("image")) {
                changed |= rewrite_scalar(&spec.models, image, true, stats);
            }
        }
    }
    // Anywhere else only a full reference (with tag or digest) counts, so a
    // bare name that happens to equal a repository is never touched.
    if let Some(map) = obj.as_object_mut() {
        for (key, value) in map.iter_mut() {
            if key != "metadata" {
                changed |= walk(&spec.models, value, stats);
            }
        }
    }
    changed |= apply_fields(spec, obj, stats);
    changed
}

fn walk(models: &[ModelSpec], value: &mut Value, stats: &mut TagStats) -> bool {
    match value {
        Value::String(_) => rewrite_scalar(models, value, false, stats),
        Value::Array(items) => items.iter_mut().fold(false, |acc, v| walk(models, v, stats) | acc),
        Value::Object(map) => map.values_mut().fold(false, |acc, v| walk(models, v, stats) | acc),
        _ => false,
    }
}

fn rewrite_scalar(models: &[ModelSpec], value: &mut Value, allow_bare: bool, stats: &mut TagStats) -> bool {
    let Some(text) = value.as_str() else {
        return false;
    };
    let Some((index, new)) = rewrite_text(models, text, allow_bare) else {
        return false;
    };
    stats.model_hits[index] += 1;
    if new == text {
        return false;
    }
    stats.references_changed += 1;
    *value = Value::String(new);
    true
}

/// The rewritten text and the index of the model that matched.
pub(crate) fn rewrite_text(models: &[ModelSpec], text: &str, allow_bare: bool) -> Option<(usize, String)> {
    if let Some(len) = oci_scheme(text) {
        return rewrite_oci(models, &text[..len], &text[len..]);
    }
    let old = ImageRef::parse(text)?;
    if !allow_bare && old.tag.is_none() && old.digest.is_none() {
        return None;
    }
    let index = models.iter().position(|m| m.name == old.name)?;
    Some((index, models[index].rewrite(&old).to_string()))
}

/// `oci://<name>[:tag][@digest][/suffix]`: the model name is matched as a
/// prefix ending at `:`/`@`, so ports and anything after the tag survive.
fn rewrite_oci(models: &[ModelSpec], scheme: &str, rest: &str) -> Option<(usize, String)> {
    for (index, model) in models.iter().enumerate() {
        let Some(found) =
            find_embedded(rest, &model.name).filter(|e| e.start == 0 && (e.tag.is_some() || e.digest.is_some()))
        else {
            continue;
        };
        let old = ImageRef::parse(&rest[..found.end])?;
        return Some((index, format!("{scheme}{}{}", model.rewrite(&old), &rest[found.end..])));
    }
    None
}

fn apply_fields(spec: &ModelTagsSpec, obj: &mut Value, stats: &mut TagStats) -> bool {
    let mut changed = false;
    let kind = locator::kind(obj).to_string();
    let name = obj.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
    for (i, field) in spec.fields.iter().enumerate() {
        if field.kind != kind || field.name.as_ref().is_some_and(|n| *n != name) {
            continue;
        }
        let Ok(path) = FieldPath::parse(&field.path) else {
            continue;
        };
        let Some(model_index) = spec.models.iter().position(|m| m.name == field.model) else {
            continue;
        };
        let model = &spec.models[model_index];
        let Some(slot) = path.get_mut(obj) else {
            continue;
        };
        if slot.is_object() || slot.is_array() {
            continue;
        }
        let new = match field.part {
            Part::Tag => model.new_tag.clone(),
            Part::Digest => model.digest.clone(),
            Part::Ref => {
                Some(model.rewrite(&ImageRef { name: model.name.clone(), tag: None, digest: None }).to_string())
            }
        };
        let Some(new) = new else { continue };
        stats.field_hits[i] += 1;
        stats.model_hits[model_index] += 1;
        if slot.as_str() != Some(new.as_str()) {
            *slot = Value::String(new);
            stats.references_changed += 1;
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str, tag: Option<&str>) -> ModelSpec {
        ModelSpec { name: name.into(), new_name: None, new_tag: tag.map(Into::into), digest: None }
    }

    #[test]
    fn exact_port_aware_matching() {
        let models = [model("reg:5000/models/qwen", Some("v2"))];
        assert_eq!(rewrite_text(&models, "reg:5000/models/qwen:v1", false).unwrap().1, "reg:5000/models/qwen:v2");
        assert!(rewrite_text(&models, "reg/models/qwen:v1", false).is_none());
        assert!(rewrite_text(&models, "reg:5000/models/qwen-7b:v1", false).is_none());
        assert!(rewrite_text(&models, "reg:5000/models/qwen", false).is_none());
        assert_eq!(rewrite_text(&models, "reg:5000/models/qwen", true).unwrap().1, "reg:5000/models/qwen:v2");
    }

    #[test]
    fn oci_uris_keep_scheme_port_and_suffix() {
        let models = [model("reg:5000/models/qwen", Some("v1.3.0"))];
        assert_eq!(
            rewrite_text(&models, "oci://reg:5000/models/qwen:v1.2.0", false).unwrap().1,
            "oci://reg:5000/models/qwen:v1.3.0"
        );
        assert_eq!(
            rewrite_text(&models, "oci://reg:5000/models/qwen:v1.2.0/weights", false).unwrap().1,
            "oci://reg:5000/models/qwen:v1.3.0/weights"
        );
        assert!(rewrite_text(&models, "oci://reg:5000/models/qwen2:v1", false).is_none());
        // Every form of the scheme, digests kept with their tag rule.
        for scheme in ["oci+http://", "oci+https://"] {
            assert_eq!(
                rewrite_text(&models, &format!("{scheme}reg:5000/models/qwen:v1.2.0"), false).unwrap().1,
                format!("{scheme}reg:5000/models/qwen:v1.3.0")
            );
        }
        assert!(rewrite_text(&models, "ocix://reg:5000/models/qwen:v1.2.0", false).is_none());
        assert!(rewrite_text(&models, "oci+://reg:5000/models/qwen:v1.2.0", false).is_none());
    }

    #[test]
    fn digest_and_new_name() {
        let d = format!("sha256:{}", "b".repeat(64));
        let m = [ModelSpec {
            name: "a/b".into(),
            new_name: Some("c/d".into()),
            new_tag: Some("v3".into()),
            digest: Some(d.clone()),
        }];
        assert_eq!(rewrite_text(&m, "a/b:v1", false).unwrap().1, format!("c/d:v3@{d}"));
    }
}
