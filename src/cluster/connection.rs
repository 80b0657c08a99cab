//! Connecting like kubectl: the kubeconfig files (`--kubeconfig`, else every file in `KUBECONFIG` merged by
//! kubectl's rules, else `~/.kube/config`), the context, cluster and user it names, kubectl's overriding flags,
//! and the in-cluster configuration inside a pod. kube-rs does the rest: TLS, tokens, exec credential plugins.

use std::path::{Path, PathBuf};
use std::time::Duration;

use http::{HeaderName, HeaderValue};
use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster, NamedContext,
};
use kube::{Client, Config};
use secrecy::SecretString;

use crate::error::{Error, Result};
use crate::settings::ConnectionSettings;

/// A client for the API server and what the rest of the tool needs to know about how it was made.
#[derive(Clone)]
pub struct Connection {
    pub client: Client,
    /// The context's namespace, else "default".
    pub default_namespace: String,
    /// The kubeconfig context in use; none in a pod or with only `--server`.
    pub context: Option<String>,
    /// The API server's address, for messages.
    pub server: String,
    pub request_timeout: Option<Duration>,
}

/// Name of the context made up when only `--server` says where to connect.
const FLAGS_ENTRY: &str = "command-line";

pub async fn connect(settings: &ConnectionSettings) -> Result<Connection> {
    let (mut config, context) = match load_kubeconfig(settings)? {
        Some(kubeconfig) => from_kubeconfig(kubeconfig, settings).await?,
        None if settings.server.is_some() => from_kubeconfig(Kubeconfig::default(), settings).await?,
        None => (in_cluster(settings)?, None),
    };
    config.connect_timeout = settings.request_timeout.or(config.connect_timeout);
    // The watch engine bounds its streams itself; a read timeout here would cut quiet watches.
    config.read_timeout = None;
    config.headers.push((
        HeaderName::from_static("user-agent"),
        HeaderValue::from_static(concat!("kubectl-watchnew/", env!("CARGO_PKG_VERSION"))),
    ));
    let server = config.cluster_url.to_string().trim_end_matches('/').to_string();
    let default_namespace = config.default_namespace.clone();
    let client = Client::try_from(config)
        .map_err(|error| Error::Config(format!("cannot set up a client for {server}: {}", causes(&error))))?;
    Ok(Connection {
        client,
        default_namespace,
        context,
        server,
        request_timeout: settings.request_timeout,
    })
}

