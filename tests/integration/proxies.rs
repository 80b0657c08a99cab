//! Through real proxies, as kubectl goes through them: the kubeconfig's `proxy-url` (http, https, socks5) for
//! every address, `HTTPS_PROXY` and `NO_PROXY` by Go's rules (never for loopback), `tls-server-name`, and
//! proxies that refuse, are down, or die while watching. The proxies are tinyproxy, stunnel and microsocks
//! from Debian's packages (`scripts/test` installs them); their logs prove what went through them.

use std::net::ToSocketAddrs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use kube::config::Kubeconfig;

use crate::support::proxy_servers::ProxyServer;
use crate::support::watcher::{PROXY_VARIABLES, Watcher, summary};
use crate::support::{self, Cluster, Skip, TestNamespace};

/// The test kubeconfig with its cluster changed by `edit`, in a file of its own.
fn kubeconfig_with(cluster: &Cluster, edit: impl FnOnce(&mut kube::config::Cluster)) -> tempfile::NamedTempFile {
    let mut kubeconfig = Kubeconfig::read_from(&cluster.kubeconfig).expect("readable");
    let named = kubeconfig.clusters.first_mut().expect("a cluster");
    edit(named.cluster.as_mut().expect("cluster fields"));
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    // JSON is YAML, and the kubeconfig types serialize with their YAML field names.
    std::fs::write(file.path(), serde_json::to_string(&kubeconfig).expect("serializable")).expect("written");
    file
}

async fn create(client: &kube::Client, namespace: &str, name: &str) {
    let config_map = ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    Api::<ConfigMap>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &config_map)
        .await
        .expect("create");
}

/// kubectl with the given kubeconfig and environment (and no other proxy variable): whether it succeeded.
fn kubectl_succeeds(kubeconfig: &Path, env: &[(&str, &str)], args: &[&str]) -> bool {
    let mut command = std::process::Command::new("kubectl");
    command.arg("--kubeconfig").arg(kubeconfig).args(args);
    for variable in PROXY_VARIABLES {
        command.env_remove(variable);
    }
    command.envs(env.iter().copied());
    command.output().expect("kubectl runs").status.success()
}

fn ca_files(cluster: &Cluster) -> Option<(PathBuf, PathBuf)> {
    let pki = cluster.state_dir.as_ref()?.join("pki");
    Some((pki.join("ca.crt"), pki.join("ca.key")))
}

#[tokio::test]
async fn every_request_goes_through_the_proxy_the_kubeconfig_names() {
    let Some(cluster) =
        support::local_control_plane("signs the https proxy's certificate with the local control plane's CA")
    else {
        return;
    };
    let (ca_cert, ca_key) = ca_files(cluster).expect("the local control plane's CA");
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "proxied").await;
    let apiserver = cluster.apiserver_address().to_string();

    let http = ProxyServer::tinyproxy("");
    let behind_tls = ProxyServer::tinyproxy("");
    // As client-go does, kube-rs verifies an https proxy with the cluster's CA bundle.
    let https = ProxyServer::stunnel_before(&behind_tls, &ca_cert, &ca_key);
    let socks = ProxyServer::microsocks();
    for (proxy, forwarder) in [(&http, &http), (&https, &behind_tls), (&socks, &socks)] {
        let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(proxy.url.clone()));
        let mut watcher = Watcher::start(kubeconfig.path(), &["cm", "-n", &namespace.name, "-o", "json"]).await;
        // The tunnel carries the API server's own TLS, and so its ALPN: HTTP/2 end to end, as kubectl's.
        assert!(
            watcher.stderr().contains(" over HTTP/2;"),
            "{}: {}",
            proxy.url,
            watcher.stderr()
        );
        let name = format!("through-{}", proxy.url.split(':').next().unwrap_or_default());
        create(&client, &namespace.name, &name).await;
        let events = watcher.json_events(1).await;
        assert_eq!(
            summary(&events[0]),
            ("ADDED".to_string(), name.clone()),
            "{}",
            proxy.url
        );
        assert!(
            forwarder.forwarded_to(&apiserver) >= 1,
            "{} forwarded nothing to {apiserver}:\n{}",
            proxy.url,
            forwarder.log()
        );
        drop(watcher);
        // kubectl takes the same way with the same kubeconfig.
        let before = forwarder.forwarded_to(&apiserver);
        assert!(kubectl_succeeds(
            kubeconfig.path(),
            &[],
            &["get", "cm", "-n", &namespace.name]
        ));
        assert!(
            forwarder.forwarded_to(&apiserver) > before,
            "kubectl went around {}",
            proxy.url
        );
    }
    assert!(
        https.log().contains("accepted connection"),
        "stunnel saw nothing:\n{}",
        https.log()
    );
}

