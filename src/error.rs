//! The errors a user can meet, each with its one-line message and exit code.

use crate::exit_code::ExitCode;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Config(String),
    #[error("{0}")]
    Connection(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    ResourceType(String),
    #[error("{0}")]
    Rejected(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Usage(_) => ExitCode::Usage,
            Error::Config(_) => ExitCode::Config,
            Error::Connection(_) => ExitCode::Connection,
            Error::Unauthorized(_) => ExitCode::Unauthorized,
            Error::Forbidden(_) => ExitCode::Forbidden,
            Error::ResourceType(_) => ExitCode::ResourceType,
            Error::Rejected(_) => ExitCode::Rejected,
            Error::Internal(_) => ExitCode::Failure,
        }
    }

    /// The message for the user: one line, whatever the error's sources said.
    pub fn one_line(&self) -> String {
        let message = match self {
            Error::Internal(error) => format!("{error:#}"),
            other => other.to_string(),
        };
        message.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
