//! A TCP proxy between the tool and the real API server, to inject what the server itself cannot produce on
//! demand: connections that break or stall, and a server that cannot be reached for a while. TLS passes
//! through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

pub struct Proxy {
    pub address: SocketAddr,
    blocked: Arc<AtomicBool>,
    /// Raised by `stall`: the connections opened before stop forwarding.
    stalls: tokio::sync::watch::Sender<u64>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let address = listener.local_addr().expect("bound");
        let blocked = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let (stalls, stall_count) = tokio::sync::watch::channel(0u64);
        let acceptor = tokio::spawn({
            let blocked = blocked.clone();
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
                    let mut stall_count = stall_count.clone();
                    let opened_after = *stall_count.borrow_and_update();
                    let forward = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            tokio::select! {
                                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
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
            stalls,
            connections,
            acceptor,
        }
    }

    /// Breaks every open connection; new ones are let through.
    pub fn cut(&self) {
        for connection in self.connections.lock().expect("not poisoned").drain(..) {
            connection.abort();
        }
    }

    /// The open connections stop forwarding without being closed, as behind a load balancer or NAT that lost
    /// them; new ones are let through.
    pub fn stall(&self) {
        self.stalls.send_modify(|count| *count += 1);
    }

    /// Breaks every open connection and refuses new ones until `unblock`.
    pub fn cut_and_block(&self) {
        self.blocked.store(true, Ordering::SeqCst);
        for connection in self.connections.lock().expect("not poisoned").drain(..) {
            connection.abort();
        }
    }

    pub fn unblock(&self) {
        self.blocked.store(false, Ordering::SeqCst);
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
