//! Connecting like kubectl: the kubeconfig files (`--kubeconfig`, else every file in `KUBECONFIG` merged by
//! kubectl's rules, else `~/.kube/config`), the context, cluster and user it names, kubectl's overriding flags,
//! the proxy client-go would choose, compression, and the in-cluster configuration inside a pod. kube-rs does
//! the rest (TLS settings, tokens, exec credential plugins, gzip) over `transport`'s HTTP/2 client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};
use kube::{Client, Config};
use secrecy::SecretString;

use super::proxy::{self, Proxy, ProxyEnvironment, ProxySource};
use super::retry::RetryAfterLayer;
use super::transport::{self, ConnectLimits, LinkFacts, Route};
use super::waits::ServerWaits;
use crate::error::{Error, Result, causes};

/// How to reach and authenticate to the API server: the kubeconfig, kubectl's overriding flags, and the
/// proxy variables of the environment. `settings` fills it in; nothing here reads the command line.
#[derive(Clone, Default, PartialEq)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    pub server: Option<String>,
    pub token: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub client_certificate: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    pub certificate_authority: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    pub tls_server_name: Option<String>,
    /// `--disable-compression`: never ask for gzip, whatever the kubeconfig says.
    pub disable_compression: bool,
    pub impersonate_user: Option<String>,
    pub impersonate_groups: Vec<String>,
    pub impersonate_uid: Option<String>,
    /// Bounds each request (discovery, list pages, opening a watch); never a watch stream itself.
    pub request_timeout: Option<Duration>,
    pub proxy_environment: ProxyEnvironment,
    /// `DISABLE_HTTP2`: HTTP/1.1 only.
    pub disable_http2: bool,
    /// Where discovery is cached (`--cache-dir`, `KUBECACHEDIR`, else `~/.kube/cache`); none: not cached.
    pub cache_dir: Option<PathBuf>,
}

/// Written out without the token, the password or proxy credentials, wherever it is printed.
impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden = |value: &Option<String>| value.as_ref().map(|_| "<hidden>");
        f.debug_struct("ConnectOptions")
            .field("kubeconfig", &self.kubeconfig)
            .field("context", &self.context)
            .field("cluster", &self.cluster)
            .field("user", &self.user)
            .field("server", &self.server)
            .field("token", &hidden(&self.token))
            .field("username", &self.username)
            .field("password", &hidden(&self.password))
            .field("client_certificate", &self.client_certificate)
            .field("client_key", &self.client_key)
            .field("certificate_authority", &self.certificate_authority)
            .field("insecure_skip_tls_verify", &self.insecure_skip_tls_verify)
            .field("tls_server_name", &self.tls_server_name)
            .field("disable_compression", &self.disable_compression)
            .field("impersonate_user", &self.impersonate_user)
            .field("impersonate_groups", &self.impersonate_groups)
            .field("impersonate_uid", &self.impersonate_uid)
            .field("request_timeout", &self.request_timeout)
            .field("proxy_environment", &"<not shown>")
            .field("disable_http2", &self.disable_http2)
            .field("cache_dir", &self.cache_dir)
            .finish()
    }
}

/// A client for the API server and what the rest of the tool needs to know about how it was made.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// The context's namespace, else "default".
    pub default_namespace: String,
    /// The kubeconfig context in use; none in a pod or with only `--server`.
    pub context: Option<String>,
    /// The kubeconfig's name for the context's cluster; none in a pod or with only `--server`.
    pub cluster: Option<String>,
    /// The API server's address, for messages.
    pub server: String,
    /// The proxy the connections go through, if any.
    pub proxy: Option<Proxy>,
    pub request_timeout: Option<Duration>,
    pub cache_dir: Option<PathBuf>,
    /// What the requests are waiting on the server for, right now.
    pub waits: ServerWaits,
    /// HTTP/2 or HTTP/1.1 once the first connection is made, and the link's round trip.
    pub link: LinkFacts,
}

/// Name of the context made up when only `--server` says where to connect.
const FLAGS_ENTRY: &str = "command-line";

