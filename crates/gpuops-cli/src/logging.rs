//! kubectl-style verbosity (`-v N`, `--v=N`) mapped onto `tracing`.
//!
//! kubectl's levels: 0 warnings only (the default), 1–3 progress, 4 debug,
//! 6 request URLs and timings, 8+ bodies. Here: 0 → warn, 1–3 → info,
//! 4–5 → debug, 6+ → trace. `GPUOPS_LOG` (an `EnvFilter` directive such as
//! `gpuops_registry=debug`) overrides the level. Diagnostics go to stderr,
//! never stdout, so `-o json` stays parseable.

use tracing_subscriber::EnvFilter;

/// `-v` / `--v`: the kubectl verbosity flag.
#[derive(Debug, Clone, Copy, Default, clap::Args)]
pub struct Verbosity {
    /// Log level for diagnostics on stderr (kubectl's -v): 0 warnings, 2 progress, 4 debug (requests, retries, pages, timings), 6 trace.
    #[arg(short = 'v', long = "v", value_name = "LEVEL", default_value_t = 0, global = true)]
    pub level: u8,
}

impl Verbosity {
    fn directive(self) -> &'static str {
        match self.level {
            // kube-client logs its own copy of every failed request at
            // error level; the command already says it once, as kubectl does.
            0 => "warn,kube_client=off",
            1..=3 => "info",
            4 | 5 => "debug",
            _ => "trace",
        }
    }
}

/// Install the stderr subscriber once; later calls do nothing.
pub fn init_logging(verbosity: Verbosity) {
    // Log lines and a progress bar on one stderr would interleave.
    if verbosity.level > 0 || std::env::var_os("GPUOPS_LOG").is_some() {
        crate::progress::disable();
    }
    let filter = std::env::var("GPUOPS_LOG")
        .ok()
        .and_then(|directives| EnvFilter::try_new(directives).ok())
        .unwrap_or_else(|| EnvFilter::new(verbosity.directive()));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()), std::env::var_os("NO_COLOR")))
        .with_target(verbosity.level >= 6)
        .try_init();
}

/// Colours only on a terminal and without `NO_COLOR` set to a non-empty
/// value (https://no-color.org). tracing-subscriber checks `NO_COLOR` only
/// for its default; an explicit `with_ansi` replaces that check
/// (tracing-subscriber fmt `SubscriberBuilder::with_ansi`).
fn ansi(is_terminal: bool, no_color: Option<std::ffi::OsString>) -> bool {
    is_terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::Verbosity;

    #[test]
    fn no_color_turns_colours_off_on_a_terminal() {
        use std::ffi::OsString;
        assert!(super::ansi(true, None));
        assert!(!super::ansi(true, Some(OsString::from("1"))));
        // no-color.org: "present and not an empty string".
        assert!(super::ansi(true, Some(OsString::new())));
        assert!(!super::ansi(false, None));
    }

    #[test]
    fn kubectl_levels() {
        let level = |n| Verbosity { level: n }.directive();
        assert_eq!([level(2), level(4), level(6), level(9)], ["info", "debug", "trace", "trace"]);
        assert!(level(0).starts_with("warn"));
    }
}
