//! YAML and JSON streams in, block YAML out.
//!
//! Reading goes through `serde-saphyr` into `serde_json::Value` with
//! `preserve_order`, so key order survives a round trip. Writing uses our own
//! emitter (`emit`) because what kustomize users expect is kyaml's layout:
//! two-space indentation and sequences not indented under their key.

mod budget;
mod emit;
mod simple;
mod stream;

pub use emit::{
    is_plain_safe, may_hold_octal_forms, restore_octal_forms, to_yaml_string, write_document, write_entry,
    write_sequence_item,
};
pub use stream::{
    Document, RawDocument, Wanted, header_of, parse_document, parse_many, parse_stream, parse_stream_filtered,
    split_documents,
};

/// A document that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct YamlError {
    /// The file or stream the text came from (`<stdin>`, a path).
    pub source_name: String,
    /// What is wrong, with the line where the parser could tell.
    pub message: String,
}
