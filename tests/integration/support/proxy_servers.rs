//! Real proxy servers from Debian packages, started on loopback for one test and stopped after it: tinyproxy
//! (HTTP CONNECT), stunnel in front of it (an https proxy, TLS to the proxy), microsocks (SOCKS5), and
//! haproxy as a plain TCP forwarder (the API server at one more loopback address). Each one writes a log of
//! what it forwarded, which is how a test proves that traffic went through it.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The packages' programs; `scripts/test` installs them.
const TINYPROXY: &str = "tinyproxy";
const STUNNEL: &str = "stunnel4";
const MICROSOCKS: &str = "microsocks";
const HAPROXY: &str = "haproxy";

pub struct ProxyServer {
    /// The proxy's URL, as a kubeconfig's `proxy-url` or `HTTPS_PROXY` names it.
    pub url: String,
    pub port: u16,
    /// Where it takes connections.
    listen: SocketAddr,
    program: &'static str,
    args: Vec<String>,
    log: PathBuf,
    /// Where a server that logs to stdout writes (microsocks); the log of the others is their own file.
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl ProxyServer {
    /// tinyproxy on a free loopback port; `extra` is added to its configuration (e.g. `ConnectPort 443`, which
    /// makes it refuse a CONNECT to any other port).
    pub fn tinyproxy(extra: &str) -> ProxyServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let log = dir.path().join("tinyproxy.log");
        let config = dir.path().join("tinyproxy.conf");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListen 127.0.0.1\nTimeout 600\nLogFile \"{}\"\nLogLevel Connect\nMaxClients 100\n\
                 Allow 127.0.0.1\n{extra}\n",
                log.display()
            ),
        )
        .expect("written");
        let args = vec!["-d".to_string(), "-c".to_string(), config.display().to_string()];
        ProxyServer::start(TINYPROXY, args, format!("http://127.0.0.1:{port}"), port, log, dir)
    }

    /// stunnel on a free loopback port, taking TLS with a certificate for 127.0.0.1 and localhost signed by
    /// `ca` (its `.crt` and `.key`), and passing the connection on to `upstream`: an https proxy.
    pub fn stunnel_before(upstream: &ProxyServer, ca_cert: &Path, ca_key: &Path) -> ProxyServer {
        ProxyServer::stunnel_to(upstream.port, ca_cert, ca_key)
    }

    /// stunnel as `stunnel_before`, passing connections on to a port of loopback. It offers no protocol by
    /// ALPN: a TLS server that speaks only HTTP/1.1.
    pub fn stunnel_to(upstream_port: u16, ca_cert: &Path, ca_key: &Path) -> ProxyServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let (cert, key) = (dir.path().join("proxy.crt"), dir.path().join("proxy.key"));
        signed_certificate(ca_cert, ca_key, &cert, &key);
        let log = dir.path().join("stunnel.log");
        let config = dir.path().join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\noutput = {}\ndebug = info\n[proxy]\naccept = 127.0.0.1:{port}\n\
                 connect = 127.0.0.1:{}\ncert = {}\nkey = {}\n",
                log.display(),
                upstream_port,
                cert.display(),
                key.display()
            ),
        )
        .expect("written");
        let args = vec![config.display().to_string()];
        ProxyServer::start(STUNNEL, args, format!("https://127.0.0.1:{port}"), port, log, dir)
    }

    /// haproxy passing every connection to `listen` on to `upstream`, as it is: an address more for a server.
    pub fn forwarder(listen: SocketAddr, upstream: SocketAddr) -> ProxyServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let log = dir.path().join("haproxy.log");
        let config = dir.path().join("haproxy.cfg");
        let bind = match listen {
            SocketAddr::V4(address) => format!("ipv4@{address}"),
            SocketAddr::V6(address) => format!("ipv6@{}:{}", address.ip(), address.port()),
        };
        std::fs::write(
            &config,
            format!(
                "global\n  maxconn 256\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 15m\n  \
                 timeout server 15m\nfrontend forward\n  bind {bind}\n  default_backend upstream\n\
                 backend upstream\n  server upstream {upstream}\n"
            ),
        )
        .expect("written");
        let args = vec!["-db".to_string(), "-f".to_string(), config.display().to_string()];
        let mut server = ProxyServer {
            url: format!("tcp://{listen}"),
            port: listen.port(),
            listen,
            program: HAPROXY,
            args,
            log,
            child: None,
            _dir: dir,
        };
        server.start_again();
        server
    }

    /// microsocks on a free loopback port.
    pub fn microsocks() -> ProxyServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let log = dir.path().join("microsocks.log");
        let args = vec![
            "-i".to_string(),
            "127.0.0.1".to_string(),
            "-p".to_string(),
            port.to_string(),
        ];
        ProxyServer::start(MICROSOCKS, args, format!("socks5://127.0.0.1:{port}"), port, log, dir)
    }

    /// microsocks on a free loopback port, letting in only `user` with `password`.
    pub fn microsocks_with_credentials(user: &str, password: &str) -> ProxyServer {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let port = free_port();
        let log = dir.path().join("microsocks.log");
        let args = ["-i", "127.0.0.1", "-p", &port.to_string(), "-u", user, "-P", password]
            .map(str::to_string)
            .to_vec();
        ProxyServer::start(MICROSOCKS, args, format!("socks5://127.0.0.1:{port}"), port, log, dir)
    }

    fn start(
        program: &'static str,
        args: Vec<String>,
        url: String,
        port: u16,
        log: PathBuf,
        dir: tempfile::TempDir,
    ) -> ProxyServer {
        let mut server = ProxyServer {
            url,
            port,
            listen: SocketAddr::from(([127, 0, 0, 1], port)),
            program,
            args,
            log,
            child: None,
            _dir: dir,
        };
        server.start_again();
        server
    }

    /// Starts the server (again, after `stop`) on the same port and waits until it takes connections.
    pub fn start_again(&mut self) {
        let output = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log.with_extension("out"))
            .expect("an output file");
        let child = Command::new(self.program)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(output.try_clone().expect("cloneable"))
            .stderr(output)
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "{} could not be started ({error}); scripts/test installs it",
                    self.program
                )
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(self.listen).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!(
                    "{} exited with {status} before it listened: {}",
                    self.program,
                    self.log()
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not listen on {}: {}",
                self.program,
                self.listen,
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Everything it logged: its log file and what it printed.
    pub fn log(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!("{}{}", read(&self.log), read(&self.log.with_extension("out")))
    }

    /// How many times its log names this address as a destination (`127.0.0.1:6443`).
    pub fn forwarded_to(&self, address: &str) -> usize {
        self.log().matches(address).count()
    }

    /// Kills it; connections through it break, new ones are refused.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for ProxyServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    listener.local_addr().expect("bound").port()
}

/// A server certificate for 127.0.0.1 and localhost, signed by the CA given.
fn signed_certificate(ca_cert: &Path, ca_key: &Path, cert: &Path, key: &Path) {
    let dir = cert.parent().expect("a folder");
    let request = dir.join("proxy.csr");
    let extensions = dir.join("proxy.ext");
    std::fs::write(
        &extensions,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
    )
    .expect("written");
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl").args(args).output().expect("openssl runs");
        assert!(
            output.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let path = |path: &Path| path.display().to_string();
    openssl(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        &path(key),
        "-out",
        &path(&request),
        "-subj",
        "/CN=proxy",
    ]);
    openssl(&[
        "x509",
        "-req",
        "-in",
        &path(&request),
        "-CA",
        &path(ca_cert),
        "-CAkey",
        &path(ca_key),
        "-CAserial",
        &path(&dir.join("ca.srl")),
        "-CAcreateserial",
        "-days",
        "1",
        "-out",
        &path(cert),
        "-extfile",
        &path(&extensions),
    ]);
}
