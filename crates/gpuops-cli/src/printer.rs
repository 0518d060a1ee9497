//! Writing the answer to stdout. A program reading `-o json` must be able
//! to tell a whole document from a truncated one: a write that fails (a
//! full disk, a closed file, an I/O error) is an error the command returns
//! and exits non-zero with. A reader that closed the pipe (`| head`) is the
//! one exception: it chose to stop reading, as with kubectl (Go ignores the
//! EPIPE of a pipe's reader going away the same way), so the command stops
//! writing and exits as it would have.

use std::io::{ErrorKind, Write};

use crate::ExitCode;

/// What became of the output, when no write failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a reader that went away means: stop writing"]
pub enum Delivered {
    /// Every byte was written and flushed.
    All,
    /// The reader closed the pipe before the end: not an error; write no
    /// more and exit with the command's own code.
    ReaderGone,
}

/// A write to the output that failed for another reason than the reader
/// closing the pipe: the output is incomplete, and the exit code says so.
#[derive(Debug, thiserror::Error)]
#[error("writing the output: {0}")]
pub struct WriteError(#[source] pub std::io::Error);

impl WriteError {
    /// An incomplete answer is an error ([`ExitCode::Error`], 2), never the
    /// code of the answer it was meant to carry.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::Error
    }
}

/// Writes text to one output and remembers whether its reader went away,
/// so that later writes are skipped instead of failing one by one.
#[derive(Debug)]
pub struct Printer<W: Write> {
    out: W,
    reader_gone: bool,
}

impl Printer<std::io::Stdout> {
    /// The process's stdout (line-buffered by std; [`Printer::finish`]
    /// flushes what is left).
    pub fn stdout() -> Self {
        Self::new(std::io::stdout())
    }
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        Self { out, reader_gone: false }
    }

    /// Write all of `text`. After the reader went away this does nothing.
    pub fn print(&mut self, text: &str) -> Result<(), WriteError> {
        if self.reader_gone {
            return Ok(());
        }
        let written = self.out.write_all(text.as_bytes());
        self.settle(written)
    }

    /// Flush, and say whether everything reached the reader.
    pub fn finish(mut self) -> Result<Delivered, WriteError> {
        if !self.reader_gone {
            let flushed = self.out.flush();
            self.settle(flushed)?;
        }
        Ok(if self.reader_gone { Delivered::ReaderGone } else { Delivered::All })
    }

    /// Whether the reader closed the pipe.
    pub fn reader_gone(&self) -> bool {
        self.reader_gone
    }

    fn settle(&mut self, result: std::io::Result<()>) -> Result<(), WriteError> {
        match result {
            Ok(()) => Ok(()),
            // Rust ignores SIGPIPE, so a closed pipe arrives here as EPIPE.
            Err(e) if e.kind() == ErrorKind::BrokenPipe => {
                self.reader_gone = true;
                Ok(())
            }
            Err(e) => Err(WriteError(e)),
        }
    }
}

/// Write `text` to stdout and flush: the one-shot form of [`Printer`].
pub fn emit(text: &str) -> Result<Delivered, WriteError> {
    let mut printer = Printer::new(std::io::stdout().lock());
    printer.print(text)?;
    printer.finish()
}

/// Write `text` to `out` and flush: [`emit`] for any writer.
pub fn emit_to(out: impl Write, text: &str) -> Result<Delivered, WriteError> {
    let mut printer = Printer::new(out);
    printer.print(text)?;
    printer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that fails every write with `kind`, counting the attempts.
    struct Failing {
        kind: ErrorKind,
        attempts: usize,
    }

    impl Write for Failing {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            self.attempts += 1;
            Err(std::io::Error::from(self.kind))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The bug this replaces: `print` swallowed this error, so `-o json`
    /// onto a full disk exited 0 with a truncated document.
    #[test]
    fn a_full_disk_is_an_error_with_exit_code_2() {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full (Linux)");
        let err = emit_to(full, "{\"apiVersion\": \"gpuops.dev/v1alpha1\"}\n").unwrap_err();
        assert_eq!(err.0.raw_os_error(), Some(libc_enospc()), "{err}");
        assert!(err.to_string().starts_with("writing the output: "), "{err}");
        assert_eq!(err.exit_code().code(), 2);
    }

    /// ENOSPC, without a libc dependency for one constant (Linux's value).
    fn libc_enospc() -> i32 {
        28
    }

    #[test]
    fn a_reader_that_went_away_is_not_an_error_and_stops_the_writes() {
        let mut printer = Printer::new(Failing { kind: ErrorKind::BrokenPipe, attempts: 0 });
        printer.print("first\n").unwrap();
        printer.print("second\n").unwrap();
        assert!(printer.reader_gone());
        assert_eq!(printer.out.attempts, 1, "no write after the reader went away");
        assert_eq!(printer.finish().unwrap(), Delivered::ReaderGone);
    }

    #[test]
    fn other_write_errors_surface() {
        let mut printer = Printer::new(Failing { kind: ErrorKind::PermissionDenied, attempts: 0 });
        let err = printer.print("x").unwrap_err();
        assert_eq!(err.0.kind(), ErrorKind::PermissionDenied);
    }

    #[test]
    fn everything_written_is_delivered() {
        let mut bytes = Vec::new();
        assert_eq!(emit_to(&mut bytes, "a\nb\n").unwrap(), Delivered::All);
        assert_eq!(bytes, b"a\nb\n");
    }

    /// The real pipe: a reader that exits before reading. Rust ignores
    /// SIGPIPE, so the write sees EPIPE and the printer reports it as the
    /// reader's choice.
    #[test]
    fn a_closed_pipe_is_the_readers_choice() {
        let mut child =
            std::process::Command::new("true").stdin(std::process::Stdio::piped()).spawn().expect("true(1)");
        let stdin = child.stdin.take().unwrap();
        child.wait().unwrap();
        // Larger than a pipe's buffer, so the write cannot just sit in it.
        let text = "x".repeat(1 << 20);
        assert_eq!(emit_to(stdin, &text).unwrap(), Delivered::ReaderGone);
    }
}
