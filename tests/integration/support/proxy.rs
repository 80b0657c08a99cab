//! A TCP proxy between the tool and the real API server, to inject what the server itself cannot produce on
//! demand: connections that break, stall or slow down, and a server that cannot be reached for a while. TLS
//! passes through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub address: SocketAddr,
    blocked: Arc<AtomicBool>,
    /// New connections are accepted and never answered (`mute`), as a load balancer's for a server that is
    /// starting or gone.
    muted: Arc<AtomicBool>,
    /// Raised by `stall`: the connections opened before stop forwarding.
    stalls: tokio::sync::watch::Sender<u64>,
    /// How long each chunk is held before it is passed on, in milliseconds (`slow_down`).
    delay_ms: Arc<AtomicU64>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("bound");
        let blocked = Arc::new(AtomicBool::new(false));
        let muted = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (stalls, stall_count) = tokio::sync::watch::channel(0u64);
        let delay_ms = Arc::new(AtomicU64::new(0));
        let acceptor = tokio::spawn({
            let blocked = blocked.clone();
            let muted = muted.clone();
            let delay_ms = delay_ms.clone();
            let connections = connections.clone();
            async move {
                loop {
                    // A connection reset before it was accepted is an error of that connection only.
                    let Ok((mut client, _)) = listener.accept().await else {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                        continue;
                    };
                    if blocked.load(Ordering::SeqCst) {
                        continue; // dropped at once: the connection is refused in effect
                    }
                    if muted.load(Ordering::SeqCst) {
                        // Held open, read from and never answered, until the client gives up or `cut`.
                        let silent = tokio::spawn(async move {
                            let mut sink = [0u8; 4096];
                            while matches!(client.read(&mut sink).await, Ok(read) if read > 0) {}
                        });
                        connections.lock().expect("not poisoned").push(silent);
                        continue;
                    }
                    let mut stall_count = stall_count.clone();
                    let opened_after = *stall_count.borrow_and_update();
                    let delay_ms = delay_ms.clone();
                    let forward = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let (mut client_read, mut client_write) = client.split();
                            let (mut server_read, mut server_write) = server.split();
                            let both_ways = async {
                                tokio::join!(
                                    pump(&mut client_read, &mut server_write, &delay_ms),
                                    pump(&mut server_read, &mut client_write, &delay_ms)
                                )
                            };
                            tokio::select! {
                                _ = both_ways => {}
                                _ = stalled(stall_count, opened_after) => {
                                    // Both ends stay open and nothing more goes through, in either direction.
                                    std::future::pending::<()>().await;
                                }
                            }
                        }
                    });
                    connections.lock().expect("not poisoned").push(forward);
                }
            }
        });
        Proxy {
            address,
            blocked,
            muted,
            stalls,
            delay_ms,
            connections,
            acceptor,
        }
    }

    /// Breaks every open connection; new ones are let through. Gives how many were open, and so cut.
    pub fn cut(&self) -> usize {
        let mut cut = 0;
        for connection in self.connections.lock().expect("not poisoned").drain(..) {
            cut += usize::from(!connection.is_finished());
            connection.abort();
        }
        cut
    }

    /// The open connections stop forwarding without being closed, as behind a load balancer or NAT that lost
    /// them; new ones are let through.
    pub fn stall(&self) {
        self.stalls.send_modify(|count| *count += 1);
    }

    /// Every chunk, either way, is held this long before it is passed on: a slow server or link (zero: none).
    pub fn slow_down(&self, delay: Duration) {
        self.delay_ms.store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    /// Breaks every open connection and refuses new ones until `unblock`. Gives how many were open, and so cut.
    pub fn cut_and_block(&self) -> usize {
        self.blocked.store(true, Ordering::SeqCst);
        self.cut()
    }

    pub fn unblock(&self) {
        self.blocked.store(false, Ordering::SeqCst);
    }

    /// Breaks every open connection; new ones are accepted and never answered until `unmute`.
    pub fn cut_and_mute(&self) -> usize {
        self.muted.store(true, Ordering::SeqCst);
        self.cut()
    }

    /// New connections are forwarded again (those accepted while muted stay silent).
    pub fn unmute(&self) {
        self.muted.store(false, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.cut_and_block();
    }
}

/// Returns once `stall` is called after the connection opened.
async fn stalled(mut stall_count: tokio::sync::watch::Receiver<u64>, opened_after: u64) {
    loop {
        let count = *stall_count.borrow_and_update();
        if count > opened_after {
            return;
        }
        if stall_count.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Passes what one side sends on to the other, each chunk after the delay of the moment, until either ends.
async fn pump(from: &mut (impl AsyncRead + Unpin), to: &mut (impl AsyncWrite + Unpin), delay_ms: &AtomicU64) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        let delay = delay_ms.load(Ordering::SeqCst);
        if delay > 0 {
            tokio::time::sleep(Duration::from_millis(delay)).await;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    let _ = to.shutdown().await;
}
