//! The webhook channels on one machine: their tables in the main SQLite file, a runner task
//! that drives the durable jobs (woken when a webhook queues work, and at each job's retry
//! time), a scheduler that queues a full GitHub sync of every synced project at an interval,
//! and received files in a folder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::hub::{KnowledgeDir, KnowledgeSource};
use super::sqlite::SqliteFile;
use crate::channels::hooks::{ChannelReply, ChannelRequest, handle};
use crate::channels::jobs::{BlobStore, Ctx, Deps};
use crate::channels::runner::run_next;
use crate::channels::store::ChannelStore;
use crate::config::ChannelsConfig;
use crate::http::ProjectDirectory;
use crate::platform::http::HttpClient;
use crate::project::ProjectId;
use crate::rag::Assistant;

/// How many jobs run at once (jobs of one lane still run in order).
const RUNNERS: usize = 4;

/// Received files under a folder (`<data>/blobs/<key>`).
pub struct FolderBlobs {
    root: PathBuf,
}

impl FolderBlobs {
    /// Blobs under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FolderBlobs { root: root.into() }
    }
}

#[async_trait]
impl BlobStore for FolderBlobs {
    async fn put(&self, key: &str, bytes: Vec<u8>, _content_type: &str) -> Result<(), String> {
        if key
            .split('/')
            .any(|s| s.is_empty() || s == "." || s == "..")
        {
            return Err(format!("{key:?} is not a blob key"));
        }
        let path = self.root.join(key);
        if let Some(parent) = path.parent() {
            super::fs::private_dir(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        // Written aside and renamed, so a crash never leaves half a file under the key.
        let tmp = path.with_extension("part");
        tokio::fs::write(&tmp, bytes)
            .await
            .map_err(|e| format!("{}: {e}", tmp.display()))?;
        super::fs::private_file(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[async_trait::async_trait]
impl crate::chat::HandoffSink for NativeChannels {
    async fn handoff(
        &self,
        project: &str,
        session: &str,
        visitor: &str,
        messages: Vec<crate::session::HandoffMessage>,
    ) -> Result<(), String> {
        let request = ChannelRequest::Handoff {
            session: session.to_owned(),
            visitor: visitor.to_owned(),
            messages,
        };
        self.handle(project, request).await.map(|_| ())
    }
}

/// The channels' native side.
#[derive(Clone)]
pub struct NativeChannels {
    inner: Arc<Inner>,
}

struct Inner {
    store: ChannelStore<SqliteFile>,
    knowledge: Arc<KnowledgeDir>,
    assistant: Assistant,
    http: Arc<dyn HttpClient>,
    blobs: FolderBlobs,
    endpoints: ChannelsConfig,
    wake: Notify,
    /// The chat sessions, for the team's replies to widget visitors.
    hub: std::sync::OnceLock<Arc<dyn crate::chat::SessionHub>>,
}

impl NativeChannels {
    /// Opens the channel tables in `main_db` (a connection of its own).
    ///
    /// # Errors
    /// A message when the file cannot be opened.
    pub fn open(
        main_db: &Path,
        data_dir: &Path,
        knowledge: Arc<KnowledgeDir>,
        assistant: Assistant,
        http: Arc<dyn HttpClient>,
        endpoints: ChannelsConfig,
    ) -> Result<Self, String> {
        let store = ChannelStore::open(SqliteFile::open(main_db).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        Ok(NativeChannels {
            inner: Arc::new(Inner {
                store,
                knowledge,
                assistant,
                http,
                blobs: FolderBlobs::new(data_dir.join("blobs")),
                endpoints,
                wake: Notify::new(),
                hub: std::sync::OnceLock::new(),
            }),
        })
    }

    /// Runs `request` for `project` and wakes the runner when it queued work.
    ///
    /// # Errors
    /// A message when the store or the project's knowledge fails.
    pub async fn handle(
        &self,
        project: &str,
        request: ChannelRequest,
    ) -> Result<ChannelReply, String> {
        let i = &self.inner;
        let id = ProjectId::parse(project).map_err(|e| e.to_string())?;
        let knowledge = i.knowledge.knowledge(&id)?;
        let deps = self.deps();
        let ctx = Ctx {
            project,
            store: &i.store,
            knowledge: &knowledge,
            deps: &deps,
        };
        let reply = handle(&ctx, request).await.map_err(|e| e.to_string())?;
        if reply.wake {
            i.wake.notify_waiters();
            i.wake.notify_one();
        }
        Ok(reply)
    }

    fn deps(&self) -> Deps<'_> {
        let i = &self.inner;
        Deps {
            assistant: &i.assistant,
            http: i.http.as_ref(),
            blobs: &i.blobs,
            endpoints: &i.endpoints,
            sessions: i
                .hub
                .get()
                .map(|h| h.as_ref() as &dyn crate::chat::SessionHub),
            // Natively there is no AI Search: a project naming an instance is told so.
            ai_search: None,
        }
    }

    /// Lets jobs reach the chat sessions (the team's replies to widget visitors).
    pub fn set_hub(&self, hub: Arc<dyn crate::chat::SessionHub>) {
        let _ = self.inner.hub.set(hub);
    }

    /// Starts the job runners: each claims due jobs until none is left, then sleeps until
    /// woken or until the next retry is due (at most a second, so leases that run out on
    /// another process's jobs are noticed too).
    pub fn spawn_runners(&self) -> Vec<tokio::task::JoinHandle<()>> {
        match self
            .inner
            .store
            .jobs()
            .release_all(crate::platform::now_millis() as i64)
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "jobs interrupted by the last stop run again"),
            Err(e) => tracing::error!(error = %e, "cannot release interrupted jobs"),
        }
        (0..RUNNERS)
            .map(|_| {
                let me = self.clone();
                tokio::spawn(async move {
                    loop {
                        let knowledge = me.inner.knowledge.clone();
                        let deps = me.deps();
                        let ran = run_next(
                            &me.inner.store,
                            |p| {
                                knowledge
                                    .knowledge(&ProjectId::parse(p).map_err(|e| e.to_string())?)
                            },
                            &deps,
                        )
                        .await;
                        match ran {
                            Ok(Some(_)) => continue,
                            Ok(None) => {}
                            Err(e) => tracing::error!(error = %e, "the job table failed"),
                        }
                        let now = crate::platform::now_millis() as i64;
                        let wait = match me.inner.store.jobs().next_due() {
                            Ok(Some(t)) => (t - now).clamp(0, 1000) as u64,
                            _ => 1000,
                        };
                        let _ = tokio::time::timeout(
                            Duration::from_millis(wait.max(5)),
                            me.inner.wake.notified(),
                        )
                        .await;
                    }
                })
            })
            .collect()
    }

    /// Every `interval`, asks each project that uses channel `kind` for `request(slot)` (the
    /// first right away, so a server that was down catches up): full GitHub syncs, Telegram
    /// polls.
    pub fn spawn_scheduler(
        &self,
        projects: Arc<dyn ProjectDirectory>,
        kind: &'static str,
        interval: Duration,
        request: fn(String) -> ChannelRequest,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(interval);
            loop {
                tick.tick().await;
                let slot = crate::platform::now_unix() / interval.as_secs().max(1) as i64;
                match projects.with_channel(kind).await {
                    Ok(list) => {
                        for p in list {
                            if let Err(e) = me.handle(&p, request(slot.to_string())).await {
                                tracing::error!(project = %p, kind, error = %e, "cannot schedule work");
                            }
                        }
                    }
                    Err(e) => tracing::error!(kind, error = %e, "cannot list the projects"),
                }
            }
        })
    }
}
