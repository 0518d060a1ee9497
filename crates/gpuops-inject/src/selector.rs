//! Does a `GpuProfile` selector pick an object?

use serde_json::Value;

use super::config::Selector;

pub(crate) fn matches(selector: &Selector, obj: &Value) -> bool {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    if !selector.kinds.is_empty() && !selector.kinds.iter().any(|k| k.eq_ignore_ascii_case(kind)) {
        return false;
    }
    let meta = obj.get("metadata");
    let text = |p: &str| meta.and_then(|m| m.pointer(p)).and_then(Value::as_str);
    if !selector.names.is_empty() {
        let name = text("/name").unwrap_or("");
        // Overlays see prefixed names; also accept the names the object had
        // before kustomize's namePrefix/nameSuffix.
        let previous = text("/annotations/internal.config.kubernetes.io~1previousNames").unwrap_or("");
        let candidates = std::iter::once(name).chain(previous.split(',').filter(|s| !s.is_empty()));
        let mut candidates = candidates.collect::<Vec<_>>().into_iter();
        if !candidates.any(|n| selector.names.iter().any(|pattern| glob(pattern, n))) {
            return false;
        }
    }
    if !selector.namespaces.is_empty() {
        let ns = text("/namespace").unwrap_or("default");
        if !selector.namespaces.iter().any(|n| n == ns) {
            return false;
        }
    }
    selector.labels.iter().all(|(k, v)| {
        meta.and_then(|m| m.get("labels")).and_then(|l| l.get(k)).and_then(Value::as_str) == Some(v.as_str())
    })
}

/// `*` matches any run of characters; everything else literally.
fn glob(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn globs() {
        assert!(glob("qwen-*", "qwen-7b"));
        assert!(glob("*-7b", "qwen-7b"));
        assert!(glob("*wen*", "qwen-7b"));
        assert!(!glob("qwen", "qwen-7b"));
        assert!(!glob("a*a", "a"));
    }

    #[test]
    fn selector_fields_are_anded() {
        let obj = json!({"kind": "Deployment", "metadata": {"name": "prod-llm", "namespace": "ml", "labels": {"tier": "gpu"},
            "annotations": {"internal.config.kubernetes.io/previousNames": "llm,llm"}}});
        let sel = |v: Value| serde_json::from_value::<Selector>(v).unwrap();
        assert!(matches(&sel(json!({})), &obj));
        assert!(matches(
            &sel(json!({"kinds": ["deployment"], "names": ["llm"], "namespaces": ["ml"], "labels": {"tier": "gpu"}})),
            &obj
        ));
        assert!(!matches(&sel(json!({"kinds": ["Deployment"], "namespaces": ["other"]})), &obj));
        assert!(!matches(&sel(json!({"labels": {"tier": "cpu"}})), &obj));
    }
}
