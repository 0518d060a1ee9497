//! What every gpuops kubectl plugin does the same way: output formats,
//! tables, exit codes, `-v` verbosity, durations, shell completion and
//! Ctrl-C.

pub mod completion;
mod document;
mod exit;
pub mod interrupt;
mod logging;
mod printer;
pub mod progress;

pub use document::{API_VERSION, Document, DocumentError, Kind};
pub use exit::ExitCode;
pub use logging::{Verbosity, init_logging};
pub use printer::{Delivered, Printer, WriteError, emit, emit_to};

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::Value;

/// `-o` values, as kubectl spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum OutputFormat {
    #[default]
    Table,
    Wide,
    Json,
    Yaml,
}

/// `-o` and `--no-headers`, as every gpuops plugin spells them.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
    /// Don't print headers (table and wide output).
    #[arg(long)]
    pub no_headers: bool,
}

impl OutputArgs {
    /// `-o json|yaml` is for programs: no progress on stderr either.
    pub fn quiet_progress(&self) {
        if matches!(self.output, OutputFormat::Json | OutputFormat::Yaml) {
            progress::disable();
        }
    }
}

/// A table: upper-case headers, columns padded with three spaces, like kubectl.
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Self { headers: headers.iter().map(|h| h.to_ascii_uppercase()).collect(), rows: Vec::new() }
    }

    /// Cells carry names from manifests, repositories and registries: a
    /// control character (ESC, a newline) or bidi override is escaped here, so no cell can
    /// drive the terminal or forge a row, whatever the caller forgot.
    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row.iter().map(|cell| gpuops_manifest::text::printable(cell)).collect());
    }

    pub fn render(&self, no_headers: bool) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(String::len).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if i < widths.len() {
                    widths[i] = widths[i].max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let mut line = |cells: &[String]| {
            let mut text = String::new();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<width$}   ", width = widths[i]);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        if !no_headers {
            line(&self.headers);
        }
        for row in &self.rows {
            line(row);
        }
        out
    }
}

/// Write to stdout, ignoring every error.
///
/// Being replaced: it swallows every write error, not only a closed pipe,
/// so a truncated `-o json` (a full disk, a closed file) exits 0. Use
/// [`emit`] or a [`Printer`], which return the error (EPIPE alone is
/// [`Delivered::ReaderGone`], a clean exit). Kept, not `#[deprecated]`,
/// while the plugins move over: a deprecation warning would fail their
/// `-D warnings` builds mid-migration.
pub fn print(text: &str) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Serialize a value for `-o json` / `-o yaml`.
pub fn render_value(value: &Value, format: OutputFormat) -> String {
    match format {
        OutputFormat::Yaml => gpuops_manifest::yaml::to_yaml_string(value),
        _ => {
            let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

/// A kubectl-style duration: Go/humantime units (`30s`, `2m`, `500ms`,
/// `1h30m`) or plain seconds (`30`). `0` means no timeout, as in kubectl.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(Duration::from_secs(seconds));
    }
    humantime::parse_duration(text).map_err(|e| format!("invalid duration {text:?}: {e} (e.g. 30s, 2m, 500ms, 1h30m)"))
}

/// The program's name as the user typed it: `kubectl modelbump` when run
/// as a kubectl plugin (kubectl execs `kubectl-modelbump`).
pub fn display_name(binary: &str) -> String {
    binary
        .strip_prefix("kubectl-")
        .map_or_else(|| binary.to_string(), |rest| format!("kubectl {}", rest.replace('_', "-")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_like_kubectl() {
        let mut t = Table::new(&["name", "status"]);
        t.push(vec!["a".into(), "ok".into()]);
        t.push(vec!["longer".into(), "update".into()]);
        assert_eq!(t.render(false), "NAME     STATUS\na        ok\nlonger   update\n");
        assert_eq!(t.render(true), "a        ok\nlonger   update\n");
    }

    #[test]
    fn a_cell_cannot_drive_the_terminal_or_forge_a_row() {
        let mut t = Table::new(&["workload", "status"]);
        t.push(vec!["Deployment/ml/evil\u{1b}[2J\nFAKE".into(), "fits".into()]);
        let text = t.render(true);
        assert!(!text.contains('\u{1b}'), "{text:?}");
        assert_eq!(text.lines().count(), 1, "{text:?}");
        assert_eq!(text, "Deployment/ml/evil\\u{1b}[2J\\nFAKE   fits\n");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert!(parse_duration("soon").is_err());
        // Out of range is an error, not a panic.
        let err = parse_duration("99999999999999999999h").unwrap_err();
        assert!(err.contains("invalid duration"), "{err}");
        assert_eq!(display_name("kubectl-modelbump"), "kubectl modelbump");
    }
}

/// Arguments of the `completion` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct CompletionArgs {
    /// bash, zsh, fish, powershell, or kubectl (the kubectl_complete-NAME script kubectl >= 1.26 runs).
    pub shell: completion::Shell,
}

/// Arguments of the hidden `__complete` subcommand (Cobra's protocol).
#[derive(Debug, Clone, clap::Args)]
pub struct CompleteArgs {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}
