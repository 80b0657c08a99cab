//! Which proxy a connection to the API server goes through, decided as client-go decides it: the kubeconfig
//! cluster's `proxy-url` for every address, else `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` by the rules of Go's
//! `ProxyFromEnvironment` (golang.org/x/net/http/httpproxy), which never proxies `localhost` or a loopback
//! address. Pure: the environment is read once, by `settings`, and passed in.

use std::net::IpAddr;

use http::Uri;

/// The proxy variables of the environment, each read upper case first, then lower case, as Go reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProxyEnvironment {
    pub https_proxy: Option<String>,
    pub http_proxy: Option<String>,
    pub no_proxy: Option<String>,
}

impl ProxyEnvironment {
    pub fn from_process() -> ProxyEnvironment {
        let any = |names: [&str; 2]| {
            names
                .iter()
                .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
        };
        ProxyEnvironment {
            https_proxy: any(["HTTPS_PROXY", "https_proxy"]),
            http_proxy: any(["HTTP_PROXY", "http_proxy"]),
            no_proxy: any(["NO_PROXY", "no_proxy"]),
        }
    }
}

/// Where the proxy came from, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxySource {
    Kubeconfig,
    /// The variable it came from: `HTTPS_PROXY` or `HTTP_PROXY`.
    Environment(&'static str),
}

/// The proxy chosen for a server.
#[derive(Clone, PartialEq, Eq)]
pub struct Proxy {
    pub url: Uri,
    pub source: ProxySource,
}

/// Written out without the credentials its URL may carry.
impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("url", &self.display())
            .field("source", &self.source)
            .finish()
    }
}

impl Proxy {
    /// The proxy's address without any credentials in it, fit for a message.
    pub fn display(&self) -> String {
        let scheme = self.url.scheme_str().unwrap_or("http");
        let host_and_port = self
            .url
            .authority()
            .map(|authority| authority.as_str().rsplit('@').next().unwrap_or_default().to_string())
            .unwrap_or_default();
        format!("{scheme}://{host_and_port}")
    }
}

/// The schemes a proxy may have, as in client-go. In the environment `socks5h` is taken as `socks5`, which
/// resolves names on the proxy as Go's does; the kubeconfig takes only these three, as kubectl's validation.
const SCHEMES: [&str; 3] = ["http", "https", "socks5"];

/// The proxy for connections to `server`, or `None` for a direct connection. An unusable `proxy-url` is an
/// error (kubectl refuses it too); an unusable variable of the environment is ignored, as Go ignores it.
pub fn proxy_for(
    server: &Uri,
    kubeconfig_proxy: Option<&str>,
    environment: &ProxyEnvironment,
) -> Result<Option<Proxy>, String> {
    if let Some(text) = kubeconfig_proxy.map(str::trim).filter(|text| !text.is_empty()) {
        let url = text
            .parse::<Uri>()
            .ok()
            .filter(|url| url.host().is_some_and(|host| !host.is_empty()));
        let url = url.ok_or_else(|| {
            format!(
                "the kubeconfig's proxy-url {:?} is not a URL with a scheme and a host",
                redacted(text)
            )
        })?;
        if !SCHEMES.contains(&url.scheme_str().unwrap_or_default().to_ascii_lowercase().as_str()) {
            return Err(format!(
                "the kubeconfig's proxy-url {} has the scheme {:?}: only http, https and socks5 are supported",
                redacted(text),
                url.scheme_str().unwrap_or_default()
            ));
        }
        let proxy = Proxy {
            url,
            source: ProxySource::Kubeconfig,
        };
        return Ok(Some(proxy));
    }
    let (variable, name) = match server.scheme_str() {
        Some("https") => (&environment.https_proxy, "HTTPS_PROXY"),
        Some("http") => (&environment.http_proxy, "HTTP_PROXY"),
        _ => return Ok(None),
    };
    // A value Go cannot read at all is ignored by Go (a direct connection); one it reads but cannot use
    // fails there, and is refused here rather than gone around.
    let Some(url) = variable.as_deref().and_then(parse_proxy_url) else {
        return Ok(None);
    };
    if !SCHEMES.contains(&url.scheme_str().unwrap_or_default().to_ascii_lowercase().as_str()) {
        return Err(format!(
            "{name} names the proxy {} with the scheme {:?}: only http, https and socks5 are supported",
            redacted(variable.as_deref().unwrap_or_default()),
            url.scheme_str().unwrap_or_default()
        ));
    }
    let Some(host) = server.host() else { return Ok(None) };
    let port = server
        .port_u16()
        .unwrap_or(if server.scheme_str() == Some("https") { 443 } else { 80 });
    if !use_proxy(host, port, environment.no_proxy.as_deref().unwrap_or_default()) {
        return Ok(None);
    }
    Ok(Some(Proxy {
        url,
        source: ProxySource::Environment(name),
    }))
}

