//! Exit codes shared by every gpuops kubectl plugin.

/// How a command ended. The numbers are the documented interface:
///
/// | code | meaning |
/// | --- | --- |
/// | 0 | success: fits, up to date, applied |
/// | 1 | the answer is "no": does not fit (gpufit); differences found under `--dry-run` (modelbump, as `kubectl diff`); no tag satisfies the policy (`modelbump tags`) |
/// | 2 | error: usage, input, registry, git or cluster |
/// | 130 | interrupted (SIGINT) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    /// A negative answer that is not an error.
    Negative,
    Error,
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Negative => 1,
            ExitCode::Error => 2,
            ExitCode::Interrupted => 130,
        }
    }

    /// `Negative` when `yes` is false.
    pub fn answer(yes: bool) -> Self {
        if yes { ExitCode::Success } else { ExitCode::Negative }
    }

    /// The code of several answers (a fleet): the worst one.
    pub fn merge(self, other: ExitCode) -> ExitCode {
        if other.code() > self.code() { other } else { self }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitCode;

    #[test]
    fn documented_numbers_and_merging() {
        assert_eq!([ExitCode::Success, ExitCode::Negative, ExitCode::Error].map(ExitCode::code), [0, 1, 2]);
        assert_eq!(ExitCode::Success.merge(ExitCode::Negative), ExitCode::Negative);
        assert_eq!(ExitCode::Error.merge(ExitCode::Negative), ExitCode::Error);
        assert_eq!(ExitCode::answer(false), ExitCode::Negative);
    }
}