/// A name of this machine that reaches the API server and is neither `localhost` nor an address, so that
/// the proxy variables apply to it, as they do to any other name.
struct LoopbackName {
    name: String,
    /// Where the name resolves to a loopback address other than the API server's (Debian maps the host name to
    /// 127.0.1.1), a forwarder there passes connections on to it.
    _forwarders: Vec<ProxyServer>,
}

/// This machine's host name, or else another name /etc/hosts gives a loopback address, made to reach the API
/// server whatever loopback address it resolves to; a skip (a failure under CI) when there is none at all.
fn loopback_name(cluster: &Cluster) -> Option<LoopbackName> {
    let apiserver = cluster.apiserver_address();
    let host_name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let in_hosts = hosts.lines().filter_map(|line| {
        let mut words = line.split('#').next()?.split_whitespace();
        let address: std::net::IpAddr = words.next()?.parse().ok()?;
        address.is_loopback().then_some(words)
    });
    let mut candidates: Vec<String> = std::iter::once(host_name.trim().to_string())
        .chain(in_hosts.flatten().map(str::to_string))
        .filter(|name| !name.is_empty() && name != "localhost")
        .collect();
    candidates.dedup();
    for name in candidates {
        let Ok(resolved) = (name.as_str(), apiserver.port()).to_socket_addrs() else {
            continue;
        };
        let mut resolved: Vec<std::net::SocketAddr> = resolved.collect();
        resolved.sort();
        resolved.dedup();
        if resolved.is_empty() || !resolved.iter().all(|address| address.ip().is_loopback()) {
            continue;
        }
        let forwarders = resolved
            .into_iter()
            .filter(|address| *address != apiserver)
            .map(|address| ProxyServer::forwarder(address, apiserver))
            .collect();
        return Some(LoopbackName {
            name,
            _forwarders: forwarders,
        });
    }
    support::skip(Skip::Missing(
        "no name of this machine but localhost resolves to a loopback address (its host name, /etc/hosts)".into(),
    ));
    None
}

/// The test kubeconfig with the API server named by `host` instead of its address, verified as `localhost`
/// (a name its certificate has).
fn by_host_name(cluster: &Cluster, host: &str) -> tempfile::NamedTempFile {
    let port = cluster.apiserver_address().port();
    kubeconfig_with(cluster, |c| {
        c.server = Some(format!("https://{host}:{port}"));
        c.tls_server_name = Some("localhost".into());
    })
}

#[tokio::test]
async fn the_environments_proxy_is_taken_as_kubectl_takes_it() {
    let Some(cluster) = support::local_control_plane("needs the local API server's address") else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "envproxy").await;
    let proxy = ProxyServer::tinyproxy("");
    let port = cluster.apiserver_address().port().to_string();
    let proxied = |before: usize| proxy.log().matches("Request (file descriptor").count() > before;
    let requests = || proxy.log().matches("Request (file descriptor").count();
    let args = ["cm", "-n", &namespace.name, "-o", "json"];
    let env = [("HTTPS_PROXY", proxy.url.as_str())];

    // A loopback address is never sent to the environment's proxy, by either tool.
    let before = requests();
    let watcher = Watcher::start_with_env(&cluster.kubeconfig, &args, &env).await;
    drop(watcher);
    assert!(kubectl_succeeds(
        &cluster.kubeconfig,
        &env,
        &["get", "cm", "-n", &namespace.name]
    ));
    assert!(!proxied(before), "loopback went through the proxy:\n{}", proxy.log());
    // A NO_PROXY with empty entries, as scripts often leave it, is read as Go reads it (kube-rs alone refuses it).
    let untidy = [
        ("HTTPS_PROXY", proxy.url.as_str()),
        ("NO_PROXY", "localhost,,10.0.0.0/8,"),
    ];
    drop(Watcher::start_with_env(&cluster.kubeconfig, &args, &untidy).await);

    let Some(loopback) = loopback_name(cluster) else {
        return;
    };
    let host = loopback.name.clone();
    let kubeconfig = by_host_name(cluster, &host);
    // Any other name is, by both.
    for tool_is_kubectl in [false, true] {
        let before = requests();
        if tool_is_kubectl {
            assert!(kubectl_succeeds(
                kubeconfig.path(),
                &env,
                &["get", "cm", "-n", &namespace.name]
            ));
        } else {
            let mut watcher = Watcher::start_with_env(kubeconfig.path(), &args, &env).await;
            create(&client, &namespace.name, "through-the-environment").await;
            let events = watcher.json_events(1).await;
            assert_eq!(summary(&events[0]).1, "through-the-environment");
        }
        assert!(
            proxied(before),
            "kubectl: {tool_is_kubectl}: nothing went through the proxy"
        );
        assert!(
            proxy.log().contains(&format!("CONNECT {host}:{port}")),
            "{}",
            proxy.log()
        );
    }
    // NO_PROXY takes it out again, for both.
    let excluded = [("HTTPS_PROXY", proxy.url.as_str()), ("NO_PROXY", host.as_str())];
    let before = requests();
    drop(Watcher::start_with_env(kubeconfig.path(), &args, &excluded).await);
    assert!(kubectl_succeeds(
        kubeconfig.path(),
        &excluded,
        &["get", "cm", "-n", &namespace.name]
    ));
    assert!(!proxied(before), "NO_PROXY={host} was not honoured:\n{}", proxy.log());
}