/// A proxy address of the environment as Go reads one: a URL, or `host:port` taken as `http://host:port`.
fn parse_proxy_url(text: &str) -> Option<Uri> {
    let parsed = text
        .parse::<Uri>()
        .ok()
        .filter(|url| url.scheme().is_some() && url.host().is_some());
    let url = match parsed {
        Some(url) => url,
        None => format!("http://{text}")
            .parse::<Uri>()
            .ok()
            .filter(|url| url.host().is_some())?,
    };
    if url.scheme_str() == Some("socks5h") {
        let mut parts = url.into_parts();
        parts.scheme = Some("socks5".parse().ok()?);
        return Uri::from_parts(parts).ok();
    }
    Some(url)
}

/// Whether Go's rules send a connection to `host:port` through the environment's proxy.
fn use_proxy(host: &str, port: u16, no_proxy: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']').to_lowercase();
    if host == "localhost" {
        return false;
    }
    let ip = host.parse::<IpAddr>().ok();
    // `::ffff:127.0.0.1` is loopback to Go too.
    if ip.is_some_and(|ip| ip.to_canonical().is_loopback()) {
        return false;
    }
    let port = port.to_string();
    !no_proxy
        .split(',')
        .map(|entry| entry.trim().to_lowercase())
        .filter(|entry| !entry.is_empty())
        .any(|entry| excluded_by(&entry, &host, ip, &port))
}

/// Whether one `NO_PROXY` entry covers the host: `*`, an IP or a CIDR block, an IP with a port, or a domain
/// (`example.com` covers itself and its subdomains, `.example.com` and `*.example.com` only the subdomains),
/// optionally with a port.
fn excluded_by(entry: &str, host: &str, ip: Option<IpAddr>, port: &str) -> bool {
    if entry == "*" {
        return true;
    }
    if let Some((network, bits)) = entry.split_once('/') {
        return match (network.parse::<IpAddr>(), bits.parse::<u8>(), ip) {
            (Ok(network), Ok(bits), Some(ip)) => in_block(ip, network, bits),
            _ => false,
        };
    }
    let (entry_host, entry_port) = split_host_port(entry);
    if entry_host.is_empty() {
        return false;
    }
    let port_matches = entry_port.is_none_or(|entry_port| entry_port == port);
    if let Ok(entry_ip) = entry_host.parse::<IpAddr>() {
        return ip == Some(entry_ip) && port_matches;
    }
    if ip.is_some() {
        return false;
    }
    // `*.example.com` is `.example.com`; any other `*` is a name that matches nothing, as in Go.
    let entry_host = entry_host.strip_prefix("*.").map_or(entry_host, |_| &entry_host[1..]);
    let covers = match entry_host.strip_prefix('.') {
        Some(domain) => host.ends_with(&format!(".{domain}")),
        None => host == entry_host || host.ends_with(&format!(".{entry_host}")),
    };
    covers && port_matches
}

/// `host:port`, `[v6]:port`, or a bare host (a bare IPv6 address has colons but no port).
fn split_host_port(entry: &str) -> (&str, Option<&str>) {
    if let Some(rest) = entry.strip_prefix('[') {
        // `[v6]` alone is no address to Go (it wants a port after the brackets): it then matches nothing.
        return match rest.split_once(']') {
            Some((host, tail)) if tail.starts_with(':') => (host, tail.strip_prefix(':')),
            _ => (entry, None),
        };
    }
    match entry.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') && port.parse::<u16>().is_ok() => (host, Some(port)),
        _ => (entry, None),
    }
}

