//! Printing, and nothing else: each command's answer drawn as a table or
//! text, or serialized into a `-o json|yaml` document
//! (`gpuops_cli::Document`, kinds in `docs/output.md`) — both from the same
//! typed values the commands hand over.
#![allow(clippy::print_stderr)] // `local`'s missing driver is one line on stderr

mod check;
mod local;
mod model;
mod nodes;

pub(crate) use self::check::check;
pub(crate) use self::local::{LocalGpu, local};
pub(crate) use self::model::{ModelAnswer, SharedGpu, model};
pub(crate) use self::nodes::{AllocationRow, NamespaceUse, NodeRow, Part, allocations, nodes};

use gpuops_cli::{Delivered, Document, Kind, OutputFormat};
use serde::Serialize;

use crate::Error;

/// Write a command's whole answer to stdout. A write that fails (a full
/// disk, a closed file) is an error, so a truncated `-o json` never exits
/// with the answer's code; a reader that closed the pipe (`| head`) chose
/// to stop reading and is not one (gpuops_cli::Printer).
pub(crate) fn emit(text: &str) -> Result<(), Error> {
    match gpuops_cli::emit(text)? {
        Delivered::All => {}
        Delivered::ReaderGone => tracing::debug!("the reader closed stdout; the rest of the answer is not written"),
    }
    Ok(())
}

/// One line on stderr.
pub(crate) fn eprint_line(text: &str) {
    eprintln!("{text}");
}

/// Whether `format` asks for a document rather than a table.
fn is_document(format: OutputFormat) -> bool {
    matches!(format, OutputFormat::Json | OutputFormat::Yaml)
}

/// `payload` in the envelope, as `-o json` or `-o yaml` prints it.
fn document(kind: Kind, payload: impl Serialize, format: OutputFormat) -> Result<String, Error> {
    Ok(Document::new(kind, payload).render(format)?)
}

/// A list answer: its entries under `items`, as kubectl's own lists.
#[derive(Serialize)]
struct Items<'a, T> {
    items: &'a [T],
}