/// The kubeconfig kubectl would read, or `None` when there is none at all.
pub fn load_kubeconfig(settings: &ConnectionSettings) -> Result<Option<Kubeconfig>> {
    if let Some(path) = &settings.kubeconfig {
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

async fn from_kubeconfig(
    mut kubeconfig: Kubeconfig,
    settings: &ConnectionSettings,
) -> Result<(Config, Option<String>)> {
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
    let context_name = match settings
        .context
        .clone()
        .or_else(|| kubeconfig.current_context.clone())
        .filter(|n| !n.is_empty())
    {
        Some(name) => name,
        None if settings.server.is_some() => {
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

    let cluster_name = settings.cluster.clone().unwrap_or(context.cluster.clone());
    if !kubeconfig.clusters.iter().any(|cluster| cluster.name == cluster_name) {
        if settings.server.is_none() {
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
    if let Some(named) = kubeconfig
        .clusters
        .iter_mut()
        .find(|cluster| cluster.name == cluster_name)
    {
        override_cluster(named.cluster.get_or_insert_with(Cluster::default), settings);
    }

    let user_name = settings
        .user
        .clone()
        .or(context.user.clone())
        .filter(|name| !name.is_empty());
    if let Some(user_name) = &user_name {
        if !kubeconfig.auth_infos.iter().any(|user| &user.name == user_name) {
            if settings.user.is_some() {
                return Err(Error::Config(format!("user {user_name:?} is not in the kubeconfig")));
            }
            kubeconfig.auth_infos.push(NamedAuthInfo {
                name: user_name.clone(),
                auth_info: Some(AuthInfo::default()),
                ..Default::default()
            });
        }
        if let Some(user) = kubeconfig.auth_infos.iter_mut().find(|user| &user.name == user_name) {
            override_user(user.auth_info.get_or_insert_with(AuthInfo::default), settings);
        }
    } else if has_user_overrides(settings) {
        kubeconfig.auth_infos.push(NamedAuthInfo {
            name: FLAGS_ENTRY.into(),
            auth_info: Some(AuthInfo::default()),
            ..Default::default()
        });
        if let Some(user) = kubeconfig.auth_infos.last_mut() {
            override_user(user.auth_info.get_or_insert_with(AuthInfo::default), settings);
        }
    }
    let user = user_name.or_else(|| has_user_overrides(settings).then(|| FLAGS_ENTRY.to_string()));

    let options = KubeConfigOptions {
        context: Some(context_name.clone()),
        cluster: Some(cluster_name),
        user,
    };
    let config = Config::from_custom_kubeconfig(kubeconfig, &options)
        .await
        .map_err(|error| {
            Error::Config(format!(
                "cannot use context {context_name:?} of the kubeconfig: {}",
                causes(&error)
            ))
        })?;
    let context = (context_name != FLAGS_ENTRY).then_some(context_name);
    Ok((config, context))
}

fn override_cluster(cluster: &mut Cluster, settings: &ConnectionSettings) {
    if let Some(server) = &settings.server {
        cluster.server = Some(server.clone());
    }
    if let Some(path) = &settings.certificate_authority {
        cluster.certificate_authority = Some(path.display().to_string());
        cluster.certificate_authority_data = None;
    }
    if settings.insecure_skip_tls_verify {
        // As in kubectl, skipping verification drops the CA instead of mixing the two.
        cluster.insecure_skip_tls_verify = Some(true);
        cluster.certificate_authority = None;
        cluster.certificate_authority_data = None;
    }
}

fn has_user_overrides(settings: &ConnectionSettings) -> bool {
    settings.token.is_some()
        || settings.client_certificate.is_some()
        || settings.client_key.is_some()
        || settings.impersonate_user.is_some()
}

fn override_user(user: &mut AuthInfo, settings: &ConnectionSettings) {
    if let Some(token) = &settings.token {
        // A token given on the command line replaces every other source of a token.
        user.token = Some(SecretString::from(token.clone()));
        user.token_file = None;
        user.exec = None;
        user.auth_provider = None;
        user.username = None;
        user.password = None;
    }
    if let Some(path) = &settings.client_certificate {
        user.client_certificate = Some(path.display().to_string());
        user.client_certificate_data = None;
    }
    if let Some(path) = &settings.client_key {
        user.client_key = Some(path.display().to_string());
        user.client_key_data = None;
    }
    if let Some(name) = &settings.impersonate_user {
        user.impersonate = Some(name.clone());
        user.impersonate_groups =
            (!settings.impersonate_groups.is_empty()).then(|| settings.impersonate_groups.clone());
        user.impersonate_uid = settings.impersonate_uid.clone();
    }
}

/// Inside a pod, with no kubeconfig: the service account, as kubectl does.
fn in_cluster(settings: &ConnectionSettings) -> Result<Config> {
    let mut config = Config::incluster().map_err(|error| {
        Error::Config(format!(
            "no kubeconfig found (KUBECONFIG is not set and ~/.kube/config does not exist) and not running in a pod \
             ({}); use --kubeconfig, or --server with --token",
            causes(&error)
        ))
    })?;
    let mut user = config.auth_info.clone();
    override_user(&mut user, settings);
    config.auth_info = user;
    if settings.insecure_skip_tls_verify {
        config.accept_invalid_certs = true;
    }
    Ok(config)
}

/// An error and its sources, as one line, each cause said once.
pub fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(error);
    while let Some(error) = current {
        let text = plain_words(&error.to_string());
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        current = error.source();
    }
    parts.join(": ")
}

/// An error's text as one would say it during an incident: no link to a manual, and a connection cut short
/// called that rather than by the TLS message it causes.
fn plain_words(text: &str) -> String {
    let text = match text.find(": https://") {
        Some(link) => &text[..link],
        None => text,
    };
    text.replace(
        "peer closed connection without sending TLS close_notify",
        "the connection was cut",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_read_plainly() {
        #[derive(Debug)]
        struct Layer(&'static str, Option<Box<Layer>>);
        impl std::fmt::Display for Layer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.0)
            }
        }
        impl std::error::Error for Layer {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                self.1.as_deref().map(|layer| layer as _)
            }
        }
        let cut = Layer(
            "error reading a body from connection",
            Some(Box::new(Layer(
                "peer closed connection without sending TLS close_notify: \
                 https://docs.rs/rustls/latest/rustls/manual/_03_howto/index.html#unexpected-eof",
                None,
            ))),
        );
        assert_eq!(
            causes(&cut),
            "error reading a body from connection: the connection was cut"
        );
    }

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

    async fn resolve(yaml: &str, settings: ConnectionSettings) -> Result<(Config, Option<String>)> {
        from_kubeconfig(kubeconfig(yaml), &settings).await
    }

    #[tokio::test]
    async fn the_current_context_gives_server_and_namespace() {
        let (config, context) = resolve(TWO_CONTEXTS, ConnectionSettings::default())
            .await
            .expect("resolves");
        assert_eq!(config.cluster_url.to_string(), "https://prod.example:6443/");
        assert_eq!(config.default_namespace, "payments");
        assert_eq!(context.as_deref(), Some("prod"));
    }

    #[tokio::test]
    async fn flags_override_the_kubeconfig() {
        let settings = ConnectionSettings {
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
            ConnectionSettings {
                context: Some("staging".into()),
                ..Default::default()
            },
            ConnectionSettings {
                cluster: Some("nowhere".into()),
                ..Default::default()
            },
            ConnectionSettings {
                user: Some("bob".into()),
                ..Default::default()
            },
        ] {
            let error = resolve(TWO_CONTEXTS, settings.clone()).await.err();
            assert!(matches!(error, Some(Error::Config(_))), "{settings:?} gave {error:?}");
        }
        let error = resolve(
            TWO_CONTEXTS,
            ConnectionSettings {
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
        let error = resolve(&yaml, ConnectionSettings::default())
            .await
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            error.as_deref(),
            Some("the kubeconfig has no current context; choose one with --context (contexts: prod, dev)")
        );
    }

    #[tokio::test]
    async fn a_server_flag_alone_is_enough() {
        let settings = ConnectionSettings {
            server: Some("https://10.0.0.1:6443".into()),
            token: Some("t".into()),
            ..Default::default()
        };
        let (config, context) = from_kubeconfig(Kubeconfig::default(), &settings)
            .await
            .expect("resolves");
        assert_eq!(config.cluster_url.to_string(), "https://10.0.0.1:6443/");
        assert_eq!(context, None);
    }
}
