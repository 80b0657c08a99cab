//! The HTTP client under kube's layers, as client-go's is: HTTP/2 offered by ALPN, and every request of a
//! context (discovery, lists, every watch) multiplexed over one connection, with a second one only past the
//! streams the server allows on one (its `SETTINGS_MAX_CONCURRENT_STREAMS`); HTTP/1.1, one connection per
//! request in flight, where the server or the path does not offer h2. HTTP/2 PINGs find a connection that a
//! load balancer dropped without waiting for a watch's silence limit. Connecting is bounded step by step:
//! the TCP connection (through a proxy: with its CONNECT or SOCKS exchange) on its own, the TLS handshake on its
//! own, as client-go's `TLSHandshakeTimeout`, so that a balancer that accepts and never answers costs seconds.
//!
//! kube-rs 5 speaks only HTTP/1.1 (its hyper features, and no ALPN), and hyper-util's pool never opens a second
//! HTTP/2 connection when one is full (it queues; hyperium/hyper#2197), where a queued watch would wait forever:
//! hence this pool of `hyper::client::conn::http2` connections, small and of one purpose.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper::rt::{Read, Write};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::client::legacy::connect::{Connection, HttpConnector};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use kube::Config;
use kube::client::{Body, ClientBuilder, ConfigExt, DynBody};
use rustls::pki_types::ServerName;
use tower::util::BoxService;
use tower::{BoxError, Service, ServiceBuilder, ServiceExt};

use super::gzip::{DecodedBody, GzipLayer};

/// client-go's `TLSHandshakeTimeout`.
pub const TLS_HANDSHAKE_LIMIT: Duration = Duration::from_secs(10);
/// client-go's dialer timeout; through a proxy it bounds the proxy's CONNECT or SOCKS exchange too.
pub const TCP_CONNECT_LIMIT: Duration = Duration::from_secs(30);
/// How often an HTTP/2 connection is PINGed, and how long an answer may take, as client-go's `ReadIdleTimeout`
/// (30 s) and `PingTimeout` (15 s).
const PING_INTERVAL: Duration = Duration::from_secs(30);
const PING_LIMIT: Duration = Duration::from_secs(15);

/// How long each step of connecting may take.
#[derive(Debug, Clone, Copy)]
pub struct ConnectLimits {
    pub tcp: Duration,
    pub tls: Duration,
}

impl ConnectLimits {
    /// client-go's, or `--request-timeout` where that is shorter.
    pub fn within(request_timeout: Option<Duration>) -> ConnectLimits {
        let bound = |limit: Duration| request_timeout.map_or(limit, |request| request.min(limit));
        ConnectLimits {
            tcp: bound(TCP_CONNECT_LIMIT),
            tls: bound(TLS_HANDSHAKE_LIMIT),
        }
    }
}

/// The protocol a context's connections speak, known once the first one is made (0 until then).
#[derive(Debug, Clone, Default)]
pub struct Protocol(Arc<AtomicU8>);

const HTTP1: u8 = 1;
const HTTP2: u8 = 2;

impl Protocol {
    /// `HTTP/2` or `HTTP/1.1`; none before the first connection.
    pub fn name(&self) -> Option<&'static str> {
        match self.0.load(Ordering::Relaxed) {
            HTTP2 => Some("HTTP/2"),
            HTTP1 => Some("HTTP/1.1"),
            _ => None,
        }
    }

    fn set(&self, protocol: u8) {
        self.0.store(protocol, Ordering::Relaxed);
    }

    fn is(&self, protocol: u8) -> bool {
        self.0.load(Ordering::Relaxed) == protocol
    }
}

/// The fastest TLS handshake of a context's connections: at least one round trip of the link to the API
/// server (TLS 1.3 takes one, through any proxy's tunnel), plus a signature's work for the server, which stays
/// short however busy it is. What tells a slow link from a busy server (`engine::stream`).
#[derive(Debug, Clone)]
pub struct RoundTrip(Arc<AtomicU64>);

impl Default for RoundTrip {
    fn default() -> Self {
        RoundTrip(Arc::new(AtomicU64::new(u64::MAX)))
    }
}

