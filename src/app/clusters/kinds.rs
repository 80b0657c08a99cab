//! Finding a context's kinds: its start (discovery, the version probe, the Events' kind), tried again with
//! several contexts; with `--all-kinds`, a look at discovery every 15 s for kinds installed since.

use super::*;

/// With `--all-kinds`, how often discovery is asked again for kinds installed since: two small requests.
const REDISCOVERY_INTERVAL: Duration = Duration::from_secs(15);

/// A context's kinds, found: what its streams need.
pub(super) struct Start {
    pub(super) namespace: Option<String>,
    pub(super) targets: Vec<Target>,
    /// The first this many targets were named on the command line (the others, `--all-kinds` found).
    pub(super) named: usize,
    pub(super) events: Option<ResourceInfo>,
    pub(super) streaming: bool,
}

impl Clusters {
    pub(super) fn start_context(&self, context: usize, after: Duration) {
        let connection = self.contexts[context].connection.clone();
        let plan = Arc::clone(&self.plan);
        let arrivals = self.arrivals_sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            let start = find_kinds(&connection, &plan).await.map(Box::new);
            let _ = arrivals.send(Arrival::Started { context, start });
        });
    }

    pub(super) fn rediscover_later(&self, context: usize) {
        let connection = self.contexts[context].connection.clone();
        let arrivals = self.arrivals_sender.clone();
        tokio::spawn(async move {
            tokio::time::sleep(REDISCOVERY_INTERVAL).await;
            let catalog = resolver::rediscover(&connection).await;
            let _ = arrivals.send(Arrival::Discovered { context, catalog });
        });
    }

    /// The kinds of a context are known: its streams start.
    pub(super) fn run_context(&mut self, context: usize, start: Start, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        state.running = Some(Running {
            namespace: start.namespace,
            strategy: ListStrategy::new(
                start.streaming,
                state.connection.link.round_trip.clone(),
                Arc::clone(&self.plan.lists),
            ),
            session: Session::new(start.targets.len()),
            members: Vec::new(),
            watched: Vec::new(),
            gone: Vec::new(),
            events: None,
        });
        for (index, target) in start.targets.into_iter().enumerate() {
            self.watch_kind(context, target, index < start.named, false, out);
        }
        self.watch_events(context, start.events);
        if self.plan.all_kinds {
            self.rediscover_later(context);
        }
    }

    /// `--all-kinds`: a kind found by discovery that discovery no longer lists (its CRD deleted) ends its
    /// stream, as a 404 would: kube-apiserver closes a deleted CRD's watches only once that kind's other
    /// requests are over, which under load can take minutes, and until then the stream would wait in silence.
    pub(super) fn end_kinds_gone(&mut self, context: usize, catalog: &Catalog, out: &mut Vec<Fed>) {
        let Some(running) = &self.contexts[context].running else {
            return;
        };
        let served = |resource: &ResourceInfo| {
            catalog
                .resources()
                .iter()
                .any(|served| served.group == resource.group && served.plural == resource.plural)
        };
        let ending: Vec<(usize, usize)> = running
            .members
            .iter()
            .copied()
            .enumerate()
            .filter(|&(member, driver)| {
                let resource = &running.watched[member].resource;
                let found = matches!(self.routes[driver].role, Role::Watched { named: false, .. });
                found && !self.routes[driver].ended && !running.gone.contains(resource) && !served(resource)
            })
            .collect();
        for (member, driver) in ending {
            let route = &mut self.routes[driver];
            route.ended = true;
            if let Some(task) = route.task.take() {
                task.abort();
            }
            let text = format!(
                "{}: no longer served (gone from discovery), so its stream ends",
                route.name
            );
            out.push(notice(NoticeKind::Other, text));
            let state = &mut self.contexts[context];
            state.connection.waits.listed(&self.routes[driver].name);
            state.health.well(driver);
            if let Some(running) = &mut state.running {
                running.session.drop_stream(member, &mut self.reports);
                running.gone.push(running.watched[member].resource.clone());
            }
        }
        self.report(context, out);
    }

    /// `--all-kinds`: kinds the server serves now that are not watched yet (a CRD installed since) start.
    pub(super) fn add_new_kinds(&mut self, context: usize, catalog: &Catalog, out: &mut Vec<Fed>) {
        let Some(running) = &self.contexts[context].running else {
            return;
        };
        let mut targets: Vec<Target> = running
            .watched
            .iter()
            .filter(|target| !running.gone.contains(&target.resource))
            .cloned()
            .collect();
        let before = targets.len();
        resolver::add_every_kind(&mut targets, catalog, self.plan.scope == NamespaceScope::All);
        for target in targets.into_iter().skip(before) {
            let text = format!(
                "{}: a new kind; watching it",
                route_name(
                    self.contexts[context].name.as_deref(),
                    &target.resource.qualified_name()
                )
            );
            out.push(notice(NoticeKind::Other, text));
            if let Some(running) = self.contexts[context].running.as_mut() {
                running.gone.retain(|gone| gone != &target.resource);
                if let Some(events) = running.events.as_mut() {
                    events.kinds.push(target.resource.kind.clone());
                }
            }
            self.watch_kind(context, target, false, true, out);
        }
    }
}

/// Discovery for one context: the kinds to watch, where, the Events' kind, and whether lists can stream.
async fn find_kinds(connection: &Connection, plan: &Plan) -> Result<Start> {
    let mut targets = resolver::resolve(connection, &plan.targets).await?;
    let named = targets.len();
    if plan.all_kinds {
        // Fresh, not cached: a CRD installed since the cache was written is watched from the start.
        let catalog = resolver::rediscover(connection).await?;
        resolver::add_every_kind(&mut targets, &catalog, plan.scope == NamespaceScope::All);
    }
    let namespace = match &plan.scope {
        NamespaceScope::All => None,
        NamespaceScope::Named(namespace) => Some(namespace.clone()),
        NamespaceScope::ContextDefault => Some(connection.default_namespace.clone()),
    };
    // LIST pages by default: kube-apiserver 1.37 sends them in half the time of a streamed list
    // (BENCHMARKS.md), and they need no version check.
    let streaming = plan.streaming_lists && server_streams_lists(connection).await?;
    let events = match plan.events {
        EventUse::Off => None,
        EventUse::Join | EventUse::Print => resolver::event_resource(connection).await?,
    };
    Ok(Start {
        namespace,
        targets,
        named,
        events,
        streaming,
    })
}

/// Streamed initial lists exist from Kubernetes 1.27; older servers ignore the parameter and would replay
/// everything as a plain watch, so they are never asked.
async fn server_streams_lists(connection: &Connection) -> Result<bool> {
    let version = connection
        .bounded(connection.client.apiserver_version())
        .await?
        .map_err(|error| request_error(error, "reading the server version"))?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    Ok(version.major == "1" && minor >= 27)
}