pub async fn connect(options: &ConnectOptions) -> Result<Connection> {
    let (mut config, named, kubeconfig_proxy) = match load_kubeconfig(options)? {
        Some(kubeconfig) => from_kubeconfig(kubeconfig, options).await?,
        None if options.server.is_some() => from_kubeconfig(Kubeconfig::default(), options).await?,
        None => (in_cluster(options)?, None, None),
    };
    let (context, cluster) = named.map_or((None, None), |(context, cluster)| (Some(context), Some(cluster)));
    if let Ok(agent) = HeaderValue::from_str(&user_agent()) {
        config.headers.push((HeaderName::from_static("user-agent"), agent));
    }
    // Refusals are retried by `RetryAfterLayer`, on the server's word only, and said; kube's own retry would
    // back off silently, up to minutes, past the `Retry-After` the server asks for.
    config.default_retry = false;
    if options.disable_compression {
        config.disable_compression = true;
    }
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    // kube-rs would take HTTPS_PROXY for every address and NO_PROXY for the kubeconfig's proxy too; client-go's
    // rules differ (loopback is never proxied from the environment), and they are the ones users know.
    let proxy = proxy::proxy_for(
        &config.cluster_url,
        kubeconfig_proxy.as_deref(),
        &options.proxy_environment,
    )
    .map_err(Error::Config)?;
    let route = match &proxy {
        None => Route::Direct,
        Some(proxy) if proxy.url.scheme_str() == Some("socks5") => Route::Socks(proxy.url.clone()),
        Some(proxy) => Route::Tunnel(proxy.url.clone()),
    };
    let default_namespace = config.default_namespace.clone();
    let waits = ServerWaits::default();
    let limits = ConnectLimits::within(options.request_timeout);
    let (client, link) = transport::client(&config, &route, limits, !options.disable_http2).map_err(|error| {
        let through = proxy
            .as_ref()
            .map(|proxy| format!(" through the proxy {}", proxy.display()))
            .unwrap_or_default();
        Error::Config(format!(
            "cannot set up a client for {server}{through}: {}",
            causes(error.as_ref())
        ))
    })?;
    let client = client.with_layer(&RetryAfterLayer::new(waits.clone())).build();
    Ok(Connection {
        client,
        default_namespace,
        context,
        cluster,
        server,
        proxy,
        request_timeout: options.request_timeout,
        cache_dir: options.cache_dir.clone(),
        waits,
        link,
    })
}

/// The User-Agent, in the form kubectl's has (`kubectl/v1.32.4 (linux/amd64) kubernetes/59526cd`), so that
/// the API server's audit log names the tool, its version, platform and commit:
/// `kubectl-watchnew/v0.1.0 (linux/amd64) kubectl-watchnew/1a2b3c4d5e6f`.
pub fn user_agent() -> String {
    // Go's names for the platform, as kubectl reports it.
    let os = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!(
        "kubectl-watchnew/v{} ({os}/{arch}) kubectl-watchnew/{}",
        env!("CARGO_PKG_VERSION"),
        env!("WATCHNEW_GIT_COMMIT")
    )
}

impl Connection {
    /// Bounds a request by `--request-timeout`, when one is given.
    pub async fn bounded<T>(&self, request: impl Future<Output = T>) -> Result<T> {
        match self.request_timeout {
            Some(limit) => tokio::time::timeout(limit, request).await.map_err(|_| {
                Error::Connection(format!(
                    "the API server at {} did not answer within {:.1}s",
                    self.route(),
                    limit.as_secs_f64()
                ))
            }),
            None => Ok(request.await),
        }
    }

    /// A failure to reach the server says through which proxy it was tried, if any: the first thing to check.
    pub fn explain(&self, error: Error) -> Error {
        match (error, &self.proxy) {
            (Error::Connection(message), Some(_)) => {
                Error::Connection(format!("{message} (connecting to {})", self.route()))
            }
            (error, _) => error,
        }
    }

