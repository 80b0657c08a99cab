//! The streams of the watched kinds: started, their messages fed to the context's session, its reports turned
//! into feed items; a stream refused for good ends the run, is left out or is tried again.

use super::*;
use crate::engine::stream::Notice;

/// With several contexts, how long a stream refused for good (forbidden, expired credentials) waits before it
/// is tried again: the others go on meanwhile.
const STREAM_RETRY: Duration = Duration::from_secs(30);

impl Clusters {
    /// Starts the stream of one kind in one context.
    pub(super) fn watch_kind(&mut self, context: usize, target: Target, named: bool, late: bool, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        let Some(running) = &mut state.running else { return };
        let label = StreamLabel::from(&target.resource);
        let beating = !self.plan.heartbeats && beats(&target.resource);
        let spec = StreamSpec {
            path: target.resource.collection_path(running.namespace.as_deref()),
            label_selector: self.plan.label_selector.clone(),
            field_selector: self.plan.field_selector.clone(),
            names: target.names.clone(),
            representation: match self.plan.representation {
                // Only the whole object tells a heartbeat from a change: `-o name` reads nodes and Leases whole.
                Representation::Metadata if beating => Representation::Objects,
                representation => representation,
            },
            gather: self.plan.gather,
            writers: self.plan.who,
            whole_snapshot: beating,
        };
        // The kinds found at the start have their place in the session; a kind found later joins it.
        let member = match running.members.len() < running.session.stream_count() {
            true => running.members.len(),
            false => running.session.add_stream(),
        };
        let late = late && running.session.is_synced();
        let restored = if late {
            None
        } else {
            self.restore_stream(context, member, &spec)
        };
        let state = &mut self.contexts[context];
        let Some(running) = &mut state.running else { return };
        let driver = self.routes.len();
        running.members.push(driver);
        running.watched.push(target);
        let mut info = StreamInfo::new(label);
        info.context = state.name.clone();
        let feed = self.feed_streams;
        self.feed_streams += 1;
        out.push(now(FeedItem::Stream(Box::new(info.clone()))));
        self.routes.push(Route {
            context,
            name: route_name(state.name.as_deref(), &info.label.name),
            role: Role::Watched {
                member,
                feed,
                info: Box::new(info),
                named,
                late,
            },
            spec,
            gap: restored,
            task: None,
            ended: false,
        });
        self.spawn_driver(driver, restored.is_some());
    }

    /// Starts a stream's driver; `resuming` from the state file, its first list is a relist.
    pub(super) fn spawn_driver(&mut self, driver: usize, resuming: bool) {
        let route = &self.routes[driver];
        let state = &self.contexts[route.context];
        let Some(running) = &state.running else { return };
        let stream = StreamDriver::new(
            state.connection.client.clone(),
            route.spec.clone(),
            driver,
            self.sender.clone(),
            Arc::clone(&running.strategy),
            state.connection.request_timeout,
            self.plan.silence_limit,
        );
        let stream = match resuming {
            true => stream.resuming(),
            false => stream,
        };
        self.routes[driver].task = Some(tokio::spawn(stream.run()).abort_handle());
    }

    pub(super) fn handle(&mut self, driver: usize, message: StreamMessage, out: &mut Vec<Fed>) -> Result<()> {
        if self.routes[driver].ended {
            return Ok(());
        }
        let context = self.routes[driver].context;
        self.follow_health(context, driver, &message);
        let handled = self.dispatch(context, driver, message, out);
        self.say_health(context, out);
        handled
    }

    /// What a stream's message says of its context's health.
    fn follow_health(&mut self, context: usize, driver: usize, message: &StreamMessage) {
        let broken = match message {
            StreamMessage::Event(_) | StreamMessage::Notice(Notice::Resumed { .. }) => {
                self.contexts[context].health.well(driver);
                return;
            }
            StreamMessage::Notice(Notice::Interrupted { cause, .. } | Notice::ListRetried { cause, .. }) => cause,
            StreamMessage::Notice(Notice::Expired) => "watch expired (410 Gone); relisting",
            _ => return,
        };
        let cause = format!("{}: {broken}", self.kind_name(driver));
        self.contexts[context].health.broke(driver, cause);
    }

    /// The kind a stream watches, as notices name it within its context: `pods`, `events`.
    fn kind_name(&self, driver: usize) -> String {
        match &self.routes[driver].role {
            Role::Watched { info, .. } => info.label.name.clone(),
            Role::Events => "events".into(),
        }
    }