fn in_block(ip: IpAddr, network: IpAddr, bits: u8) -> bool {
    match (ip, network) {
        (IpAddr::V4(ip), IpAddr::V4(network)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(network) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(network)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(network) & mask
        }
        _ => false,
    }
}

/// The proxy variables of the process as kube-rs can read them. The proxy is chosen by `proxy_for`, but
/// kube-rs also reads `HTTPS_PROXY` and `NO_PROXY` while it loads a kubeconfig, and refuses values Go
/// accepts: an empty entry (`a,,b` or a trailing comma), an entry it cannot parse, or a proxy that is not a
/// URL at all (which Go ignores). Gives the variables to set, with those entries left out (`*` anywhere
/// stands for every host, as in Go), and `None` for a variable to remove; nothing when all are readable.
pub fn readable_by_kube_rs(variables: &[(&str, Option<String>)]) -> Vec<(String, Option<String>)> {
    let mut changes = Vec::new();
    for (name, value) in variables {
        let Some(value) = value else { continue };
        let readable = match name.to_ascii_uppercase().as_str() {
            "NO_PROXY" => readable_no_proxy(value),
            _ if value.trim().is_empty() || value.parse::<Uri>().is_ok() => Some(value.clone()),
            _ => None,
        };
        if readable.as_deref() != Some(value.as_str()) {
            changes.push((name.to_string(), readable));
        }
    }
    changes
}

/// Rewrites the process's proxy variables as `readable_by_kube_rs` says, so that a kubeconfig loads where
/// kubectl's would; the entries left out are ones Go ignores or cannot use either.
///
/// # Safety
/// Changes the environment: call it before any other thread runs.
pub unsafe fn make_readable_by_kube_rs() {
    const NAMES: [&str; 4] = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];
    let variables: Vec<(&str, Option<String>)> = NAMES.iter().map(|name| (*name, std::env::var(name).ok())).collect();
    for (name, value) in readable_by_kube_rs(&variables) {
        // SAFETY: as the caller promised, no other thread reads or writes the environment.
        unsafe {
            match value {
                Some(value) => std::env::set_var(name, value),
                None => std::env::remove_var(name),
            }
        }
    }
}

