//! Progress on stderr while a command waits on the network (registry
//! scans, model-config downloads, cluster lists) — only when stderr is a
//! terminal, never when piped, with `-o json|yaml`, or at `-v` (log lines
//! and a bar would interleave). Drawn with indicatif and cleared when done.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

static ALLOWED: AtomicBool = AtomicBool::new(true);

/// No progress for this run (machine-readable output, `-v` logging).
pub fn disable() {
    ALLOWED.store(false, Ordering::SeqCst);
}

fn enabled() -> bool {
    ALLOWED.load(Ordering::SeqCst) && std::io::IsTerminal::is_terminal(&std::io::stderr())
}

/// A bar (known length) or spinner (unknown), or nothing when disabled.
pub struct Progress(Option<indicatif::ProgressBar>);

impl Progress {
    /// `len` steps of `what` (`"registries"`), e.g. "3/8 registries".
    pub fn bar(len: u64, what: &str) -> Self {
        if !enabled() || len == 0 {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(Some(len), indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template(&format!(
                "{{spinner}} {{pos}}/{{len}} {what} {{wide_bar}} {{elapsed}}"
            ))
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    /// A spinner with `message` (`"reading cluster prod"`).
    pub fn spinner(message: &str) -> Self {
        if !enabled() {
            return Self(None);
        }
        let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self(Some(bar))
    }

    pub fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