    fn dispatch(&mut self, context: usize, driver: usize, message: StreamMessage, out: &mut Vec<Fed>) -> Result<()> {
        let (member, feed, named) = match &self.routes[driver].role {
            Role::Events => {
                self.handle_events(context, driver, message, out);
                return Ok(());
            }
            Role::Watched {
                member, feed, named, ..
            } => (*member, *feed, *named),
        };
        match message {
            StreamMessage::Event(event) => {
                let state = &mut self.contexts[context];
                if let StreamEvent::ListEnd { .. } = &event {
                    state.connection.waits.listed(&self.routes[driver].name);
                }
                let Some(running) = &mut state.running else {
                    return Ok(());
                };
                if let (StreamEvent::ListItem(object), false) = (&event, running.session.is_synced())
                    && let Some(cells) = &object.payload.cells
                    && let Role::Watched { info, .. } = &mut self.routes[driver].role
                {
                    info.measure(cells);
                }
                running.session.apply(member, event, &mut self.reports);
            }
            StreamMessage::Progress { read, total } => {
                let waits = &self.contexts[context].connection.waits;
                waits.listing(&self.routes[driver].name, read, total);
            }
            StreamMessage::Columns(columns) => {
                if let Role::Watched { info, .. } = &mut self.routes[driver].role {
                    info.columns = columns.clone();
                }
                out.push(now(FeedItem::Columns { stream: feed, columns }));
            }
            StreamMessage::Notice(stream_notice) => {
                let route = &mut self.routes[driver];
                let (kind, text) = notice_line(&route.name, &stream_notice, &mut route.gap);
                out.push(notice(kind, text));
            }
            StreamMessage::Failed(error) if named && !self.plan.several => return Err(self.fatal(context, error)),
            StreamMessage::Failed(error) => self.stream_failed(context, driver, member, named, error, out)?,
        }
        self.report(context, out);
        Ok(())
    }

    /// A stream refused for good, in a run that goes on: a kind `--all-kinds` found is left out; a kind named,
    /// with several contexts, is tried again later (credentials may be renewed, access granted). With one
    /// context, when no kind is left to watch, the last refusal ends the run.
    pub(super) fn stream_failed(
        &mut self,
        context: usize,
        driver: usize,
        member: usize,
        named: bool,
        error: Error,
        out: &mut Vec<Fed>,
    ) -> Result<()> {
        let state = &mut self.contexts[context];
        let error = state.connection.explain(error);
        let name = &self.routes[driver].name;
        // A list that will not end is no longer in progress.
        state.connection.waits.listed(name);
        let retried = named && self.plan.several;
        let no_longer_served = matches!(error, Error::ResourceType(_)) && state.synced;
        let text = if retried {
            format!(
                "{name}: {}; trying again in {}s",
                error.one_line(),
                STREAM_RETRY.as_secs()
            )
        } else if no_longer_served {
            format!("{name}: no longer served (404 Not Found), so its stream ends")
        } else {
            format!("{name}: cannot be watched, so left out ({})", error.one_line())
        };
        out.push(notice(NoticeKind::Other, text));
        let kind = self.kind_name(driver);
        let state = &mut self.contexts[context];
        match retried {
            true => state.health.refused(driver, format!("{kind}: {}", error.one_line())),
            false => state.health.well(driver),
        }
        if retried {
            let arrivals = self.arrivals_sender.clone();
            tokio::spawn(async move {
                tokio::time::sleep(STREAM_RETRY).await;
                let _ = arrivals.send(Arrival::Restart { driver });
            });
        } else if let Some(running) = &mut state.running {
            running.session.drop_stream(member, &mut self.reports);
            if no_longer_served {
                running.gone.push(running.watched[member].resource.clone());
            }
            if running.session.all_dropped() && !self.plan.several {
                return Err(self.fatal(context, error));
            }
        }
        if !state.synced {
            state.failure = Some(error);
        }
        Ok(())
    }

