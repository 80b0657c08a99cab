//! The Events about the watched objects, one stream per context with a session of its own: joined to the rows,
//! printed with `--with-events`, and a notice when they cannot be watched.

use super::*;

/// The Events about the watched objects of one context.
pub(super) struct EventsWatch {
    pub(super) session: Session<Payload>,
    pub(super) label: StreamLabel,
    /// Events about these kinds only are printed (`--with-events`).
    pub(super) kinds: Vec<String>,
    pub(super) printed: bool,
    /// The Events failed before the watched kinds synced: said once they have, since a failure to connect at
    /// all ends the run with its own error, and the Events' would only repeat it.
    pub(super) failure: Option<Error>,
}

impl Clusters {
    /// Starts the stream of the Events about the watched kinds of one context, when they are wanted.
    pub(super) fn watch_events(&mut self, context: usize, resource: Option<ResourceInfo>) {
        let state = &mut self.contexts[context];
        let (Some(running), Some(resource)) = (&mut state.running, resource) else {
            return;
        };
        // Events about Events are not watched: a watch of `events` alone has nothing to join.
        let kinds: Vec<String> = running
            .watched
            .iter()
            .map(|target| target.resource.kind.clone())
            .filter(|kind| kind != "Event")
            .collect();
        if kinds.is_empty() {
            return;
        }
        let driver = self.routes.len();
        let label = StreamLabel::from(&resource);
        running.events = Some(EventsWatch {
            session: Session::new(1),
            label: label.clone(),
            kinds,
            printed: self.plan.events == EventUse::Print,
            failure: None,
        });
        self.routes.push(Route {
            context,
            role: Role::Events,
            name: route_name(state.name.as_deref(), &label.name),
            spec: StreamSpec {
                path: resource.collection_path(running.namespace.as_deref()),
                label_selector: None,
                field_selector: None,
                names: Default::default(),
                representation: Representation::Objects,
                gather: self.plan.gather,
                writers: false,
                whole_snapshot: false,
            },
            gap: None,
            task: None,
            ended: false,
        });
        self.spawn_driver(driver, false);
    }

    pub(super) fn handle_events(&mut self, context: usize, driver: usize, message: StreamMessage, out: &mut Vec<Fed>) {
        let state = &mut self.contexts[context];
        let synced = state.synced;
        let name = state.name.clone();
        let Some(events) = state.running.as_mut().and_then(|running| running.events.as_mut()) else {
            return;
        };
        match message {
            StreamMessage::Event(event) => {
                // The Events that exist at the start are joined as well: why a pod restarts may be older.
                if let (StreamEvent::ListItem(object), false) = (&event, events.session.is_synced()) {
                    out.push(now(FeedItem::Event {
                        change: Box::new(listed_event(object)),
                        printed: false,
                        context: name.clone(),
                    }));
                }
                events.session.apply(0, event, &mut self.reports);
            }
            StreamMessage::Columns(_) | StreamMessage::Progress { .. } => {}
            StreamMessage::Notice(stream_notice) => {
                let route = &mut self.routes[driver];
                let (kind, text) = notice_line(&route.name, &stream_notice, &mut route.gap);
                out.push(notice(kind, text));
            }
            StreamMessage::Failed(error) if synced => {
                let text = self.events_unavailable(context, &error);
                out.push(notice(NoticeKind::Other, text));
            }
            StreamMessage::Failed(error) => events.failure = Some(error),
        }
        let Some(events) = self.contexts[context]
            .running
            .as_ref()
            .and_then(|running| running.events.as_ref())
        else {
            return;
        };
        for report in self.reports.drain(..) {
            // An Event that expires (after an hour, by default) is deleted: it was, all the same.
            if let Report::Change { change, .. } = report
                && change.change_type != ChangeType::Deleted
            {
                let printed = events.printed && regarded_kind(&change).is_some_and(|kind| events.kinds.contains(&kind));
                out.push(now(FeedItem::Event {
                    change: Box::new(change),
                    printed,
                    context: name.clone(),
                }));
            }
        }
    }

    pub(super) fn events_unavailable(&self, context: usize, error: &Error) -> String {
        let label = self.contexts[context]
            .running
            .as_ref()
            .and_then(|running| running.events.as_ref())
            .map(|events| events.label.name.as_str())
            .unwrap_or("events");
        events_unavailable_line(&route_name(self.contexts[context].name.as_deref(), label), error)
    }
}

/// An Event that existed at the start, as a change, to be joined (never printed).
fn listed_event(object: &wire::WireObject) -> crate::engine::tracker::Change<Payload> {
    crate::engine::tracker::Change {
        change_type: ChangeType::Added,
        key: object.key.clone(),
        uid: object.uid.clone(),
        resource_version: object.resource_version.clone(),
        origin: crate::engine::tracker::Origin::Relist,
        payload: Some(object.payload.clone()),
        previous: None,
    }
}

/// The kind of the object an Event is about.
fn regarded_kind(change: &crate::engine::tracker::Change<Payload>) -> Option<String> {
    let payload = change.payload.as_ref()?;
    ObservedEvent::from_json(&payload.raw).map(|observed| observed.regarding.kind)
}