    /// `https://api:6443`, or `https://api:6443 through the proxy http://proxy:3128 that HTTPS_PROXY names`
    /// (never with the proxy's credentials).
    pub fn route(&self) -> String {
        match &self.proxy {
            None => self.server.clone(),
            Some(proxy) => format!(
                "{} through the proxy {} that {} names",
                self.server,
                proxy.display(),
                match proxy.source {
                    ProxySource::Kubeconfig => "the kubeconfig's proxy-url",
                    ProxySource::Environment(variable) => variable,
                }
            ),
        }
    }
}

/// The kubeconfig kubectl would read, or `None` when there is none at all.
pub fn load_kubeconfig(options: &ConnectOptions) -> Result<Option<Kubeconfig>> {
    if let Some(path) = &options.kubeconfig {
        return read_kubeconfig(path).map(Some);
    }
    let paths: Vec<PathBuf> = match std::env::var_os("KUBECONFIG") {
        Some(value) if !value.is_empty() => std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty())
            .collect(),
        _ => std::env::home_dir()
            .map(|home| home.join(".kube").join("config"))
            .into_iter()
            .collect(),
    };
    let mut merged: Option<Kubeconfig> = None;
    // Like kubectl, files in KUBECONFIG that do not exist are skipped; the first file to set a value wins.
    for path in paths.iter().filter(|path| path.exists()) {
        let next = read_kubeconfig(path)?;
        merged = Some(match merged {
            None => next,
            Some(earlier) => earlier.merge(next).map_err(|error| {
                Error::Config(format!(
                    "cannot merge kubeconfig {}: {}",
                    path.display(),
                    causes(&error)
                ))
            })?,
        });
    }
    Ok(merged)
}

fn read_kubeconfig(path: &Path) -> Result<Kubeconfig> {
    Kubeconfig::read_from(path)
        .map_err(|error| Error::Config(format!("cannot read kubeconfig {}: {}", path.display(), causes(&error))))
}

/// The configuration of the context to use, its name and its cluster's (none for one made up from
/// `--server`), and the cluster's `proxy-url`.
async fn from_kubeconfig(
    mut kubeconfig: Kubeconfig,
    options: &ConnectOptions,
) -> Result<(Config, Option<(String, String)>, Option<String>)> {
    let names: Vec<&str> = kubeconfig
        .contexts
        .iter()
        .map(|context| context.name.as_str())
        .collect();
    let available = if names.is_empty() {
        String::new()
    } else {
        format!(" (contexts: {})", names.join(", "))
    };
    let context_name = match options
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .filter(|n| !n.is_empty())
    {
        Some(name) => name,
        None if options.server.is_some() => {
            kubeconfig.contexts.push(NamedContext {
                name: FLAGS_ENTRY.into(),
                context: Some(Context {
                    cluster: FLAGS_ENTRY.into(),
                    ..Default::default()
                }),
                ..Default::default()
            });
            FLAGS_ENTRY.into()
        }
        None => {
            return Err(Error::Config(format!(
                "the kubeconfig has no current context; choose one with --context{available}"
            )));
        }
    };
    let Some(context) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.clone())
    else {
        return Err(Error::Config(format!(
            "context {context_name:?} is not in the kubeconfig{available}"
        )));
    };

    let cluster_name = options.cluster.clone().unwrap_or(context.cluster.clone());
    if !kubeconfig.clusters.iter().any(|cluster| cluster.name == cluster_name) {
        if options.server.is_none() {
            return Err(Error::Config(format!(
                "cluster {cluster_name:?} is not in the kubeconfig"
            )));
        }
        kubeconfig.clusters.push(NamedCluster {
            name: cluster_name.clone(),
            cluster: Some(Cluster::default()),
            ..Default::default()
        });
    }
    let mut proxy_url = None;
    if let Some(named) = kubeconfig
        .clusters
        .iter_mut()
        .find(|cluster| cluster.name == cluster_name)
    {
        let cluster = named.cluster.get_or_insert_with(Cluster::default);
        override_cluster(cluster, options);
        // Chosen here by client-go's rules (see `proxy`); kube-rs must not see it, or it would apply NO_PROXY.
        proxy_url = cluster.proxy_url.take();
    }

    let user_name = options
        .user
        .clone()
        .or(context.user.clone())
        .filter(|name| !name.is_empty());
    if let Some(user_name) = &user_name {
        if !kubeconfig.auth_infos.iter().any(|user| &user.name == user_name) {
            if options.user.is_some() {
                return Err(Error::Config(format!("user {user_name:?} is not in the kubeconfig")));
            }
            kubeconfig.auth_infos.push(NamedAuthInfo {
                name: user_name.clone(),
                auth_info: Some(AuthInfo::default()),
                ..Default::default()
            });
        }
        if let Some(user) = kubeconfig.auth_infos.iter_mut().find(|user| &user.name == user_name) {
            override_user(user.auth_info.get_or_insert_with(AuthInfo::default), options);
        }
    } else if has_user_overrides(options) {
        kubeconfig.auth_infos.push(NamedAuthInfo {
            name: FLAGS_ENTRY.into(),
            auth_info: Some(AuthInfo::default()),
            ..Default::default()
        });
        if let Some(user) = kubeconfig.auth_infos.last_mut() {
            override_user(user.auth_info.get_or_insert_with(AuthInfo::default), options);
        }
    }
    let user = user_name.or_else(|| has_user_overrides(options).then(|| FLAGS_ENTRY.to_string()));

    let names = KubeConfigOptions {
        context: Some(context_name.clone()),
        cluster: Some(cluster_name.clone()),
        user,
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &names)
        .await
        .map_err(|error| {
            Error::Config(format!(
                "cannot use context {context_name:?} of the kubeconfig: {}",
                causes(&error)
            ))
        })?;
    let named = (context_name != FLAGS_ENTRY).then_some((context_name, cluster_name));
    Ok((config, named, proxy_url))
}

