//! The errors a user can meet, each with its one-line message and exit code, and the one place where what a
//! failed request or a library error means to the user is decided.

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
    #[error("{0}")]
    Recording(String),
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
            Error::Recording(_) => ExitCode::Recording,
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

    /// A refusal of a cluster-wide watch is often fixed by watching one namespace.
    pub fn with_namespace_hint(self, all_namespaces: bool) -> Error {
        match self {
            Error::Forbidden(message) if all_namespaces => {
                Error::Forbidden(format!("{message}; try one namespace with -n NAMESPACE instead of -A"))
            }
            other => other,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What a failed request means to the user, as one of the typed errors; `doing` says what was asked.
pub fn request_error(error: kube::Error, doing: &str) -> Error {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                format!("{} {}", status.code, status.reason)
            } else {
                status.message.clone()
            };
            match status.code {
                401 => Error::Unauthorized(format!(
                    "the API server rejected the credentials while {doing} (401 Unauthorized): \
                     check the kubeconfig user, token or client certificate"
                )),
                403 => Error::Forbidden(message),
                404 => Error::ResourceType(format!(
                    "the API server does not serve this resource type (404 Not Found) while {doing}: \
                     it may have been removed; run again to rediscover the server's types"
                )),
                _ => Error::Rejected(format!("the API server refused {doing}: {message}")),
            }
        }
        kube::Error::Auth(error) => Error::Unauthorized(format!("getting credentials failed: {}", causes(&error))),
        kube::Error::HyperError(_) | kube::Error::Service(_) => {
            let description = causes(&error);
            let lowered = description.to_lowercase();
            // Only a certificate the client refused is a verification failure; a handshake cut short (a proxy
            // or load balancer that drops the connection) is the server not being reachable.
            if lowered.contains("certificate") {
                Error::Connection(format!(
                    "TLS verification of the API server failed while {doing}: {description}"
                ))
            } else {
                Error::Connection(format!("cannot reach the API server while {doing}: {description}"))
            }
        }
        other => Error::Internal(anyhow::anyhow!("{doing}: {}", causes(&other))),
    }
}

/// An error and its sources, as one line, each cause said once.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = plain_words(&error.to_string());
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// An error's text as one would say it during an incident: no link to a manual, no library's name for its
/// own error type, a connection cut short called that rather than by the TLS message it causes, and a proxy's
/// refusal or absence named as such.
fn plain_words(text: &str) -> String {
    let text = match text.find(": https://") {
        Some(link) => &text[..link],
        None => text,
    };
    const PLAIN: [(&str, &str); 12] = [
        ("ServiceError: ", ""),
        (
            "peer closed connection without sending TLS close_notify",
            "the connection was cut",
        ),
        // hyper-util's words for what went wrong with an HTTP proxy (a CONNECT answered with anything but 200).
        (
            "tunnel error: unsuccessful",
            "the proxy refused to open a tunnel to the API server (its answer to CONNECT was not 200)",
        ),
        (
            "tunnel error: proxy authorization required",
            "the proxy asks for credentials (407 Proxy Authentication Required)",
        ),
        (
            "tunnel error: failed to create underlying connection",
            "cannot connect to the proxy",
        ),
        (
            "tunnel error: io error establishing tunnel",
            "the connection to the proxy failed while opening a tunnel",
        ),
        (
            "tunnel error: unexpected end of file",
            "the proxy closed the connection while opening a tunnel",
        ),
        // And with a SOCKS proxy.
        (
            "SOCKS error: failed to create underlying connection",
            "cannot connect to the SOCKS proxy",
        ),
        (
            "SOCKS error: io error during SOCKS handshake",
            "the connection to the SOCKS proxy failed",
        ),
        (
            "SOCKS error: credentials not accepted",
            "the SOCKS5 proxy turned the user name and password away",
        ),
        (
            "SOCKS error: server does not support user/pass authentication",
            "the SOCKS5 proxy does not take a user name and password",
        ),
        ("SOCKS error: ", "the SOCKS proxy refused: "),
    ];
    PLAIN
        .iter()
        .fold(text.to_string(), |text, (said, plainly)| text.replace(said, plainly))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<Layer>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Layer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|layer| layer as _)
        }
    }

    #[test]
    fn causes_read_plainly() {
        let cut = Layer(
            "error reading a body from connection",
            Some(Box::new(Layer(
                "peer closed connection without sending TLS close_notify: \
                 https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
                None,
            ))),
        );
        assert_eq!(
            causes(&cut),
            "error reading a body from connection: the connection was cut"
        );
    }

    #[test]
    fn a_proxy_that_refuses_or_is_not_there_is_named() {
        // As kube-rs and hyper-util said them: tinyproxy refusing a CONNECT, and proxies that were down.
        let refused = Layer(
            "ServiceError: client error (Connect)",
            Some(Box::new(Layer("tunnel error: unsuccessful", None))),
        );
        assert_eq!(
            causes(&refused),
            "client error (Connect): the proxy refused to open a tunnel to the API server (its answer to CONNECT was not 200)"
        );
        let down = Layer(
            "client error (Connect)",
            Some(Box::new(Layer(
                "tunnel error: failed to create underlying connection",
                Some(Box::new(Layer(
                    "tcp connect error: Connection refused (os error 111)",
                    None,
                ))),
            ))),
        );
        assert_eq!(
            causes(&down),
            "client error (Connect): cannot connect to the proxy: tcp connect error: Connection refused (os error 111)"
        );
        let socks = Layer(
            "client error (Connect)",
            Some(Box::new(Layer(
                "SOCKS error: failed to create underlying connection",
                None,
            ))),
        );
        assert_eq!(
            causes(&socks),
            "client error (Connect): cannot connect to the SOCKS proxy"
        );
        let turned_away = Layer("SOCKS error: credentials not accepted", None);
        assert_eq!(
            causes(&turned_away),
            "the SOCKS5 proxy turned the user name and password away"
        );
    }

    #[test]
    fn the_namespace_hint_is_for_cluster_wide_refusals_only() {
        let refused = || Error::Forbidden("pods is forbidden".into());
        assert_eq!(
            refused().with_namespace_hint(true).to_string(),
            "pods is forbidden; try one namespace with -n NAMESPACE instead of -A"
        );
        assert_eq!(refused().with_namespace_hint(false).to_string(), "pods is forbidden");
        assert!(matches!(
            Error::Rejected("x".into()).with_namespace_hint(true),
            Error::Rejected(_)
        ));
    }
}