fn readable_no_proxy(value: &str) -> Option<String> {
    let entries: Vec<&str> = value
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.contains(&"*") {
        return Some("*".into());
    }
    let kept: Vec<&str> = entries
        .into_iter()
        .filter(|entry| {
            let block = entry
                .split_once('/')
                .is_some_and(|(network, bits)| network.parse::<IpAddr>().is_ok() && bits.parse::<u8>().is_ok());
            block || entry.parse::<IpAddr>().is_ok() || entry.parse::<Uri>().is_ok_and(|uri| uri.host().is_some())
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(","))
}

/// A proxy address as written, with any password replaced, for an error message.
fn redacted(text: &str) -> String {
    match (text.find("://"), text.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => format!("{}://…@{}", &text[..scheme_end], &text[at + 1..]),
        (None, Some(at)) => format!("…@{}", &text[at + 1..]),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn environment(https: Option<&str>, http: Option<&str>, no_proxy: Option<&str>) -> ProxyEnvironment {
        ProxyEnvironment {
            https_proxy: https.map(String::from),
            http_proxy: http.map(String::from),
            no_proxy: no_proxy.map(String::from),
        }
    }

    fn chosen(server: &str, kubeconfig: Option<&str>, environment: &ProxyEnvironment) -> Option<String> {
        proxy_for(&server.parse().expect("a URL"), kubeconfig, environment)
            .expect("usable")
            .map(|proxy| proxy.url.to_string())
    }

    #[test]
    fn the_kubeconfig_proxy_is_used_for_every_address_even_loopback() {
        let none = ProxyEnvironment::default();
        for server in [
            "https://127.0.0.1:6443",
            "https://localhost:6443",
            "https://api.example.com",
        ] {
            assert_eq!(
                chosen(server, Some("http://proxy.corp:3128"), &none).as_deref(),
                Some("http://proxy.corp:3128/"),
                "{server}"
            );
        }
        let excluded = environment(Some("http://other:1"), None, Some("*"));
        assert_eq!(
            chosen("https://api.example.com", Some("socks5://127.0.0.1:1080"), &excluded).as_deref(),
            Some("socks5://127.0.0.1:1080/"),
            "NO_PROXY does not apply to the kubeconfig's proxy-url, as in client-go"
        );
    }

    #[test]
    fn an_unusable_kubeconfig_proxy_is_an_error_that_hides_its_password() {
        let none = ProxyEnvironment::default();
        let server: Uri = "https://api.example.com".parse().expect("a URL");
        let error = proxy_for(&server, Some("ftp://jane:secret@proxy:21"), &none).expect_err("refused");
        assert!(error.contains("only http, https and socks5"), "{error}");
        assert!(!error.contains("secret"), "{error}");
        assert!(proxy_for(&server, Some("http://"), &none).is_err());
        assert!(
            proxy_for(&server, Some("proxy.corp:3128"), &none).is_err(),
            "a scheme is needed there"
        );
        assert!(
            proxy_for(&server, Some("socks5h://127.0.0.1:1080"), &none).is_err(),
            "as kubectl"
        );
    }

    #[test]
    fn the_environment_follows_the_servers_scheme_and_skips_loopback() {
        let env = environment(Some("http://secure-proxy:3128"), Some("http://plain-proxy:3128"), None);
        assert_eq!(
            chosen("https://api.example.com:6443", None, &env).as_deref(),
            Some("http://secure-proxy:3128/")
        );
        assert_eq!(
            chosen("http://api.example.com:8080", None, &env).as_deref(),
            Some("http://plain-proxy:3128/")
        );
        for loopback in [
            "https://127.0.0.1:6443",
            "https://127.8.9.10",
            "https://localhost:6443",
            "https://LOCALHOST",
            "https://[::1]:6443",
        ] {
            assert_eq!(chosen(loopback, None, &env), None, "{loopback}");
        }
        assert_eq!(
            chosen("https://api.example.com", None, &ProxyEnvironment::default()),
            None
        );
    }

    #[test]
    fn a_proxy_without_a_scheme_is_http() {
        let env = environment(Some("proxy.corp:3128"), None, None);
        assert_eq!(
            chosen("https://api.example.com", None, &env).as_deref(),
            Some("http://proxy.corp:3128/")
        );
        let socks = environment(Some("socks5h://127.0.0.1:1080"), None, None);
        assert_eq!(
            chosen("https://api.example.com", None, &socks).as_deref(),
            Some("socks5://127.0.0.1:1080/")
        );
        let server: Uri = "https://api.example.com".parse().expect("a URL");
        let unsupported = environment(Some("ftp://proxy:21"), None, None);
        assert!(
            proxy_for(&server, None, &unsupported).is_err(),
            "a proxy that cannot be used is not gone around"
        );
        let upper = environment(Some("HTTP://proxy.corp:3128"), None, None);
        assert!(chosen("https://api.example.com", None, &upper).is_some());
    }

    #[test]
    fn no_proxy_entries_match_as_in_go() {
        let proxied = |server: &str, no_proxy: &str| {
            chosen(server, None, &environment(Some("http://p:1"), None, Some(no_proxy))).is_some()
        };
        assert!(!proxied("https://api.example.com", "*"));
        assert!(
            !proxied("https://api.example.com", "example.com"),
            "a domain covers itself"
        );
        assert!(!proxied("https://a.b.example.com", "example.com"), "and its subdomains");
        assert!(proxied("https://api.example.com", ".other.com,  "));
        assert!(
            proxied("https://example.com", ".example.com"),
            "a leading dot: subdomains only"
        );
        assert!(!proxied("https://api.example.com", ".example.com"));
        assert!(!proxied("https://api.example.com", "*.example.com"));
        assert!(
            proxied("https://notexample.com", "example.com"),
            "not a suffix match on the bare name"
        );
        assert!(!proxied("https://api.example.com:6443", "api.example.com:6443"));
        assert!(
            proxied("https://api.example.com:6443", "api.example.com:443"),
            "another port"
        );
        assert!(
            !proxied("https://api.example.com", "api.example.com:443"),
            "the default port counts"
        );
        assert!(!proxied("https://10.1.2.3:6443", "10.0.0.0/8"));
        assert!(proxied("https://11.1.2.3:6443", "10.0.0.0/8"));
        assert!(!proxied("https://10.1.2.3:6443", "10.1.2.3"));
        assert!(!proxied("https://10.1.2.3:6443", "10.1.2.3:6443"));
        assert!(proxied("https://10.1.2.3:6443", "10.1.2.3:443"));
        assert!(proxied("https://10.1.2.3", "1.2.3"), "an IP is not matched as a domain");
        assert!(!proxied("https://[fd00::5]:6443", "fd00::/8"));
        assert!(!proxied("https://[fd00::5]:6443", "[fd00::5]:6443"));
        assert!(
            !proxied("https://API.Example.com", "EXAMPLE.COM"),
            "case does not matter"
        );
        assert!(
            proxied("https://api.example.com", "*example.com"),
            "only `*.` is a wildcard"
        );
        assert!(
            proxied("https://[fd00::5]:6443", "[fd00::5]"),
            "brackets without a port match nothing"
        );
        assert!(
            !proxied("https://[::ffff:127.0.0.1]:6443", ""),
            "a mapped loopback address is loopback"
        );
    }

    #[test]
    fn proxies_with_credentials_are_taken_and_shown_without_them() {
        let server: Uri = "https://api.example.com".parse().expect("a URL");
        let env = environment(Some("socks5://jane:secret@127.0.0.1:1080"), None, None);
        for proxy in [
            proxy_for(
                &server,
                Some("socks5://jane:secret@127.0.0.1:1080"),
                &ProxyEnvironment::default(),
            ),
            proxy_for(&server, None, &env),
            proxy_for(
                &server,
                Some("http://jane:secret@127.0.0.1:3128"),
                &ProxyEnvironment::default(),
            ),
        ]
        .map(|result| result.expect("taken").expect("a proxy"))
        {
            let shown = proxy.display();
            assert!(
                shown.ends_with("127.0.0.1:1080") || shown.ends_with("127.0.0.1:3128"),
                "{shown}"
            );
            assert!(!shown.contains("secret") && !shown.contains("jane"), "{shown}");
        }
    }

    #[test]
    fn kube_rs_is_given_only_what_it_can_read() {
        let changes = |variables: &[(&str, Option<&str>)]| {
            let owned: Vec<(&str, Option<String>)> = variables
                .iter()
                .map(|(name, value)| (*name, value.map(String::from)))
                .collect();
            readable_by_kube_rs(&owned)
        };
        assert!(
            changes(&[
                ("NO_PROXY", Some("localhost,10.0.0.0/8,.corp")),
                ("HTTPS_PROXY", Some("p:3128"))
            ])
            .is_empty()
        );
        assert_eq!(
            changes(&[("NO_PROXY", Some("localhost, ,10.0.0.0/8,"))]),
            [("NO_PROXY".to_string(), Some("localhost,10.0.0.0/8".to_string()))]
        );
        assert_eq!(
            changes(&[("no_proxy", Some("a,*,b"))]),
            [("no_proxy".to_string(), Some("*".to_string()))]
        );
        assert_eq!(changes(&[("NO_PROXY", Some(",,"))]), [("NO_PROXY".to_string(), None)]);
        assert_eq!(
            changes(&[("HTTPS_PROXY", Some("http://a b"))]),
            [("HTTPS_PROXY".to_string(), None)]
        );
        assert!(changes(&[("HTTPS_PROXY", None)]).is_empty());
    }

    #[test]
    fn messages_never_show_proxy_credentials() {
        let proxy = Proxy {
            url: "http://jane:secret@proxy.corp:3128".parse().expect("a URL"),
            source: ProxySource::Kubeconfig,
        };
        assert_eq!(proxy.display(), "http://proxy.corp:3128");
        assert_eq!(redacted("socks5://u:p@h:1"), "socks5://…@h:1");
        assert_eq!(redacted("u:p@h:1"), "…@h:1");
    }
}