    /// What a context's session made known, as feed items.
    pub(super) fn report(&mut self, context: usize, out: &mut Vec<Fed>) {
        // A stream whose kind appeared after the start: the changes its first list found are news only for
        // the objects created since the run started.
        let mut first_list_of = None;
        for report in std::mem::take(&mut self.reports) {
            match report {
                Report::Synced { existing } => {
                    let synced = self.synced_item(context, &existing);
                    out.push(now(FeedItem::Synced(synced)));
                    if let Some(text) = self.resumed_line(context) {
                        out.push(notice(NoticeKind::Other, text));
                    }
                    let state = &mut self.contexts[context];
                    state.synced = true;
                    if self.plan.several && self.contexts.iter().all(|context| context.synced) {
                        let text = format!(
                            "Synced every context in {:.2}s; watching for changes",
                            self.started.elapsed().as_secs_f64()
                        );
                        out.push(notice(NoticeKind::Other, text));
                    }
                    let state = &mut self.contexts[context];
                    if let Some(error) = state
                        .running
                        .as_mut()
                        .and_then(|running| running.events.as_mut())
                        .and_then(|events| events.failure.take())
                    {
                        let text = self.events_unavailable(context, &error);
                        out.push(notice(NoticeKind::Other, text));
                    }
                }
                Report::Relisted { stream, changes } => {
                    let driver = self.driver_of(context, stream);
                    if let Role::Watched { late: late @ true, .. } = &mut self.routes[driver].role {
                        *late = false;
                        first_list_of = Some(stream);
                        continue;
                    }
                    let route = &mut self.routes[driver];
                    let gap = route.gap.take().map(|gap| gap.until_now());
                    let text = relisted_line(&route.name, changes, gap, &jiff::tz::TimeZone::system());
                    out.push(notice(NoticeKind::Relist, text));
                }
                Report::Change { stream, change } => {
                    if first_list_of == Some(stream) && created_before(&change, self.started_at) {
                        continue;
                    }
                    let driver = self.driver_of(context, stream);
                    let Role::Watched { feed, info, .. } = &self.routes[driver].role else {
                        continue;
                    };
                    if !self.plan.heartbeats && heartbeats::is_heartbeat(&change) {
                        out.push(now(FeedItem::Heartbeat { stream: *feed }));
                        continue;
                    }
                    let secrecy = Secrecy::of(info.label.secret, self.plan.secret_values);
                    let field_changes = field_changes_of(&change, secrecy);
                    let changed_by = writers_of(&change, &field_changes);
                    let mut change = change;
                    change.previous = None;
                    // When the watch brought it: a change that waited for the version before it keeps its time.
                    let at = change
                        .payload
                        .as_ref()
                        .and_then(|payload| payload.received)
                        .unwrap_or_else(Timestamp::now);
                    let item = FeedItem::Change(Box::new(FedChange {
                        stream: *feed,
                        change,
                        field_changes,
                        changed_by,
                    }));
                    out.push(Fed { at, item });
                }
            }
        }
    }

    pub(super) fn driver_of(&self, context: usize, member: usize) -> usize {
        self.contexts[context]
            .running
            .as_ref()
            .map(|running| running.members[member])
            .unwrap_or_default()
    }

    pub(super) fn synced_item(&self, context: usize, existing: &[usize]) -> Synced {
        let streams: Vec<(&StreamInfo, SyncedStream)> = existing
            .iter()
            .enumerate()
            .filter_map(|(member, count)| {
                let driver = self.driver_of(context, member);
                match &self.routes[driver].role {
                    Role::Watched { feed, info, .. } => Some((
                        info.as_ref(),
                        SyncedStream {
                            stream: *feed,
                            existing: *count,
                            cell_widths: info.cell_widths.clone(),
                        },
                    )),
                    Role::Events => None,
                }
            })
            .collect();
        let took = self.started.elapsed();
        let counts: Vec<(&str, usize)> = streams
            .iter()
            .map(|(info, synced)| (info.label.name.as_str(), synced.existing))
            .collect();
        let name = self.contexts[context].name.clone();
        let protocol = self.contexts[context].connection.link.protocol.name();
        let line = match &name {
            Some(name) => format!("{name}: {}", synced_line(&counts, took, protocol)),
            None => synced_line(&counts, took, protocol),
        };
        Synced {
            context: name,
            took,
            streams: streams.into_iter().map(|(_, synced)| synced).collect(),
            line,
        }
    }
}

/// Whether objects of this kind beat: nodes (their conditions' `lastHeartbeatTime`) and Leases.
fn beats(resource: &crate::cluster::discovery::ResourceInfo) -> bool {
    matches!(
        (resource.group.as_str(), resource.plural.as_str()),
        ("", "nodes") | ("coordination.k8s.io", "leases")
    )
}

/// Whether a change's object was created before `started` (it existed, only its kind was not known yet).
fn created_before(change: &crate::engine::tracker::Change<Payload>, started: Timestamp) -> bool {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        creation_timestamp: Option<Timestamp>,
    }
    change
        .payload
        .as_ref()
        .and_then(|payload| wire::metadata_of::<Created>(&payload.raw).ok().flatten())
        .and_then(|created| created.creation_timestamp)
        .is_some_and(|created| created < started)
}
