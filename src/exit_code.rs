//! The exit codes, in one place, so that scripts can rely on them. The README lists them.

/// How the process ends. The numbers never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// Ended as asked, or its output was closed by the reader (`| head`).
    Success,
    /// An unexpected failure that is none of the cases below.
    Failure,
    /// The command line is wrong: an unknown flag, a missing argument, a value out of range.
    Usage,
    /// The kubeconfig is missing or malformed, or names a context, cluster or user that is not in it.
    Config,
    /// The API server could not be reached: refused, unresolvable, timed out, or its certificate not trusted.
    Connection,
    /// The API server did not accept the credentials (401), or getting credentials failed.
    Unauthorized,
    /// The API server refused the request (403): RBAC does not allow it.
    Forbidden,
    /// A resource type is unknown to the server or cannot be watched.
    ResourceType,
    /// The API server rejected a request for another reason, such as an invalid selector (400).
    Rejected,
    /// A recording cannot be written (`--record`), or read (`--replay`: missing, not a recording, damaged).
    Recording,
    /// Ended by a signal: 128 + its number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
    Signal(u8),
}

impl ExitCode {
    pub fn code(self) -> u8 {
        match self {
            ExitCode::Success => 0,
            ExitCode::Failure => 1,
            ExitCode::Usage => 2,
            ExitCode::Config => 3,
            ExitCode::Connection => 4,
            ExitCode::Unauthorized => 5,
            ExitCode::Forbidden => 6,
            ExitCode::ResourceType => 7,
            ExitCode::Rejected => 8,
            ExitCode::Recording => 9,
            ExitCode::Signal(number) => 128u8.saturating_add(number),
        }
    }
}

impl From<ExitCode> for std::process::ExitCode {
    fn from(code: ExitCode) -> Self {
        std::process::ExitCode::from(code.code())
    }
}
