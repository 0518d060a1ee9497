//! Ctrl-C as kubectl users expect it: the command stops at once with exit
//! code 130 (128 + SIGINT) — unless it is replacing files, committing or
//! pushing. Those run in a [`critical`] section: the signal is noted, the
//! section finishes or puts back what it wrote, and the caller then reports
//! [`pending`] as an interruption (exit 130), leaving no half-written file
//! and no temporary file behind.
//!
//! A terminal's Ctrl-C reaches the whole process group, so a `git` child
//! inside the section is interrupted too and fails; the caller's rollback
//! handles that like any failed commit.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

struct Flags {
    /// True outside critical sections: SIGINT exits with 130 at once.
    exit_at_once: Arc<AtomicBool>,
    /// Set by SIGINT; read by the caller of a critical section.
    pending: Arc<AtomicBool>,
}

static FLAGS: OnceLock<Flags> = OnceLock::new();

/// The exit status of an interrupted command.
pub const INTERRUPTED: i32 = 130;

/// Install the SIGINT handling (once, at the start of `main`).
pub fn install() {
    FLAGS.get_or_init(|| {
        let flags = Flags { exit_at_once: Arc::new(AtomicBool::new(true)), pending: Arc::new(AtomicBool::new(false)) };
        // The shutdown is registered first, so it sees the section's state
        // before the flag is set (signal_hook::flag's documented order).
        let sigint = signal_hook::consts::SIGINT;
        if signal_hook::flag::register_conditional_shutdown(sigint, INTERRUPTED, Arc::clone(&flags.exit_at_once))
            .and_then(|_| signal_hook::flag::register(sigint, Arc::clone(&flags.pending)))
            .is_err()
        {
            tracing::debug!("could not install the SIGINT handler; Ctrl-C keeps its default action");
        }
        flags
    });
}

/// Run `section` with Ctrl-C deferred: a SIGINT during it is only noted
/// ([`pending`]). Without [`install`] it simply runs. Sections do not nest:
/// the inner one's end would re-arm the immediate exit.
pub fn critical<T>(section: impl FnOnce() -> T) -> T {
    let Some(flags) = FLAGS.get() else { return section() };
    flags.exit_at_once.store(false, Ordering::SeqCst);
    let result = section();
    flags.exit_at_once.store(true, Ordering::SeqCst);
    result
}

/// Whether Ctrl-C arrived during a critical section (and was deferred).
pub fn pending() -> bool {
    FLAGS.get().is_some_and(|f| f.pending.load(Ordering::SeqCst))
}

/// Exit with 130 now if Ctrl-C arrived during a critical section that has
/// since finished (for commands with nothing else to put back).
pub fn exit_if_pending() {
    if pending() {
        std::process::exit(INTERRUPTED);
    }
}