impl RoundTrip {
    /// The fastest handshake so far; none before the first one, and none over plain `http://`.
    pub fn fastest(&self) -> Option<Duration> {
        match self.0.load(Ordering::Relaxed) {
            u64::MAX => None,
            micros => Some(Duration::from_micros(micros)),
        }
    }

    pub fn record(&self, handshake: Duration) {
        let micros = u64::try_from(handshake.as_micros()).unwrap_or(u64::MAX - 1);
        self.0.fetch_min(micros, Ordering::Relaxed);
    }
}

/// What failed while connecting, in words for an incident.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("client error (Connect)")]
    Connect(#[source] BoxError),
    #[error("no TCP connection to {host} within {:.0}s", limit.as_secs_f64())]
    TcpTimeout { host: String, limit: Duration },
    #[error(
        "the TLS handshake with {host} did not finish within {:.0}s (something accepted the connection and never answered)",
        limit.as_secs_f64()
    )]
    TlsTimeout { host: String, limit: Duration },
    #[error("client error (Connect): TLS handshake with {host} failed")]
    Tls {
        host: String,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TLS server name {0}")]
    ServerName(String),
}

/// A connector that bounds its inner connection (TCP, or a proxy's tunnel) and then the TLS handshake, each on
/// its own, offering the protocols of its TLS configuration by ALPN.
#[derive(Clone)]
pub struct BoundedTls<C> {
    inner: C,
    tls: tokio_rustls::TlsConnector,
    server_name: Option<ServerName<'static>>,
    limits: ConnectLimits,
    round_trip: RoundTrip,
}

type Connecting<T> = Pin<Box<dyn Future<Output = Result<T, ConnectError>> + Send>>;

impl<C> Service<Uri> for BoundedTls<C>
where
    C: Service<Uri> + Clone + Send + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = MaybeHttpsStream<C::Response>;
    type Error = ConnectError;
    type Future = Connecting<Self::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| ConnectError::Connect(error.into()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        // The clone that was made ready does the call, as tower asks.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tls = self.tls.clone();
        let fixed_name = self.server_name.clone();
        let limits = self.limits;
        let round_trip = self.round_trip.clone();
        Box::pin(async move {
            let host = uri.host().unwrap_or_default().to_string();
            let https = uri.scheme() == Some(&http::uri::Scheme::HTTPS);
            let connecting = async {
                inner
                    .call(uri)
                    .await
                    .map_err(|error| ConnectError::Connect(error.into()))
            };
            let io = match tokio::time::timeout(limits.tcp, connecting).await {
                Err(_) => {
                    return Err(ConnectError::TcpTimeout {
                        host,
                        limit: limits.tcp,
                    });
                }
                Ok(connected) => connected?,
            };
            if !https {
                return Ok(MaybeHttpsStream::Http(io));
            }
            let name = match fixed_name {
                Some(name) => name,
                None => ServerName::try_from(host.trim_start_matches('[').trim_end_matches(']'))
                    .map_err(|_| ConnectError::ServerName(host.clone()))?
                    .to_owned(),
            };
            let handshake = std::time::Instant::now();
            match tokio::time::timeout(limits.tls, tls.connect(name, TokioIo::new(io))).await {
                Err(_) => Err(ConnectError::TlsTimeout {
                    host,
                    limit: limits.tls,
                }),
                Ok(Err(source)) => Err(ConnectError::Tls { host, source }),
                Ok(Ok(stream)) => {
                    round_trip.record(handshake.elapsed());
                    Ok(MaybeHttpsStream::from(stream))
                }
            }
        })
    }
}

/// The response body of either protocol.
pub type ResponseBody = UnsyncBoxBody<Bytes, hyper::Error>;

/// One HTTP/2 connection and the streams open on it.
struct Multiplexed {
    sender: http2::SendRequest<Body>,
    state: Arc<Shared>,
}

/// What the pool and a connection's streams know of it.
#[derive(Default)]
struct Shared {
    /// Streams open: requests sent and bodies not yet dropped.
    open: AtomicUsize,
    /// The streams the server allows at once, as its latest SETTINGS said.
    allowed: AtomicUsize,
    /// A stream was given up after a silence (no answer in time, or nothing heard for the silence limit): the
    /// connection may be stalled, so no new stream goes on it. Its other streams go on until they end, and a
    /// stalled one also fails its PINGs.
    doubtful: AtomicBool,
}

