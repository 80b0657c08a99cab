//! Every request to the API server goes through `RetryAfter`: a refusal that says when to come back (429 Too
//! Many Requests or a 5xx with `Retry-After`, as an overloaded, throttling or shutting-down kube-apiserver
//! sends) is retried after that long, as client-go's REST client does, and the wait is kept in `ServerWaits`
//! so that the output can say why nothing happens yet. A refusal without the hint, or one retried too often,
//! goes back to the caller, whose own backoff takes over.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use kube::client::Body;
use tower::{BoxError, Layer, Service, ServiceExt};

use super::waits::ServerWaits;

/// How often one request is retried on the server's word: client-go's default (`maxRetries`).
pub const MAX_RETRIES: u32 = 10;
/// A longer `Retry-After` is cut to this: a person at a terminal should hear back from the tool sooner.
pub const LONGEST_RETRY_AFTER: Duration = Duration::from_secs(30);

/// Whether an answer is the server refusing the request for now: too many requests, or a failure on its side.
pub fn is_refusal(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}

/// How long to wait before retrying a refused request, when it is to be retried here at all: a GET (every
/// request of this tool reads; a write might have taken effect), refused with a `Retry-After` in seconds,
/// fewer than `MAX_RETRIES` times so far.
pub fn retry_after(method: &Method, status: StatusCode, headers: &HeaderMap, retries: u32) -> Option<Duration> {
    if *method != Method::GET || !is_refusal(status) || retries >= MAX_RETRIES {
        return None;
    }
    let seconds: u64 = headers
        .get(http::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(LONGEST_RETRY_AFTER))
}

#[derive(Debug, Clone)]
pub struct RetryAfterLayer {
    waits: ServerWaits,
}

impl RetryAfterLayer {
    pub fn new(waits: ServerWaits) -> RetryAfterLayer {
        RetryAfterLayer { waits }
    }
}

impl<S> Layer<S> for RetryAfterLayer {
    type Service = RetryAfter<S>;

    fn layer(&self, inner: S) -> RetryAfter<S> {
        RetryAfter {
            inner: Arc::new(tokio::sync::Mutex::new(inner)),
            waits: self.waits.clone(),
        }
    }
}

/// The service below is kube's own stack, which cannot be cloned; it is shared, and held only while a
/// request is handed to it, not while the answer comes.
pub struct RetryAfter<S> {
    inner: Arc<tokio::sync::Mutex<S>>,
    waits: ServerWaits,
}

impl<S, B> Service<Request<Body>> for RetryAfter<S>
where
    S: Service<Request<Body>, Response = Response<B>> + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = Response<B>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<B>, BoxError>>;

    fn poll_ready(&mut self, _context: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        // Readiness is awaited per attempt, inside the call.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let inner = self.inner.clone();
        let pending = self.waits.begin();
        Box::pin(async move {
            let mut request = request;
            let mut retries = 0;
            loop {
                let copy = copy_of(&request);
                let method = request.method().clone();
                pending.sent(Instant::now());
                let answer = {
                    let mut service = inner.lock().await;
                    service.ready().await.map_err(Into::into)?;
                    service.call(request)
                };
                let response = answer.await.map_err(Into::into)?;
                let status = response.status();
                if !is_refusal(status) {
                    pending.accepted();
                    return Ok(response);
                }
                let wait = copy
                    .as_ref()
                    .and_then(|_| retry_after(&method, status, response.headers(), retries));
                pending.refused(status.as_u16(), wait, Instant::now());
                match (wait, copy) {
                    (Some(wait), Some(copy)) => {
                        retries += 1;
                        drop(response);
                        tokio::time::sleep(wait).await;
                        request = copy;
                    }
                    _ => return Ok(response),
                }
            }
        })
    }
}

