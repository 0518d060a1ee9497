//! Exit codes shared by every gpuops kubectl plugin.

/// How a command ended. The numbers are the documented interface:
///
/// | code | meaning |
/// | --- | --- |
/// | 0 | success: fits, up to date, applied |
/// | 1 | the answer is "no": does not fit (gpufit); differences found under `--dry-run` (modelbump, as `kubectl diff`); no tag satisfies the policy (`modelbump tags`) |
/// | 2 | error: usage, input, registry, git or cluster |
/// | 3 | everything checked fits, but something could not be checked (gpufit: a model or GPU it does not know) |
/// | 130 | interrupted (SIGINT) |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    Success,
    /// A negative answer that is not an error.
    Negative,
    Error,
    /// Nothing checked is negative, but part of the question could not be answered.
    Unchecked,
    Interrupted,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Negative => 1,
            ExitCode::Error => 2,
            ExitCode::Unchecked => 3,
            ExitCode::Interrupted => 130,
        }
    }

    /// `Negative` when `yes` is false.
    pub fn answer(yes: bool) -> Self {
        if yes { ExitCode::Success } else { ExitCode::Negative }
    }

    /// The code of several answers (a fleet): the worst one.
    pub fn merge(self, other: ExitCode) -> ExitCode {
        if other.severity() > self.severity() { other } else { self }
    }

    /// Worse answers win a merge: a "no" outweighs an unchecked part.
    fn severity(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Unchecked => 1,
            ExitCode::Negative => 2,
            ExitCode::Error => 3,
            ExitCode::Interrupted => 4,
        }
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
        assert_eq!(ExitCode::Unchecked.merge(ExitCode::Negative), ExitCode::Negative);
        assert_eq!(ExitCode::Success.merge(ExitCode::Unchecked).code(), 3);
    }
}
