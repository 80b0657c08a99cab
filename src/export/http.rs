//! The OTLP exporter's HTTP client: hyper, as the rest of the program speaks it, over TLS verified against the
//! system's roots. It remembers how the last request ended, which is what decides between trying again (the
//! collector is away or busy) and giving up on a batch (the collector refuses it).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError};

/// A collector's answer is a few bytes; more than this is not one.
const ANSWER_LIMIT: usize = 4 * 1024 * 1024;
/// One request, connection included, may take this long.
pub(super) const REQUEST_LIMIT: Duration = Duration::from_secs(10);

/// How the last request to the collector ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Nothing sent yet.
    None,
    /// No answer: refused connection, reset, timeout.
    Unreachable,
    /// An HTTP status.
    Status(u16),
}

impl Outcome {
    /// A status that sending the same batch again will not change (OTLP/HTTP: 4xx other than 408 and 429).
    pub(super) fn refused(self) -> bool {
        matches!(self, Outcome::Status(status) if (400..500).contains(&status) && status != 408 && status != 429)
    }
}

#[derive(Debug, Clone)]
pub(super) struct CollectorClient {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    last: Arc<Mutex<Outcome>>,
}

impl CollectorClient {
    pub(super) fn new() -> Result<CollectorClient, String> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|error| format!("cannot read the system's certificate authorities: {error}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(CollectorClient {
            client: Client::builder(TokioExecutor::new()).build(connector),
            last: Arc::new(Mutex::new(Outcome::None)),
        })
    }

    /// How the last request ended.
    pub(super) fn last(&self) -> Outcome {
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn remember(&self, outcome: Outcome) {
        *self.last.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = outcome;
    }
}

#[async_trait::async_trait]
impl HttpClient for CollectorClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let sent = async {
            let response = self.client.request(request.map(Full::new)).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, ANSWER_LIMIT).collect().await?.to_bytes();
            Ok::<_, HttpError>(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(REQUEST_LIMIT, sent).await {
            Ok(Ok(response)) => {
                self.remember(Outcome::Status(response.status().as_u16()));
                Ok(response)
            }
            Ok(Err(error)) => {
                self.remember(Outcome::Unreachable);
                Err(error)
            }
            Err(_) => {
                self.remember(Outcome::Unreachable);
                Err(format!("no answer in {}s", REQUEST_LIMIT.as_secs()).into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_client_error_other_than_timeout_and_throttling_is_a_refusal() {
        for status in [400, 401, 403, 404, 413, 415] {
            assert!(Outcome::Status(status).refused(), "{status}");
        }
        for status in [200, 408, 429, 500, 502, 503, 504] {
            assert!(!Outcome::Status(status).refused(), "{status}");
        }
        assert!(!Outcome::Unreachable.refused());
        assert!(!Outcome::None.refused());
    }
}
