//! A size budget for what a YAML document expands to.
//!
//! Aliases replay their anchor: a 1 MiB scalar aliased 300 times is 300 MiB
//! of `Value`, from 1 MiB of text. serde-saphyr limits how many events an
//! alias replays, not how many bytes, so the `Value` is built here, by a
//! visitor that charges every node and every scalar byte it receives —
//! replayed ones included — and stops with an error once the document has
//! grown past its budget. A document without aliases is never near it.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Bytes charged per node besides its scalar text (a `Value` is 32+ bytes).
const NODE_COST: usize = 32;
/// The floor of every document's budget.
const MIN_BUDGET: usize = 64 << 20;
/// How much larger than its text a document may grow.
const EXPANSION: usize = 32;

/// The budget of a document of `text_len` bytes.
pub(crate) fn budget_for(text_len: usize) -> usize {
    MIN_BUDGET.max(text_len.saturating_mul(EXPANSION))
}

pub(crate) fn message(limit: usize) -> String {
    format!(
        "the document expands past {} MiB through YAML aliases (*name); refusing to read it (an alias bomb?)",
        limit >> 20
    )
}

thread_local! {
    /// (bytes charged, limit) of the document this thread is reading:
    /// serde-saphyr has no seeded entry point, and documents are parsed on
    /// several threads at once ([`super::parse_many`]).
    static CHARGED: Cell<(usize, usize)> = const { Cell::new((0, usize::MAX)) };
}

/// Parse with `read`, charging against a budget of `limit` bytes; returns
/// what `read` returned and whether the budget was exceeded.
pub(crate) fn with_budget<T>(limit: usize, read: impl FnOnce() -> T) -> (T, bool) {
    let saved = CHARGED.replace((0, limit));
    let result = read();
    let (used, _) = CHARGED.replace(saved);
    (result, used > limit)
}

/// A `Value` read under the thread's budget.
pub(crate) struct BudgetedValue(pub(crate) Value);

impl<'de> de::Deserialize<'de> for BudgetedValue {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(Budgeted).map(BudgetedValue)
    }
}

#[derive(Clone, Copy)]
struct Budgeted;

impl Budgeted {
    fn charge<E: de::Error>(self, bytes: usize) -> Result<(), E> {
        let (used, limit) = CHARGED.get();
        let used = used.saturating_add(bytes).saturating_add(NODE_COST);
        CHARGED.set((used, limit));
        if used > limit { Err(E::custom(message(limit))) } else { Ok(()) }
    }
}

impl<'de> DeserializeSeed<'de> for Budgeted {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

/// As serde_json's own `Value` visitor, with the charge.
impl<'de> Visitor<'de> for Budgeted {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.charge(v.len())?;
        Ok(Value::String(v))
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.charge(0)?;
        Ok(Value::Null)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.charge(0)?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            self.charge(key.len())?;
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use crate::yaml::parse_document;

    #[test]
    fn aliases_within_reason_are_read() {
        let text = "base: &env\n  - {name: A, value: '1'}\nx: *env\ny: *env\n";
        let v = parse_document(text, "t.yaml", 1).unwrap();
        assert_eq!(v["x"], v["base"]);
        assert_eq!(v["y"][0]["name"], "A");
    }

    #[test]
    fn an_alias_bomb_is_refused_with_a_clear_message() {
        // A 1 MiB anchored scalar aliased 300 times: 300 MiB from 1 MiB.
        let mut text = format!("a: &big {}\nlist:\n", "x".repeat(1 << 20));
        for _ in 0..300 {
            text.push_str("- *big\n");
        }
        let err = parse_document(&text, "bomb.yaml", 7).unwrap_err().to_string();
        assert_eq!(
            err,
            "bomb.yaml: document at line 7: the document expands past 64 MiB through YAML aliases (*name); refusing to read it (an alias bomb?)"
        );
        // Nested small aliases ("billion laughs") are charged per node.
        let mut laughs = String::from("l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for i in 1..10 {
            let prev = format!("*l{}", i - 1);
            laughs.push_str(&format!("l{i}: &l{i} [{}]\n", vec![prev; 9].join(", ")));
        }
        let err = parse_document(&laughs, "laughs.yaml", 1).unwrap_err().to_string();
        assert!(err.contains("alias bomb") || err.contains("alias"), "{err}");
    }
}