impl Multiplexed {
    /// Room for one more stream, as the server's SETTINGS allow.
    fn has_room(&self) -> bool {
        self.sender.is_ready() && self.state.open.load(Ordering::Acquire) < self.state.allowed.load(Ordering::Acquire)
    }

    fn usable(&self) -> bool {
        !self.sender.is_closed() && !self.state.doubtful.load(Ordering::Acquire)
    }
}

/// A stream given up after this long without hearing from it makes its connection doubtful. A stream given up
/// as soon as its last bytes came is not a sign of a stall: a gzip reader stops at the end of its member,
/// a watch at the ERROR event that ends it.
const SILENCE_OF_DOUBT: Duration = Duration::from_secs(1);

/// A stream's place on its connection, held from the request to its body's end.
struct Slot {
    state: Arc<Shared>,
    ended: bool,
    /// When the request went out, then when its stream last brought something.
    last_heard: std::time::Instant,
}

impl Slot {
    fn take(state: &Arc<Shared>) -> Slot {
        state.open.fetch_add(1, Ordering::AcqRel);
        Slot {
            state: state.clone(),
            ended: false,
            last_heard: std::time::Instant::now(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.state.open.fetch_sub(1, Ordering::AcqRel);
        if !self.ended && self.last_heard.elapsed() >= SILENCE_OF_DOUBT {
            self.state.doubtful.store(true, Ordering::Release);
        }
    }
}

/// Runs an HTTP/2 connection, keeping what its server's SETTINGS allow where the pool can read it.
struct Driven<F> {
    connection: Pin<Box<F>>,
    state: Arc<Shared>,
}

impl<T, E> Future for Driven<http2::Connection<T, Body, E>>
where
    T: Read + Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ClientConnExec<Body, T> + Unpin,
{
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let done = self.connection.as_mut().poll(cx);
        self.state
            .allowed
            .store(self.connection.current_max_send_streams(), Ordering::Release);
        // An error ends the connection; its streams see it and their watches resume over a new one.
        done.map(|_| ())
    }
}

/// A response body that holds its stream's place on its connection until it is dropped.
struct Counted {
    body: Incoming,
    slot: Slot,
}

impl HttpBody for Counted {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let frame = Pin::new(&mut self.body).poll_frame(cx);
        match &frame {
            // The end, or an error of the stream (a reset, the connection lost): not given up.
            Poll::Ready(None | Some(Err(_))) => self.slot.ended = true,
            Poll::Ready(Some(Ok(_))) => {
                self.slot.last_heard = std::time::Instant::now();
                self.slot.ended = self.body.is_end_stream();
            }
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The pool: HTTP/2 connections while the server speaks it, else hyper-util's HTTP/1.1 client.
struct Pool<C> {
    /// Offers `h2` and `http/1.1`.
    connector: BoundedTls<C>,
    http1: hyper_util::client::legacy::Client<BoundedTls<C>, Body>,
    connections: Mutex<Vec<Multiplexed>>,
    /// One new connection at a time: requests that arrive together share it rather than each dialing.
    dialing: tokio::sync::Mutex<()>,
    protocol: Protocol,
}

/// The tower service kube's layers go over.
pub struct Transport<C> {
    pool: Arc<Pool<C>>,
}

impl<C> Clone for Transport<C> {
    fn clone(&self) -> Self {
        Transport {
            pool: self.pool.clone(),
        }
    }
}

impl<C> Pool<C>
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    /// A stream's place on an HTTP/2 connection that has room for it.
    fn place(&self) -> Option<(http2::SendRequest<Body>, Slot)> {
        let mut connections = self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        // A connection left out is closed once its last stream ends and its last handle goes.
        connections.retain(Multiplexed::usable);
        let connection = connections.iter().find(|connection| connection.has_room())?;
        Some((connection.sender.clone(), Slot::take(&connection.state)))
    }

    /// A new connection; `None` when the server chose HTTP/1.1.
    async fn dial(&self, uri: &Uri) -> Result<Option<(http2::SendRequest<Body>, Slot)>, BoxError> {
        let io = self.connector.clone().call(uri.clone()).await?;
        if !io.connected().is_negotiated_h2() {
            return Ok(None);
        }
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(PING_INTERVAL)
            .keep_alive_timeout(PING_LIMIT)
            .keep_alive_while_idle(true)
            .handshake(io)
            .await?;
        let state = Arc::new(Shared::default());
        state
            .allowed
            .store(connection.current_max_send_streams(), Ordering::Release);
        // The connection runs until the server or a failed PING ends it.
        tokio::spawn(Driven {
            connection: Box::pin(connection),
            state: state.clone(),
        });
        let slot = Slot::take(&state);
        let mut connections = self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        connections.push(Multiplexed {
            sender: sender.clone(),
            state,
        });
        Ok(Some((sender, slot)))
    }

    async fn send(self: Arc<Self>, request: Request<Body>) -> Result<Response<ResponseBody>, BoxError> {
        if !self.protocol.is(HTTP1) {
            let mut place = self.place();
            if place.is_none() {
                let _one_at_a_time = self.dialing.lock().await;
                place = match self.place() {
                    Some(place) => Some(place),
                    None => self.dial(request.uri()).await?,
                };
            }
            match place {
                Some((mut sender, slot)) => {
                    self.protocol.set(HTTP2);
                    // Dropped unanswered after a silence (the caller's time ran out), the slot makes the
                    // connection doubtful.
                    let response = sender.send_request(request).await?;
                    return Ok(response.map(|body| {
                        let mut slot = slot;
                        slot.last_heard = std::time::Instant::now();
                        Counted { body, slot }.boxed_unsync()
                    }));
                }
                // The server (or the path to it) chose HTTP/1.1: every request from now on goes that way.
                None => self.protocol.set(HTTP1),
            }
        }
        let response = self.http1.request(request).await?;
        Ok(response.map(|body| body.boxed_unsync()))
    }
}

impl<C> Service<Request<Body>> for Transport<C>
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = Response<ResponseBody>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        Box::pin(self.pool.clone().send(request))
    }
}