#[tokio::test]
async fn the_certificate_is_checked_against_the_tls_server_name() {
    let Some(cluster) = support::local_control_plane("needs the local API server's address and certificate") else {
        return;
    };
    let Some(loopback) = loopback_name(cluster) else {
        return;
    };
    let host = loopback.name.clone();
    let port = cluster.apiserver_address().port();
    let unnamed = kubeconfig_with(cluster, |c| c.server = Some(format!("https://{host}:{port}")));
    let refused = Watcher::spawn(unnamed.path(), &["cm", "-n", "default"]);
    let (code, stderr) = refused.finish().await;
    assert_eq!(
        code,
        Some(4),
        "{host} is not a name in the server's certificate: {stderr}"
    );
    assert!(stderr.contains("TLS verification of the API server failed"), "{stderr}");

    // The flag, as kubectl's, and the kubeconfig's field (the certificate names kubernetes and localhost).
    let flagged = Watcher::start(
        unnamed.path(),
        &["cm", "-n", "default", "--tls-server-name", "kubernetes"],
    )
    .await;
    drop(flagged);
    let named = by_host_name(cluster, &host);
    drop(Watcher::start(named.path(), &["cm", "-n", "default"]).await);
}

/// The run fails at once, in one line that names the proxy, with the exit code of an unreachable server.
async fn fails_through(cluster: &Cluster, proxy_url: &str, says: &str, args: &[&str]) {
    let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(proxy_url.into()));
    let started = Instant::now();
    let (code, stderr) = Watcher::spawn(kubeconfig.path(), args).finish().await;
    assert_eq!(code, Some(4), "{proxy_url}: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{proxy_url}: took {:?}",
        started.elapsed()
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(lines[0].starts_with("error: cannot reach the API server"), "{stderr}");
    assert!(lines[0].contains(says), "{proxy_url}: {stderr}");
    assert!(lines[0].contains(&format!("through the proxy {proxy_url}")), "{stderr}");
}

#[tokio::test]
async fn a_proxy_that_refuses_or_is_not_there_is_a_one_line_error_at_once() {
    let Some(cluster) = support::local_control_plane("needs the local API server's address") else {
        return;
    };
    // tinyproxy allows CONNECT to port 443 only, and so refuses the API server's port.
    let refusing = ProxyServer::tinyproxy("ConnectPort 443");
    let args = ["cm", "-n", "default"];
    fails_through(cluster, &refusing.url, "the proxy refused to open a tunnel", &args).await;
    assert!(refusing.log().contains("CONNECT"), "{}", refusing.log());

    let mut stopped = ProxyServer::tinyproxy("");
    let url = stopped.url.clone();
    stopped.stop();
    fails_through(cluster, &url, "cannot connect to the proxy", &args).await;
    let mut socks = ProxyServer::microsocks();
    let url = socks.url.clone();
    socks.stop();
    fails_through(cluster, &url, "cannot connect to the SOCKS proxy", &args).await;
}

#[tokio::test]
async fn a_proxy_that_dies_while_watching_costs_nothing_once_it_is_back() {
    let Some(cluster) = support::local_control_plane("needs the local API server's address") else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "proxydies").await;
    let mut proxy = ProxyServer::tinyproxy("");
    let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(proxy.url.clone()));
    let mut watcher = Watcher::start(kubeconfig.path(), &["cm", "-n", &namespace.name, "-o", "json"]).await;

    proxy.stop();
    watcher.wait_for_stderr("configmaps: watch interrupted").await;
    create(&client, &namespace.name, "while-the-proxy-was-down").await;
    // The next attempt finds no proxy, and says so; then it comes back.
    watcher.wait_for_stderr("cannot connect to the proxy").await;
    proxy.start_again();
    watcher.wait_for_stderr("configmaps: reconnected after").await;
    let events = watcher.json_events(1).await;
    assert_eq!(summary(&events[0]).1, "while-the-proxy-was-down");
    watcher.assert_quiet(Duration::from_millis(1500)).await;
}

