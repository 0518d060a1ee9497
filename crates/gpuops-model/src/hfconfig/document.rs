//! config.json text → `serde_json::Value`, with a budget of values.
//!
//! The network caps a document at 16 MiB (gpuops_registry's
//! `MAX_DOCUMENT_BYTES`), but a `Value` costs 32 bytes or more per value:
//! 16 MiB of `[0,0,0,…]` became 8 million values, a GiB of memory, for a
//! file whose useful part is a few dozen numbers. A model's config.json
//! holds hundreds of values (a classifier's `id2label` some tens of
//! thousands); past [`MAX_CONFIG_VALUES`] the parse stops with an error,
//! so memory stays within a few MiB beyond the text itself.

use std::cell::Cell;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// The most values (numbers, strings, lists, objects…) one config.json may hold.
pub const MAX_CONFIG_VALUES: usize = 200_000;

/// Why a config text is not read.
#[derive(Debug, thiserror::Error)]
pub(super) enum ParseError {
    #[error("not JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error("holds more than {MAX_CONFIG_VALUES} values; not a model's config.json")]
    TooManyValues,
}

/// Parse `text` into a `Value`, refusing one of more than
/// [`MAX_CONFIG_VALUES`] values before building it.
pub(super) fn parse(text: &[u8]) -> Result<Value, ParseError> {
    let budget = Cell::new(MAX_CONFIG_VALUES);
    let mut deserializer = serde_json::Deserializer::from_slice(text);
    let parsed = Counted(&budget).deserialize(&mut deserializer).and_then(|value| {
        deserializer.end()?;
        Ok(value)
    });
    parsed.map_err(|e| if budget.get() == 0 { ParseError::TooManyValues } else { ParseError::Json(e) })
}

/// A `Value` deserializer that spends one unit of the budget per value.
struct Counted<'a>(&'a Cell<usize>);

impl Counted<'_> {
    fn spend<E: de::Error>(&self) -> Result<(), E> {
        match self.0.get() {
            0 => Err(E::custom("too many values")),
            left => {
                self.0.set(left - 1);
                Ok(())
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Counted<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Counted<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        self.spend()?;
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        self.spend()?;
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Counted(self.0))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        self.spend()?;
        let mut object = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Counted(self.0))?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_parse_as_serde_json_does_and_huge_ones_stop_early() {
        let text = br#"{"a": [1, -2, 3.5, "x", null, true, {"b": {}}], "c": 18446744073709551615}"#;
        assert_eq!(parse(text).unwrap(), serde_json::from_slice::<Value>(text).unwrap());
        assert!(matches!(parse(b"{\"a\": 1} x"), Err(ParseError::Json(_))));
        let mut zeros = b"[0".to_vec();
        zeros.extend(std::iter::repeat_n(*b",0", MAX_CONFIG_VALUES).flatten());
        zeros.push(b']');
        assert!(matches!(parse(&zeros), Err(ParseError::TooManyValues)));
    }
}