/// Where the connection's TCP part goes: straight to the server, or through the proxy.
pub enum Route {
    Direct,
    /// An `http://` or `https://` proxy, by CONNECT.
    Tunnel(Uri),
    /// A `socks5://` proxy.
    Socks(Uri),
}

/// The whole stack, its types erased, for kube's `ClientBuilder`.
pub type Stack = BoxService<Request<Body>, Response<Box<DynBody>>, BoxError>;

/// What the connections of a context have shown of their link.
#[derive(Debug, Clone, Default)]
pub struct LinkFacts {
    pub protocol: Protocol,
    pub round_trip: RoundTrip,
}

/// A kube client over this transport, with kube's own layers (base URI, gzip, credentials, headers) on top.
pub fn client(
    config: &Config,
    route: &Route,
    limits: ConnectLimits,
    http2: bool,
) -> Result<(ClientBuilder<Stack>, LinkFacts), BoxError> {
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    // As Go's dialer: TCP keep-alives every 30 s.
    tcp.set_keepalive(Some(Duration::from_secs(30)));
    match route {
        Route::Direct => build(config, http2, tcp, limits),
        Route::Tunnel(proxy) => {
            let mut tunnel = if proxy.scheme() == Some(&http::uri::Scheme::HTTPS) {
                let to_proxy = hyper_rustls::HttpsConnectorBuilder::new()
                    .with_tls_config(config.rustls_client_config()?)
                    .https_or_http()
                    .enable_http1()
                    .wrap_connector(tcp);
                return build(
                    config,
                    http2,
                    with_proxy_credentials(
                        proxy,
                        hyper_util::client::legacy::connect::proxy::Tunnel::new(proxy.clone(), to_proxy),
                    ),
                    limits,
                );
            } else {
                hyper_util::client::legacy::connect::proxy::Tunnel::new(proxy.clone(), tcp)
            };
            tunnel = with_proxy_credentials(proxy, tunnel);
            build(config, http2, tunnel, limits)
        }
        Route::Socks(proxy) => {
            let mut socks = hyper_util::client::legacy::connect::proxy::SocksV5::new(proxy.clone(), tcp);
            if let Some((user, password)) = userinfo(proxy) {
                socks = socks.with_auth(user, password);
            }
            build(config, http2, socks, limits)
        }
    }
}

