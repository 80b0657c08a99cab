//! gzip as client-go reads it: a request that says nothing of encodings asks for gzip, and a gzipped body is
//! read to its end, every member of it. RFC 1952 lets a gzip stream be several members one after another, and
//! kube-apiserver 1.37 gzips a streamed list and every watch that asks for bookmarks, closing a member at each
//! flush, so such a body is one member per flush; tower-http's decoder stops after the first one
//! (tower-rs/tower-http#737), so this one is async-compression's with `multiple_members` on.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::GzipDecoder;
use bytes::Bytes;
use futures::TryStreamExt;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH};
use http::{HeaderValue, Request, Response};
use http_body::Frame;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyDataStream, BodyExt, StreamBody};
use tokio_util::io::{ReaderStream, StreamReader};
use tower::{BoxError, Layer, Service};

/// A response body as the layers above read it, decoded.
pub type DecodedBody = UnsyncBoxBody<Bytes, BoxError>;

/// How much of a decoded body is handed on at once: a page of a LIST is megabytes.
const DECODED_CHUNK: usize = 64 * 1024;

/// Asks for gzip where a request says nothing (`enabled` false: as `disable-compression: true`), and decodes
/// what comes gzipped.
#[derive(Debug, Clone, Copy)]
pub struct GzipLayer {
    pub enabled: bool,
}

impl<S> Layer<S> for GzipLayer {
    type Service = Gzip<S>;

    fn layer(&self, inner: S) -> Gzip<S> {
        Gzip {
            inner,
            enabled: self.enabled,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gzip<S> {
    inner: S,
    enabled: bool,
}

impl<S, B, ResBody> Service<Request<B>> for Gzip<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    type Response = Response<DecodedBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        if self.enabled && !request.headers().contains_key(ACCEPT_ENCODING) {
            request
                .headers_mut()
                .insert(ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        }
        let responding = self.inner.call(request);
        Box::pin(async move { Ok(decoded(responding.await?)) })
    }
}

/// The response with its body decoded when it came gzipped, else as it came.
fn decoded<ResBody>(response: Response<ResBody>) -> Response<DecodedBody>
where
    ResBody: http_body::Body<Data = Bytes> + Send + 'static,
    ResBody::Error: Into<BoxError>,
{
    let gzipped = response
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|encoding| encoding.to_str().ok())
        .is_some_and(|encoding| encoding.trim().eq_ignore_ascii_case("gzip"));
    if !gzipped {
        return response.map(|body| body.map_err(Into::into).boxed_unsync());
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.remove(CONTENT_ENCODING);
    parts.headers.remove(CONTENT_LENGTH);
    let compressed = BodyDataStream::new(body).map_err(|error| std::io::Error::other(error.into()));
    let mut decoder = GzipDecoder::new(StreamReader::new(compressed));
    decoder.multiple_members(true);
    let frames = ReaderStream::with_capacity(decoder, DECODED_CHUNK)
        .map_ok(Frame::data)
        .map_err(BoxError::from);
    Response::from_parts(parts, StreamBody::new(frames).boxed_unsync())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(text: &str) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).expect("written");
        encoder.finish().expect("finished")
    }

    async fn read(response: Response<DecodedBody>) -> Result<String, BoxError> {
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok(String::from_utf8(bytes.to_vec()).expect("UTF-8"))
    }

    fn response(body: Vec<u8>, encoding: Option<&str>) -> Response<http_body_util::Full<Bytes>> {
        let mut builder = Response::builder();
        if let Some(encoding) = encoding {
            builder = builder.header(CONTENT_ENCODING, encoding);
        }
        builder
            .body(http_body_util::Full::new(Bytes::from(body)))
            .expect("a response")
    }

    #[tokio::test]
    async fn every_member_of_a_gzipped_body_is_read() {
        // One member per event, as kube-apiserver 1.37 sends a compressed streamed list.
        let events = [
            "{\"type\":\"ADDED\"}\n",
            "{\"type\":\"MODIFIED\"}\n",
            "{\"type\":\"BOOKMARK\"}\n",
        ];
        let body: Vec<u8> = events.iter().flat_map(|event| gzip(event)).collect();
        let decoded = decoded(response(body, Some("gzip")));
        assert!(decoded.headers().get(CONTENT_ENCODING).is_none());
        assert_eq!(read(decoded).await.expect("read"), events.concat());
    }

    #[tokio::test]
    async fn a_body_not_gzipped_is_passed_on_as_it_came() {
        let plain = "{\"kind\":\"Status\"}";
        assert_eq!(read(decoded(response(plain.into(), None))).await.expect("read"), plain);
    }

    #[tokio::test]
    async fn a_corrupt_gzipped_body_is_an_error_not_a_truncated_read() {
        let mut body = gzip("{\"kind\":\"PodList\",\"items\":[]}");
        body.extend_from_slice(b"\x1f\x8b\x08garbage that is no gzip member");
        assert!(read(decoded(response(body, Some("gzip")))).await.is_err());
    }
}
