//! The whole objects of a snapshot that a first list read as metadata only (over a slow link): read after it
//! at exactly its resourceVersion, in the background, page by page, and sooner, one by one, for an object
//! whose first change has come before its page. Each arrives as `StreamEvent::Filled`: the version before the
//! object's first change, whenever it arrives, which that change waits for (`tracker.rs`).

use std::collections::{BTreeSet, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::Client;
use kube::api::{ListParams, VersionMatch};
use kube::core::Request;
use tokio::sync::{Semaphore, mpsc};

use super::policy::{self, Backoff};
use super::stream::{Notice, StreamMessage};
use super::tracker::{ObjectKey, StreamEvent};
use super::wire::{self, ListPage};
use crate::error::causes;

/// How long a page of whole objects may take to arrive.
const PAGE_ANSWER_LIMIT: Duration = Duration::from_secs(60);
/// Objects a page of whole objects holds: fewer than a list's 500, since the watch's events share the slow
/// link with these pages and wait behind the one on its way (100 pods gzipped are about 65 kB, a tenth of a
/// second at 5 Mbit/s).
const PAGE_SIZE: u32 = 100;
/// Pages tried again after a passing failure before the fill is given up.
const RETRIES: u32 = 4;
/// Objects asked for one by one at once, at most: a burst of first changes (a rollout) does not open
/// thousands of requests; the rest wait their turn or their page.
const EARLY_AT_ONCE: usize = 16;

/// The snapshot to read whole: where, which of its objects, kept how, as it was at which resourceVersion.
pub struct Snapshot {
    /// The collection's path, and the selectors of the list.
    pub path: String,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    pub names: BTreeSet<String>,
    pub keep: wire::Keep,
    /// The list's resourceVersion: every object is read as it was then.
    pub resource_version: String,
}

/// What to read, and where what is read goes.
pub struct Fill {
    client: Client,
    sender: mpsc::Sender<(usize, StreamMessage)>,
    index: usize,
    snapshot: Snapshot,
    /// The objects listed as metadata whose whole version has not been sent yet.
    unfilled: Mutex<HashSet<ObjectKey>>,
    early: Semaphore,
}

/// An answer, or why not and whether for good (the snapshot compacted away, which no retry brings back).
type Answer = Result<ListPage, (String, bool)>;

impl Fill {
    pub fn new(
        client: Client,
        sender: mpsc::Sender<(usize, StreamMessage)>,
        index: usize,
        snapshot: Snapshot,
        unfilled: HashSet<ObjectKey>,
    ) -> Arc<Fill> {
        Arc::new(Fill {
            client,
            sender,
            index,
            snapshot,
            unfilled: Mutex::new(unfilled),
            early: Semaphore::new(EARLY_AT_ONCE),
        })
    }

    /// Whether every object has been sent (or the fill is over).
    pub fn done(&self) -> bool {
        self.unfilled.lock().map_or(true, |unfilled| unfilled.is_empty())
    }

    /// Takes an object off the list of those to send: true if it was still on it.
    fn take(&self, key: &ObjectKey) -> bool {
        self.unfilled.lock().is_ok_and(|mut unfilled| unfilled.remove(key))
    }

    /// The fill is over, done or given up: nothing is left to send.
    fn finish(&self) {
        if let Ok(mut unfilled) = self.unfilled.lock() {
            unfilled.clear();
        }
    }

    async fn send(&self, message: StreamMessage) -> bool {
        self.sender.send((self.index, message)).await.is_ok()
    }

    /// Every page of whole objects, then `FillEnd`; a failure for good says what it costs.
    pub async fn run(self: Arc<Fill>) {
        let started = tokio::time::Instant::now();
        let mut objects = 0;
        let mut continue_token: Option<String> = None;
        let mut backoff = Backoff::default();
        let mut failures = 0;
        let snapshot = &self.snapshot;
        loop {
            let params = ListParams {
                label_selector: snapshot.label_selector.clone(),
                field_selector: snapshot.field_selector.clone(),
                limit: Some(PAGE_SIZE),
                // The continue token carries the resourceVersion of the pages after the first.
                resource_version: continue_token.is_none().then(|| snapshot.resource_version.clone()),
                version_match: continue_token.is_none().then_some(VersionMatch::Exact),
                continue_token: continue_token.clone(),
                ..ListParams::default()
            };
            let page = match self.exact(&snapshot.path, &params).await {
                Ok(page) => page,
                Err((cause, for_good)) if for_good || failures >= RETRIES => {
                    self.finish();
                    if self.send(StreamMessage::Notice(Notice::FillFailed { cause })).await {
                        self.send(StreamMessage::Event(StreamEvent::FillEnd)).await;
                    }
                    return;
                }
                Err(_) => {
                    failures += 1;
                    tokio::time::sleep(backoff.next_wait(policy::clock_random())).await;
                    continue;
                }
            };
            for item in page.items {
                let wanted = snapshot.names.is_empty() || snapshot.names.contains(&item.key.name);
                // The first page came whole with the list: its objects are not on the list, and go again
                // here, which changes nothing.
                self.take(&item.key);
                if wanted {
                    objects += 1;
                    if !self.send(StreamMessage::Event(StreamEvent::Filled(item))).await {
                        return;
                    }
                }
            }
            match page.continue_token {
                Some(token) => continue_token = Some(token),
                None => {
                    self.finish();
                    if self.send(StreamMessage::Event(StreamEvent::FillEnd)).await {
                        let took = started.elapsed();
                        self.send(StreamMessage::Notice(Notice::Filled { objects, took })).await;
                    }
                    return;
                }
            }
        }
    }

    /// The first change of `key` has come: if its page has not, its version before is asked for alone (one
    /// round trip, where the pages may take many seconds over the slow link), in the background.
    pub fn hasten(self: &Arc<Fill>, key: &ObjectKey) {
        if !self.take(key) {
            return;
        }
        let fill = Arc::clone(self);
        let key = key.clone();
        tokio::spawn(async move {
            let Ok(_turn) = fill.early.acquire().await else { return };
            let params = ListParams {
                field_selector: Some(format!("metadata.name={}", key.name)),
                resource_version: Some(fill.snapshot.resource_version.clone()),
                version_match: Some(VersionMatch::Exact),
                ..ListParams::default()
            };
            let path = object_collection_path(&fill.snapshot.path, key.namespace.as_deref());
            // A failure leaves the object to its page.
            if let Ok(page) = fill.exact(&path, &params).await {
                for item in page.items.into_iter().filter(|item| item.key == key) {
                    fill.send(StreamMessage::Event(StreamEvent::Filled(item))).await;
                }
            }
        });
    }

    /// One LIST at an exact resourceVersion, of whole objects.
    async fn exact(&self, path: &str, params: &ListParams) -> Answer {
        let request = Request::new(path)
            .list(params)
            .map_err(|error| (error.to_string(), true))?;
        let body = match tokio::time::timeout(PAGE_ANSWER_LIMIT, self.client.request_text(request)).await {
            Ok(Ok(body)) => body,
            Ok(Err(kube::Error::Api(status))) if status.code == 410 => return Err((status.message, true)),
            Ok(Err(error)) => return Err((causes(&error), false)),
            Err(_) => return Err((format!("no answer within {}s", PAGE_ANSWER_LIMIT.as_secs()), false)),
        };
        wire::decode_list_page(body.as_bytes(), self.snapshot.keep).map_err(|error| (error.to_string(), false))
    }
}

/// The collection an object of `namespace` is in, from the path of a list that may span every namespace:
/// `/api/v1/pods` and `team-a` make `/api/v1/namespaces/team-a/pods`.
fn object_collection_path(path: &str, namespace: Option<&str>) -> String {
    match (namespace, path.contains("/namespaces/"), path.rsplit_once('/')) {
        (Some(namespace), false, Some((base, plural))) => format!("{base}/namespaces/{namespace}/{plural}"),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_is_asked_for_in_its_own_namespace() {
        assert_eq!(
            object_collection_path("/api/v1/pods", Some("team-a")),
            "/api/v1/namespaces/team-a/pods"
        );
        assert_eq!(
            object_collection_path("/apis/apps/v1/deployments", Some("b")),
            "/apis/apps/v1/namespaces/b/deployments"
        );
        assert_eq!(
            object_collection_path("/api/v1/namespaces/team-a/pods", Some("team-a")),
            "/api/v1/namespaces/team-a/pods"
        );
        assert_eq!(object_collection_path("/api/v1/nodes", None), "/api/v1/nodes");
    }
}
