//! A network link between a client and the API server: a TCP forwarder on loopback that delivers what each
//! side sends after half the round trip, at most at the link's bandwidth, shared by every connection in that
//! direction (one client's connections share its link), and counts the bytes. kubectl and kubectl-watchnew go
//! through the same one, so that both meet the same link. TLS passes through it untouched.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What the link is like: its bandwidth in each direction and its round trip; `None` for neither limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Shape {
    pub megabits_per_second: f64,
    pub round_trip: Duration,
}

/// How much one read takes from a socket: at 20 Mbit/s, 16 KiB is 6.6 ms of the link.
const CHUNK: usize = 16 * 1024;
/// Chunks read ahead of their delivery, per connection and direction: a bounded queue, so that a sender
/// that outpaces the link is slowed down by TCP as on a real one, instead of filling memory.
const QUEUED_CHUNKS: usize = 32;

pub struct Link {
    pub address: SocketAddr,
    /// Bytes delivered from the API server to clients, and from clients to the API server.
    down: Arc<AtomicU64>,
    up: Arc<AtomicU64>,
    acceptor: JoinHandle<()>,
}

/// One direction of the link: when it is free again for the next chunk.
struct Lane {
    free_at: Mutex<Instant>,
    shape: Option<Shape>,
    delivered: Arc<AtomicU64>,
}

impl Lane {
    /// When a chunk of `bytes` read now arrives at the other end, and books the link for its transmission.
    async fn arrival(&self, bytes: usize) -> Instant {
        let now = Instant::now();
        let Some(shape) = self.shape else { return now };
        let transmission = Duration::from_secs_f64(bytes as f64 * 8.0 / (shape.megabits_per_second * 1e6));
        let mut free_at = self.free_at.lock().await;
        let start = (*free_at).max(now);
        *free_at = start + transmission;
        start + transmission + shape.round_trip / 2
    }
}

impl Link {
    pub async fn start(upstream: SocketAddr, shape: Option<Shape>) -> Result<Link> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the link")?;
        let address = listener.local_addr()?;
        let down = Arc::new(AtomicU64::new(0));
        let up = Arc::new(AtomicU64::new(0));
        let lane = |delivered: &Arc<AtomicU64>| {
            Arc::new(Lane {
                free_at: Mutex::new(Instant::now()),
                shape,
                delivered: delivered.clone(),
            })
        };
        let (to_server, to_client) = (lane(&up), lane(&down));
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let (to_server, to_client) = (to_server.clone(), to_client.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    let (client_read, client_write) = client.into_split();
                    let (server_read, server_write) = server.into_split();
                    tokio::join!(
                        carry(client_read, server_write, to_server),
                        carry(server_read, client_write, to_client)
                    );
                });
            }
        });
        Ok(Link {
            address,
            down,
            up,
            acceptor,
        })
    }

    /// Bytes delivered so far from the API server to clients, and from clients to it.
    pub fn bytes(&self) -> (u64, u64) {
        (self.down.load(Ordering::Relaxed), self.up.load(Ordering::Relaxed))
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

/// One direction of one connection: read, book the link, deliver on arrival, until either side ends.
async fn carry(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, lane: Arc<Lane>) {
    let (queue, mut arrivals) = mpsc::channel::<(Instant, Vec<u8>)>(QUEUED_CHUNKS);
    let delivered = lane.delivered.clone();
    let reader = async move {
        let mut buffer = vec![0u8; CHUNK];
        loop {
            let read = match from.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let at = lane.arrival(read).await;
            if queue.send((at, buffer[..read].to_vec())).await.is_err() {
                break;
            }
        }
    };
    let writer = async move {
        while let Some((at, chunk)) = arrivals.recv().await {
            tokio::time::sleep_until(at).await;
            if to.write_all(&chunk).await.is_err() {
                break;
            }
            delivered.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