fn build<C>(
    config: &Config,
    http2: bool,
    inner: C,
    limits: ConnectLimits,
) -> Result<(ClientBuilder<Stack>, LinkFacts), BoxError>
where
    C: Service<Uri> + Clone + Send + Sync + 'static,
    C::Response: Read + Write + Connection + Unpin + Send + 'static,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    let server_name = match &config.tls_server_name {
        Some(name) => Some(ServerName::try_from(name.clone()).map_err(|_| ConnectError::ServerName(name.clone()))?),
        None => None,
    };
    let facts = LinkFacts::default();
    let connector = |alpn: &[&[u8]]| -> Result<BoundedTls<C>, BoxError> {
        let mut tls = config.rustls_client_config()?;
        tls.alpn_protocols = alpn.iter().map(|protocol| protocol.to_vec()).collect();
        Ok(BoundedTls {
            inner: inner.clone(),
            tls: tokio_rustls::TlsConnector::from(Arc::new(tls)),
            server_name: server_name.clone(),
            limits,
            round_trip: facts.round_trip.clone(),
        })
    };
    let protocol = facts.protocol.clone();
    // Plain `http://` has no ALPN to offer h2 by: HTTP/1.1, as client-go; so with `DISABLE_HTTP2`.
    if !http2 || config.cluster_url.scheme() != Some(&http::uri::Scheme::HTTPS) {
        protocol.set(HTTP1);
    }
    let http1 = hyper_util::client::legacy::Builder::new(TokioExecutor::new())
        .timer(TokioTimer::new())
        .build(connector(&[b"http/1.1"])?);
    let transport = Transport {
        pool: Arc::new(Pool {
            connector: connector(&[b"h2", b"http/1.1"])?,
            http1,
            connections: Mutex::new(Vec::new()),
            dialing: tokio::sync::Mutex::new(()),
            protocol: protocol.clone(),
        }),
    };
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .layer(GzipLayer {
            enabled: !config.disable_compression,
        })
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .service(transport)
        .map_err(BoxError::from)
        .map_response(|response: Response<DecodedBody>| response.map(|body| Box::new(body) as Box<DynBody>))
        .boxed();
    Ok((ClientBuilder::new(service, config.default_namespace.clone()), facts))
}

/// A proxy URL's `user:password`, percent-decoded.
fn userinfo(proxy: &Uri) -> Option<(String, String)> {
    let (userinfo, _) = proxy.authority()?.as_str().rsplit_once('@')?;
    let decode = |text: &str| {
        percent_encoding::percent_decode_str(text)
            .decode_utf8_lossy()
            .into_owned()
    };
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    Some((decode(user), decode(password)))
}

/// An HTTP proxy's credentials, as the `Proxy-Authorization: Basic` of its CONNECT.
fn with_proxy_credentials<C>(
    proxy: &Uri,
    tunnel: hyper_util::client::legacy::connect::proxy::Tunnel<C>,
) -> hyper_util::client::legacy::connect::proxy::Tunnel<C> {
    use base64::Engine;
    match userinfo(proxy) {
        Some((user, password)) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            match http::HeaderValue::from_str(&format!("Basic {encoded}")) {
                Ok(header) => tunnel.with_auth(header),
                Err(_) => tunnel,
            }
        }
        None => tunnel,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connecting_is_bounded_as_client_go_bounds_it_or_tighter() {
        let limits = ConnectLimits::within(None);
        assert_eq!((limits.tcp, limits.tls), (TCP_CONNECT_LIMIT, TLS_HANDSHAKE_LIMIT));
        let limits = ConnectLimits::within(Some(Duration::from_secs(5)));
        assert_eq!(
            (limits.tcp, limits.tls),
            (Duration::from_secs(5), Duration::from_secs(5))
        );
    }

    #[test]
    fn proxy_credentials_are_percent_decoded() {
        let proxy: Uri = "http://us%40er:pa%3Ass@proxy:3128".parse().unwrap();
        assert_eq!(userinfo(&proxy), Some(("us@er".into(), "pa:ss".into())));
        let proxy: Uri = "http://proxy:3128".parse().unwrap();
        assert_eq!(userinfo(&proxy), None);
    }

    #[test]
    fn the_protocol_is_unknown_until_a_connection_says() {
        let protocol = Protocol::default();
        assert_eq!(protocol.name(), None);
        protocol.set(HTTP2);
        assert_eq!(protocol.name(), Some("HTTP/2"));
    }
}