fn override_cluster(cluster: &mut Cluster, options: &ConnectOptions) {
    if let Some(server) = &options.server {
        cluster.server = Some(server.clone());
        // As client-go: another address makes the kubeconfig's name for the certificate meaningless.
        cluster.tls_server_name = None;
    }
    if let Some(path) = &options.certificate_authority {
        cluster.certificate_authority = Some(path.display().to_string());
        cluster.certificate_authority_data = None;
    }
    if let Some(name) = &options.tls_server_name {
        cluster.tls_server_name = Some(name.clone());
    }
    if options.insecure_skip_tls_verify {
        // As in kubectl, skipping verification drops the CA instead of mixing the two.
        cluster.insecure_skip_tls_verify = Some(true);
        cluster.certificate_authority = None;
        cluster.certificate_authority_data = None;
    }
}

fn has_user_overrides(options: &ConnectOptions) -> bool {
    options.token.is_some()
        || options.username.is_some()
        || options.password.is_some()
        || options.client_certificate.is_some()
        || options.client_key.is_some()
        || options.impersonate_user.is_some()
}

fn override_user(user: &mut AuthInfo, options: &ConnectOptions) {
    if let Some(token) = &options.token {
        // A token given on the command line replaces every other source of a token.
        user.token = Some(SecretString::from(token.clone()));
        user.token_file = None;
        user.exec = None;
        user.auth_provider = None;
        user.username = None;
        user.password = None;
    }
    if let Some(username) = &options.username {
        user.username = Some(username.clone());
    }
    if let Some(password) = &options.password {
        user.password = Some(SecretString::from(password.clone()));
    }
    if let Some(path) = &options.client_certificate {
        user.client_certificate = Some(path.display().to_string());
        user.client_certificate_data = None;
    }
    if let Some(path) = &options.client_key {
        user.client_key = Some(path.display().to_string());
        user.client_key_data = None;
    }
    if let Some(name) = &options.impersonate_user {
        user.impersonate = Some(name.clone());
        user.impersonate_groups = (!options.impersonate_groups.is_empty()).then(|| options.impersonate_groups.clone());
        user.impersonate_uid = options.impersonate_uid.clone();
    }
}