#[tokio::test]
async fn a_proxys_credentials_are_sent_and_never_shown() {
    let Some(cluster) = support::local_control_plane("needs the local API server's address") else {
        return;
    };
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "proxyauth").await;
    let proxy = ProxyServer::tinyproxy("BasicAuth jane s3cret-proxy-word");
    let with_credentials = proxy.url.replace("http://", "http://jane:s3cret-proxy-word@");
    let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(with_credentials.clone()));
    let mut watcher = Watcher::start(kubeconfig.path(), &["cm", "-n", &namespace.name, "-o", "json"]).await;
    create(&client, &namespace.name, "authenticated").await;
    assert_eq!(summary(&watcher.json_events(1).await[0]).1, "authenticated");
    let (_, stderr) = watcher.interrupt().await;
    assert!(!stderr.contains("s3cret"), "{stderr}");

    // Without them the proxy answers 407, which is said plainly.
    fails_through(
        cluster,
        &proxy.url,
        "the proxy asks for credentials",
        &["cm", "-n", "default"],
    )
    .await;

    // A SOCKS5 proxy that wants a user name and password (microsocks -u -P) gets them, never shown.
    let socks = ProxyServer::microsocks_with_credentials("jane", "s3cret-socks-word");
    let with_credentials = socks.url.replace("socks5://", "socks5://jane:s3cret-socks-word@");
    let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(with_credentials.clone()));
    let apiserver = cluster.apiserver_address().to_string();
    let mut watcher = Watcher::start(kubeconfig.path(), &["cm", "-n", &namespace.name, "-o", "json"]).await;
    create(&client, &namespace.name, "through-socks").await;
    assert_eq!(summary(&watcher.json_events(1).await[0]).1, "through-socks");
    let (_, stderr) = watcher.interrupt().await;
    assert!(!stderr.contains("s3cret"), "{stderr}");
    assert!(socks.forwarded_to(&apiserver) >= 1, "{}", socks.log());

    // A wrong password is turned away by the proxy: one line, exit 4, without the password.
    let wrong = socks.url.replace("socks5://", "socks5://jane:wrong-s3cret@");
    let kubeconfig = kubeconfig_with(cluster, |c| c.proxy_url = Some(wrong.clone()));
    let (code, stderr) = Watcher::spawn(kubeconfig.path(), &["cm", "-n", "default"])
        .finish()
        .await;
    assert_eq!(code, Some(4), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("the SOCKS5 proxy turned the user name and password away") && !stderr.contains("s3cret"),
        "{stderr}"
    );
}

/// A server that offers no HTTP/2 gets HTTP/1.1, and the `Synced` line says so: `kubectl proxy` (plain HTTP) to
/// the API server, behind stunnel (TLS with no ALPN), as a TLS-terminating gateway may be.
#[tokio::test]
async fn a_server_without_http2_is_spoken_to_in_http1() {
    let Some(cluster) =
        support::local_control_plane("signs the gateway's certificate with the local control plane's CA")
    else {
        return;
    };
    let (ca_cert, ca_key) = ca_files(cluster).expect("the local control plane's CA");
    let client = cluster.admin_client().await;
    let namespace = TestNamespace::create(&client, "http1").await;
    let port = crate::support::proxy_servers::free_port();
    let mut kubectl_proxy = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["proxy", "--address", "127.0.0.1", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl proxy starts");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "kubectl proxy listens");
        std::thread::sleep(Duration::from_millis(50));
    }
    let gateway = ProxyServer::stunnel_to(port, &ca_cert, &ca_key);
    let server = gateway.url.clone();
    let mut watcher = Watcher::start(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-o", "json", "--server", &server],
    )
    .await;
    let stderr = watcher.stderr();
    assert!(stderr.contains(" over HTTP/1.1;"), "{stderr}");
    create(&client, &namespace.name, "over-http1").await;
    let events = watcher.json_events(1).await;
    assert_eq!(summary(&events[0]), ("ADDED".to_string(), "over-http1".to_string()));
    assert!(gateway.log().contains("accepted connection"), "{}", gateway.log());
    let _ = kubectl_proxy.kill();
    let _ = kubectl_proxy.wait();
    // client-go's switch turns HTTP/2 off for a server that offers it.
    let direct = Watcher::start_with_env(
        &cluster.kubeconfig,
        &["cm", "-n", &namespace.name, "-o", "json"],
        &[("DISABLE_HTTP2", "1")],
    )
    .await;
    assert!(direct.stderr().contains(" over HTTP/1.1;"), "{}", direct.stderr());
}