/// The same request again; `None` for one whose body can be sent only once (none of this tool's).
fn copy_of(request: &Request<Body>) -> Option<Request<Body>> {
    let mut copy = Request::new(request.body().try_clone()?);
    *copy.method_mut() = request.method().clone();
    *copy.uri_mut() = request.uri().clone();
    *copy.version_mut() = request.version();
    *copy.headers_mut() = request.headers().clone();
    *copy.extensions_mut() = request.extensions().clone();
    Some(copy)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::cluster::waits::WaitCause;

    fn headers(retry_after: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(http::header::RETRY_AFTER, retry_after.parse().expect("a header value"));
        headers
    }

    #[test]
    fn refusals_with_a_hint_are_retried_after_it_within_bounds() {
        let get = Method::GET;
        let once = Some(Duration::from_secs(1));
        assert_eq!(retry_after(&get, StatusCode::TOO_MANY_REQUESTS, &headers("1"), 0), once);
        assert_eq!(
            retry_after(&get, StatusCode::SERVICE_UNAVAILABLE, &headers(" 1 "), 9),
            once
        );
        assert_eq!(
            retry_after(&get, StatusCode::INTERNAL_SERVER_ERROR, &headers("3600"), 0),
            Some(LONGEST_RETRY_AFTER)
        );
        assert_eq!(
            retry_after(&get, StatusCode::TOO_MANY_REQUESTS, &headers("1"), MAX_RETRIES),
            None,
            "retried often enough: the caller's backoff takes over"
        );
        assert_eq!(
            retry_after(&get, StatusCode::TOO_MANY_REQUESTS, &HeaderMap::new(), 0),
            None
        );
        assert_eq!(
            retry_after(
                &get,
                StatusCode::TOO_MANY_REQUESTS,
                &headers("Wed, 21 Oct 2026 07:28:00 GMT"),
                0
            ),
            None,
            "client-go reads seconds only"
        );
        assert_eq!(retry_after(&get, StatusCode::FORBIDDEN, &headers("1"), 0), None);
        assert_eq!(retry_after(&get, StatusCode::GONE, &headers("1"), 0), None);
        assert_eq!(
            retry_after(&Method::POST, StatusCode::TOO_MANY_REQUESTS, &headers("1"), 0),
            None,
            "a write may have taken effect"
        );
    }

    /// A service that refuses the first `refusals` requests with `Retry-After: 0`, then answers 200.
    fn refusing(
        refusals: u32,
        calls: Arc<AtomicU32>,
    ) -> RetryAfter<impl Service<Request<Body>, Response = Response<String>, Error = BoxError, Future = impl Send> + Send>
    {
        let service = tower::service_fn(move |_request: Request<Body>| {
            let call = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut response = Response::new(String::new());
                if call < refusals {
                    *response.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    response.headers_mut().insert(http::header::RETRY_AFTER, "0".parse()?);
                }
                Ok::<_, BoxError>(response)
            }
        });
        RetryAfterLayer::new(ServerWaits::default()).layer(service)
    }

    #[tokio::test]
    async fn a_refused_request_is_sent_again_until_accepted_and_the_wait_ends() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut service = refusing(3, calls.clone());
        let waits = service.waits.clone();
        let response = service.call(Request::new(Body::empty())).await.expect("answered");
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(calls.load(Ordering::SeqCst), 4);
        assert_eq!(waits.current(), None, "accepted: nothing is waited for");
    }

    #[tokio::test]
    async fn a_request_refused_too_often_goes_back_refused_and_the_wait_goes_on() {
        let calls = Arc::new(AtomicU32::new(0));
        let mut service = refusing(u32::MAX, calls.clone());
        let waits = service.waits.clone();
        let response = service.call(Request::new(Body::empty())).await.expect("answered");
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(calls.load(Ordering::SeqCst), MAX_RETRIES + 1);
        assert!(matches!(
            waits.current().map(|wait| wait.cause),
            Some(WaitCause::Refused { status: 429, retry_after: None, refusals }) if refusals == MAX_RETRIES + 1
        ));
    }
}