/// Inside a pod, with no kubeconfig: the service account, as kubectl does.
fn in_cluster(options: &ConnectOptions) -> Result<Config> {
    let mut config = Config::incluster().map_err(|error| {
        Error::Config(format!(
            "no kubeconfig found (KUBECONFIG is not set and ~/.kube/config does not exist) and not running in a pod \
             ({}); use --kubeconfig, or --server with --token",
            causes(&error)
        ))
    })?;
    let mut user = config.auth_info.clone();
    override_user(&mut user, options);
    config.auth_info = user;
    if options.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    if let Some(name) = &options.tls_server_name {
        config.tls_server_name = Some(name.clone());
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kubeconfig(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).expect("valid test kubeconfig")
    }

    const TWO_CONTEXTS: &str = r#"
apiVersion: v1
kind: Config
clusters:
- name: prod
  cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}
- name: dev
  cluster: {server: "https://dev.example:6443", insecure-skip-tls-verify: true}
users:
- name: alice
  user: {token: "alice-secret"}
contexts:
- name: prod
  context: {cluster: prod, user: alice, namespace: payments}
- name: dev
  context: {cluster: dev, user: alice}
current-context: prod
"#;

    async fn resolve(yaml: &str, options: ConnectOptions) -> Result<(Config, Option<String>)> {
        from_kubeconfig(kubeconfig(yaml), &options)
            .await
            .map(|(config, named, _)| (config, named.map(|(context, _)| context)))
    }

    #[tokio::test]
    async fn the_current_context_gives_server_and_namespace() {
        let (config, context) = resolve(TWO_CONTEXTS, ConnectOptions::default())
            .await
            .expect("resolves");
        assert_eq!(config.cluster_url.to_string(), "https://prod.example:6443/");
        assert_eq!(config.default_namespace, "payments");
        assert_eq!(context.as_deref(), Some("prod"));
    }

    #[tokio::test]
    async fn the_context_names_its_cluster() {
        let (_, named, _) = from_kubeconfig(kubeconfig(TWO_CONTEXTS), &ConnectOptions::default())
            .await
            .expect("resolves");
        assert_eq!(named, Some(("prod".to_string(), "prod".to_string())));
        let dev = ConnectOptions {
            context: Some("dev".into()),
            ..ConnectOptions::default()
        };
        let (_, named, _) = from_kubeconfig(kubeconfig(TWO_CONTEXTS), &dev).await.expect("resolves");
        assert_eq!(named, Some(("dev".to_string(), "dev".to_string())));
    }

    #[tokio::test]
    async fn flags_override_the_kubeconfig() {
        let settings = ConnectOptions {
            context: Some("dev".into()),
            server: Some("https://other.example:443".into()),
            token: Some("flag-token".into()),
            impersonate_user: Some("jane".into()),
            impersonate_groups: vec!["ops".into()],
            ..Default::default()
        };
        let (config, _) = resolve(TWO_CONTEXTS, settings).await.expect("resolves");
        assert_eq!(config.cluster_url.to_string(), "https://other.example:443/");
        assert_eq!(config.default_namespace, "default");
        assert_eq!(config.auth_info.impersonate.as_deref(), Some("jane"));
        assert_eq!(config.auth_info.impersonate_groups, Some(vec!["ops".to_string()]));
        let token = config
            .auth_info
            .token
            .as_ref()
            .map(|token| secrecy::ExposeSecret::expose_secret(token).to_string());
        assert_eq!(token.as_deref(), Some("flag-token"));
    }

    #[tokio::test]
    async fn unknown_names_are_configuration_errors() {
        for settings in [
            ConnectOptions {
                context: Some("staging".into()),
                ..Default::default()
            },
            ConnectOptions {
                cluster: Some("nowhere".into()),
                ..Default::default()
            },
            ConnectOptions {
                user: Some("bob".into()),
                ..Default::default()
            },
        ] {
            let error = resolve(TWO_CONTEXTS, settings.clone()).await.err();
            assert!(matches!(error, Some(Error::Config(_))), "{settings:?} gave {error:?}");
        }
        let error = resolve(
            TWO_CONTEXTS,
            ConnectOptions {
                context: Some("staging".into()),
                ..Default::default()
            },
        )
        .await
        .err()
        .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some(r#"context "staging" is not in the kubeconfig (contexts: prod, dev)"#)
        );
    }

    #[tokio::test]
    async fn no_current_context_asks_for_one() {
        let yaml = TWO_CONTEXTS.replace("current-context: prod", "");
        let error = resolve(&yaml, ConnectOptions::default())
            .await
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("the kubeconfig has no current context; choose one with --context (contexts: prod, dev)")
        );
    }

    #[tokio::test]
    async fn the_clusters_proxy_tls_name_and_compression_are_taken_and_flags_override_them() {
        let yaml = TWO_CONTEXTS.replace(
            r#"cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}"#,
            r#"cluster: {server: "https://10.0.0.7:6443", insecure-skip-tls-verify: true,
                proxy-url: "socks5://127.0.0.1:1080", tls-server-name: api.prod.example,
                disable-compression: true}"#,
        );
        let (config, _, proxy) = from_kubeconfig(kubeconfig(&yaml), &ConnectOptions::default())
            .await
            .expect("resolves");
        assert_eq!(proxy.as_deref(), Some("socks5://127.0.0.1:1080"));
        assert_eq!(config.proxy_url, None, "chosen by client-go's rules, not kube-rs's");
        assert_eq!(config.tls_server_name.as_deref(), Some("api.prod.example"));
        assert!(config.disable_compression);

        let flags = ConnectOptions {
            tls_server_name: Some("other.example".into()),
            username: Some("jane".into()),
            password: Some("pass".into()),
            ..Default::default()
        };
        let (config, _, _) = from_kubeconfig(kubeconfig(&yaml), &flags).await.expect("resolves");
        assert_eq!(config.tls_server_name.as_deref(), Some("other.example"));
        assert_eq!(config.auth_info.username.as_deref(), Some("jane"));
    }

    #[tokio::test]
    async fn a_server_flag_drops_the_kubeconfigs_tls_server_name_as_kubectl_does() {
        let yaml = TWO_CONTEXTS.replace(
            r#"cluster: {server: "https://prod.example:6443", insecure-skip-tls-verify: true}"#,
            r#"cluster: {server: "https://10.0.0.7:6443", tls-server-name: api.prod.example}"#,
        );
        let server = |options: ConnectOptions| {
            let yaml = yaml.clone();
            async move {
                let (config, _, _) = from_kubeconfig(kubeconfig(&yaml), &options).await.expect("resolves");
                config.tls_server_name
            }
        };
        let moved = ConnectOptions {
            server: Some("https://127.0.0.1:6443".into()),
            ..Default::default()
        };
        assert_eq!(server(moved.clone()).await, None);
        let named = ConnectOptions {
            tls_server_name: Some("api.prod.example".into()),
            ..moved
        };
        assert_eq!(server(named).await.as_deref(), Some("api.prod.example"));
    }

    #[test]
    fn secrets_stay_out_of_the_debug_form() {
        let options = ConnectOptions {
            token: Some("t0ken-value".into()),
            password: Some("pa55word".into()),
            proxy_environment: ProxyEnvironment {
                https_proxy: Some("http://jane:pr0xy@proxy:3128".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let shown = format!("{options:?}");
        for secret in ["t0ken-value", "pa55word", "pr0xy"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("token: Some(\"<hidden>\")"), "{shown}");
    }

    #[tokio::test]
    async fn a_server_flag_alone_is_enough() {
        let settings = ConnectOptions {
            server: Some("https://10.0.0.1:6443".into()),
            token: Some("t".into()),
            ..Default::default()
        };
        let (config, context, _) = from_kubeconfig(Kubeconfig::default(), &settings)
            .await
            .expect("resolves");
        assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
        assert_eq!(context, None);
    }
}
