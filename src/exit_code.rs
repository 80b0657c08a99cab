//! The exit codes, in one place, so that scripts can rely on them.

/// How the process ends. The numbers are documented in the README and never reused for something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Ended as asked.
    Success,
    /// Something went wrong that is none of the cases below.
    Failure,
    /// The command line is wrong: an unknown flag, a missing argument, a value out of range.
    Usage,
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
