//! Field paths into a `Value`: `spec.template.spec.containers[0].image`.

use std::fmt;

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path from the object root, printed the way KRM results want it
/// (`spec.containers[0].image`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Seg>);

/// A field path that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("path {path:?}: {problem}")]
pub struct PathError {
    pub path: String,
    pub problem: String,
}

impl FieldPath {
    /// Parse a dotted path; `a.b[2].c` and `a.b.2.c` both index a sequence.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let bad = |problem: String| PathError { path: text.to_string(), problem };
        let mut segs = Vec::new();
        for part in text.split('.') {
            if part.is_empty() {
                return Err(bad("empty segment".into()));
            }
            let (key, mut rest) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            if !key.is_empty() {
                match key.parse::<usize>() {
                    Ok(i) => segs.push(Seg::Index(i)),
                    Err(_) => segs.push(Seg::Key(key.to_string())),
                }
            }
            while let Some(stripped) = rest.strip_prefix('[') {
                let end = stripped.find(']').ok_or_else(|| bad("unclosed '['".into()))?;
                let index = stripped[..end]
                    .parse::<usize>()
                    .map_err(|_| bad(format!("index {:?} is not a number", &stripped[..end])))?;
                segs.push(Seg::Index(index));
                rest = &stripped[end + 1..];
            }
            if !rest.is_empty() {
                return Err(bad(format!("unexpected {rest:?}")));
            }
        }
        Ok(Self(segs))
    }

    pub fn key(mut self, key: &str) -> Self {
        self.0.push(Seg::Key(key.to_string()));
        self
    }

    pub fn index(mut self, i: usize) -> Self {
        self.0.push(Seg::Index(i));
        self
    }

    pub fn get<'a>(&self, root: &'a Value) -> Option<&'a Value> {
        self.0.iter().try_fold(root, |v, seg| match seg {
            Seg::Key(k) => v.get(k.as_str()),
            Seg::Index(i) => v.get(*i),
        })
    }

    pub fn get_mut<'a>(&self, root: &'a mut Value) -> Option<&'a mut Value> {
        self.0.iter().try_fold(root, |v, seg| match seg {
            Seg::Key(k) => v.get_mut(k.as_str()),
            Seg::Index(i) => v.get_mut(*i),
        })
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// The mapping at `key` inside `parent`, created (empty) if missing or null.
/// Returns `None` when something else than a mapping is in the way.
pub fn ensure_object<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut serde_json::Map<String, Value>> {
    let map = parent.as_object_mut()?;
    let slot = map.entry(key.to_string()).or_insert_with(|| Value::Object(serde_json::Map::new()));
    if slot.is_null() {
        *slot = Value::Object(serde_json::Map::new());
    }
    slot.as_object_mut()
}

/// The sequence at `key` inside `parent`, created (empty) if missing or null.
pub fn ensure_array<'a>(parent: &'a mut Value, key: &str) -> Option<&'a mut Vec<Value>> {
    let map = parent.as_object_mut()?;
    let slot = map.entry(key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
    if slot.is_null() {
        *slot = Value::Array(Vec::new());
    }
    slot.as_array_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_dotted_and_bracketed_paths() {
        let p = FieldPath::parse("spec.values.items[1].tag").unwrap();
        assert_eq!(p.to_string(), "spec.values.items[1].tag");
        assert_eq!(FieldPath::parse("a.0.b").unwrap(), FieldPath::parse("a[0].b").unwrap());
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("a[x]").is_err());
        let v = json!({"spec": {"values": {"items": [1, {"tag": "v1"}]}}});
        assert_eq!(p.get(&v), Some(&json!("v1")));
    }
}
