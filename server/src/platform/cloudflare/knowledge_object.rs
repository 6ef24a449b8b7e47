//! The `Knowledge` Durable Object: one per project (named by the project id), holding that
//! project's documents, chunks, FTS5 index and embeddings in its own SQLite with the native
//! schema and queries. A project's object can only see its own rows: tenant isolation holds by
//! construction. (Durable Object SQLite has FTS5 with the porter tokenizer and `bm25()`.)
//!
//! Internal API (reachable only through a stub, never from the internet): the typed
//! [`KnowledgeCall`]s, among them the search (the project's index, or the AI Search instance it
//! names) and the channels' requests, run next to the project's channel tables, which live in
//! this object's SQLite too.
//!
//! The channels' durable jobs run from the object's alarm: a request that queues work sets the
//! alarm to now; the alarm runs due jobs (for at most [`ALARM_BUDGET_MS`]) and sets itself again
//! for the next retry. An alarm interrupted by an eviction is retried by the platform, and a job
//! it held is claimed again once its lease ends.

use std::cell::OnceCell;

use serde::{Deserialize, Serialize};
use worker::send::{SendFuture, SendWrapper};
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, State, durable_object,
};

use super::calls::KnowledgeCall;
use super::sql::DoSql;
use crate::channels::hooks::{ChannelReply, ChannelRequest, handle};
use crate::channels::jobs::{BlobStore, Ctx, Deps};
use crate::channels::runner::run_next;
use crate::channels::store::ChannelStore;
use crate::chat::answer::{AiSearch, ProjectKnowledge, Retrieved, Retriever};
use crate::knowledge::ingest::IngestReport;
use crate::knowledge::{DocumentInput, Hit, Knowledge, ai_search};
use crate::project::ProjectId;

/// A JSON value as a plain JavaScript object (`serde_wasm_bindgen`'s default makes `Map`s).
fn to_js(v: &serde_json::Value) -> Result<wasm_bindgen::JsValue> {
    use serde::Serialize;
    Ok(v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())?)
}

/// The binding of the `Knowledge` namespace.
pub const BINDING: &str = "KNOWLEDGE";

/// One project's knowledge.
#[durable_object]
pub struct KnowledgeObject {
    state: State,
    env: Env,
    knowledge: OnceCell<Knowledge<DoSql>>,
    channels: OnceCell<ChannelStore<DoSql>>,
    /// The project's limits and its visitors', counted in its one object (global, unlike an
    /// isolate's).
    limits: OnceCell<crate::limits::Limits>,
}

/// How many jobs one alarm runs at once.
pub const ALARM_RUNNERS: usize = 4;

/// How long one alarm runs jobs before it hands over to the next alarm (ms).
pub const ALARM_BUDGET_MS: f64 = 20_000.0;

/// What channel jobs reach outside the object, built from the Worker's environment.
struct Outside {
    config: crate::config::Config,
    assistant: crate::rag::Assistant,
    blobs: R2Blobs,
    http: super::fetch::FetchClient,
    /// The chat sessions' objects, for the team's replies to widget visitors.
    sessions: super::hub::DoHub,
    /// AI Search, for projects that retrieve through it.
    ai_search: WorkersAiSearch,
}

impl Outside {
    fn new(env: &Env) -> Result<Self> {
        let config = super::config(env).map_err(err)?;
        Ok(Outside {
            assistant: super::assistant(env, &config).map_err(err)?,
            blobs: R2Blobs(worker::send::SendWrapper(env.bucket(BLOBS)?)),
            http: super::fetch::FetchClient,
            sessions: super::hub::DoHub::new(env.clone()),
            ai_search: WorkersAiSearch {
                env: SendWrapper(env.clone()),
            },
            config,
        })
    }

    fn deps(&self) -> Deps<'_> {
        Deps {
            assistant: &self.assistant,
            http: &self.http,
            blobs: &self.blobs,
            endpoints: &self.config.channels,
            sessions: Some(&self.sessions),
            ai_search: Some(&self.ai_search),
        }
    }
}

/// Received files in the `BLOBS` bucket.
struct R2Blobs(worker::send::SendWrapper<worker::Bucket>);

#[async_trait::async_trait]
impl BlobStore for R2Blobs {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        content_type: &str,
    ) -> std::result::Result<(), String> {
        SendFuture::new(async {
            self.0
                .put(key, bytes)
                .http_metadata(worker::HttpMetadata {
                    content_type: Some(content_type.to_owned()),
                    ..worker::HttpMetadata::default()
                })
                .execute()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .await
    }
}

fn err(e: impl std::fmt::Display) -> worker::Error {
    worker::Error::RustError(e.to_string())
}

impl KnowledgeObject {
    fn knowledge(&self) -> Result<&Knowledge<DoSql>> {
        if self.knowledge.get().is_none() {
            let k = Knowledge::open(DoSql::new(&self.state)).map_err(err)?;
            let _ = self.knowledge.set(k);
        }
        self.knowledge
            .get()
            .ok_or_else(|| err("knowledge not open"))
    }

    fn channels(&self) -> Result<&ChannelStore<DoSql>> {
        if self.channels.get().is_none() {
            let s = ChannelStore::open(DoSql::new(&self.state)).map_err(err)?;
            // An object runs as one instance at a time: a job still marked running when this
            // instance opens its tables was held by the previous one (evicted, restarted) and
            // can run again now rather than when its lease ends.
            let released = s
                .jobs()
                .release_all(js_sys::Date::now() as i64)
                .map_err(err)?;
            if released > 0 {
                worker::console_log!("{released} interrupted job(s) released");
            }
            let _ = self.channels.set(s);
        }
        self.channels
            .get()
            .ok_or_else(|| err("channel tables not open"))
    }

    /// Runs a channel request, waking the job runner (the alarm) when it queued work.
    async fn channel(&self, project: &str, request: ChannelRequest) -> Result<ChannelReply> {
        let outside = Outside::new(&self.env)?;
        let deps = outside.deps();
        let ctx = Ctx {
            project,
            store: self.channels()?,
            knowledge: self.knowledge()?,
            deps: &deps,
        };
        let reply = handle(&ctx, request).await.map_err(err)?;
        if reply.wake {
            self.schedule(js_sys::Date::now() as i64).await?;
        }
        Ok(reply)
    }

    /// Sets the alarm for `at` (Unix ms) unless it is already set for no later.
    async fn schedule(&self, at: i64) -> Result<()> {
        let storage = self.state.storage();
        if let Some(current) = storage.get_alarm().await?
            && current <= at
        {
            return Ok(());
        }
        // `set_alarm` takes an offset from now.
        let delay = (at - js_sys::Date::now() as i64).max(0);
        storage.set_alarm(delay).await
    }
}

/// Cloudflare AI Search through the Worker's `AI` binding.
struct WorkersAiSearch {
    env: SendWrapper<Env>,
}

#[async_trait::async_trait]
impl AiSearch for WorkersAiSearch {
    async fn search(
        &self,
        instance: &str,
        project: &ProjectId,
        question: &str,
        k: usize,
    ) -> std::result::Result<Vec<Hit>, String> {
        SendFuture::new(async {
            use wasm_bindgen::JsCast;
            let request = ai_search::search_request(project, question, k);
            // No AI Search binding in workers-rs: `env.AI.autorag(name).search(request)` by hand.
            let ai: wasm_bindgen::JsValue = self
                .env
                .get_binding::<worker::Ai>(super::workers_ai::BINDING)
                .map_err(|e| format!("AI Search: {e}"))?
                .into();
            let get = |o: &wasm_bindgen::JsValue, k: &str| {
                js_sys::Reflect::get(o, &k.into())
                    .map_err(|_| format!("AI Search: no {k}"))?
                    .dyn_into::<js_sys::Function>()
                    .map_err(|_| format!("AI Search: {k} is not a function"))
            };
            let instance = get(&ai, "autorag")?
                .call1(&ai, &instance.into())
                .map_err(|e| format!("AI Search: {e:?}"))?;
            let promise = get(&instance, "search")?
                .call1(&instance, &to_js(&request).map_err(|e| e.to_string())?)
                .map_err(|e| format!("AI Search: {e:?}"))?;
            let answer = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(promise))
                .await
                .map_err(|e| format!("AI Search failed: {e:?}"))?;
            let answer: serde_json::Value =
                serde_wasm_bindgen::from_value(answer).map_err(|e| e.to_string())?;
            ai_search::hits(project, &answer)
        })
        .await
    }
}

impl DurableObject for KnowledgeObject {
    fn new(state: State, env: Env) -> Self {
        KnowledgeObject {
            state,
            env,
            knowledge: OnceCell::new(),
            channels: OnceCell::new(),
            limits: OnceCell::new(),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        let outside = Outside::new(&self.env)?;
        let deps = outside.deps();
        let store = self.channels()?;
        let knowledge = self.knowledge()?;
        let deadline = js_sys::Date::now() + ALARM_BUDGET_MS;
        // Several runners, like the native server's: while one waits on a model or a platform,
        // another takes the next job (claims are atomic: the object runs one thing at a time
        // between awaits, and a lane's jobs still run one at a time).
        let runner = || async {
            loop {
                match run_next(store, |_| Ok::<_, String>(knowledge), &deps).await {
                    Ok(Some(ran)) => match &ran.error {
                        None => worker::console_log!("job {} ({}) done", ran.id, ran.kind),
                        Some(e) => worker::console_error!(
                            "job {} ({}) attempt {} failed: {e}; {}",
                            ran.id,
                            ran.kind,
                            ran.attempts,
                            match ran.retry_at {
                                Some(at) => format!("retry at {at}"),
                                None =>
                                    "dead: see GET /v1/admin/projects/{p}/jobs?state=dead".into(),
                            }
                        ),
                    },
                    Ok(None) => break,
                    Err(e) => {
                        worker::console_error!("the job table failed: {e}");
                        break;
                    }
                }
                if js_sys::Date::now() > deadline {
                    break;
                }
            }
        };
        futures::future::join_all((0..ALARM_RUNNERS).map(|_| runner())).await;
        if let Some(next) = store.jobs().next_due().map_err(err)? {
            self.schedule(next).await?;
        }
        Response::ok("")
    }

    async fn fetch(&self, mut req: Request) -> Result<Response> {
        let call: KnowledgeCall = match req.headers().get(super::calls::CALL_HEADER)? {
            // The call in a header, its raw body as the request's own ([`call`]).
            Some(header) => {
                let mut call: KnowledgeCall = serde_json::from_str(&header).map_err(err)?;
                let bytes = req.bytes().await?;
                if let KnowledgeCall::Channel { request, .. } = &mut call
                    && let Some(body) = request.raw_body_mut()
                {
                    *body = bytes;
                }
                call
            }
            None => req.json().await?,
        };
        match call {
            KnowledgeCall::Admit { caller, what, .. } => {
                let limits = self.limits.get_or_init(|| {
                    let (u, b, p) = super::config(&self.env).map_or(
                        (
                            crate::limits::USER_PER_MINUTE,
                            crate::limits::USER_BURST,
                            crate::limits::PROJECT_PER_MINUTE,
                        ),
                        |c| c.rate_limits,
                    );
                    crate::limits::Limits::new(u, b, p)
                });
                let admission = super::calls::Admission {
                    refused: self.knowledge()?.admit(limits, what, &caller).err(),
                };
                Response::from_json(&admission)
            }
            KnowledgeCall::Search {
                project,
                question,
                vector,
            } => {
                let ai_search = WorkersAiSearch {
                    env: SendWrapper(self.env.clone()),
                };
                let retriever = ProjectKnowledge {
                    project: &project,
                    knowledge: self.knowledge()?,
                    ai_search: Some(&ai_search),
                };
                match retriever.retrieve(&question, vector).await {
                    Ok(r) => Response::from_json(&r),
                    Err(e) => Response::error(e, 500),
                }
            }
            KnowledgeCall::Ingest { documents } => {
                let config = super::config(&self.env).map_err(err)?;
                let embedder = super::embedder(&self.env, &config).map_err(err)?;
                let report = crate::knowledge::ingest::ingest_batch(
                    self.knowledge()?,
                    embedder.as_deref(),
                    documents,
                    crate::platform::now_unix(),
                )
                .await;
                Response::from_json(&report)
            }
            KnowledgeCall::Remove { path } => {
                let removed = self.knowledge()?.remove(&path).map_err(err)?;
                Response::from_json(&serde_json::json!({"removed": removed}))
            }
            KnowledgeCall::Setting { key, value } => {
                self.knowledge()?.set_setting(&key, &value).map_err(err)?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            KnowledgeCall::Stats => Response::from_json(&self.knowledge()?.stats().map_err(err)?),
            KnowledgeCall::Usage => Response::from_json(&self.knowledge()?.usage(90).map_err(err)?),
            KnowledgeCall::RecordUsage {
                answer_pieces,
                provider_error,
            } => {
                self.knowledge()?
                    .record_usage(crate::platform::now_unix(), answer_pieces, provider_error)
                    .map_err(err)?;
                Response::from_json(&serde_json::json!({"ok": true}))
            }
            KnowledgeCall::Channel { project, request } => {
                Response::from_json(&self.channel(&project, request).await?)
            }
        }
    }
}

/// Makes `call` on `project`'s Knowledge object; `T` is what the call answers.
///
/// # Errors
/// A message when the object cannot be reached or answers with an error.
pub async fn call<T: serde::de::DeserializeOwned>(
    env: &Env,
    project: &str,
    call: &KnowledgeCall,
) -> std::result::Result<T, String> {
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(project))
        .map_err(|e| e.to_string())?;
    let json = serde_json::to_string(call).map_err(|e| e.to_string())?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    // A request with a raw body (a GitHub delivery) sends the call in a header and the bytes as
    // they came as the body: no copy into JSON, and the HMAC is checked over them.
    let raw = match call {
        KnowledgeCall::Channel { request, .. } => request.raw_body(),
        _ => None,
    };
    match raw {
        Some(bytes) => {
            let headers = worker::Headers::new();
            headers
                .set(super::calls::CALL_HEADER, &json)
                .map_err(|e| e.to_string())?;
            init.with_headers(headers)
                .with_body(Some(js_sys::Uint8Array::from(bytes).into()));
        }
        None => {
            init.with_body(Some(json.into()));
        }
    }
    let req = Request::new_with_init("https://knowledge/", &init).map_err(|e| e.to_string())?;
    let mut resp = stub
        .fetch_with_request(req)
        .await
        .map_err(|e| e.to_string())?;
    if resp.status_code() != 200 {
        let text = resp.text().await.unwrap_or_default();
        return Err(format!("knowledge answered {}: {text}", resp.status_code()));
    }
    resp.json().await.map_err(|e| e.to_string())
}

/// Searches `project`'s knowledge.
///
/// # Errors
/// A message when the object cannot be reached.
pub async fn search(
    env: &Env,
    project: &str,
    question: &str,
    vector: Option<Vec<f32>>,
) -> std::result::Result<Retrieved, String> {
    let search = KnowledgeCall::Search {
        project: project.to_owned(),
        question: question.to_owned(),
        vector,
    };
    call(env, project, &search).await
}

/// The rate-limit port over Knowledge objects: each project's limits, and its visitors', are
/// counted by the project's one object, whatever isolate a request reaches. An object that
/// cannot be reached does not refuse (what the request does next says what failed).
pub struct DoGate(pub worker::send::SendWrapper<Env>);

#[async_trait::async_trait]
impl crate::limits::Gate for DoGate {
    async fn admit(
        &self,
        what: crate::limits::Spend,
        caller: &crate::limits::Caller,
    ) -> std::result::Result<(), crate::limits::Refused> {
        let project = caller.project.as_str();
        let admit = KnowledgeCall::Admit {
            project: project.to_owned(),
            caller: caller.clone(),
            what,
        };
        match SendFuture::new(call::<super::calls::Admission>(&self.0, project, &admit)).await {
            Ok(a) => a.refused.map_or(Ok(()), Err),
            Err(e) => {
                worker::console_error!("the limits of {project} were not checked: {e}");
                Ok(())
            }
        }
    }
}

/// The library port over Knowledge objects.
pub struct DoLibrary(pub worker::send::SendWrapper<Env>);

/// The queue of ingestion jobs, and the bucket holding their documents (a queued message is
/// at most 128 KB; a document may be 10 MB).
pub const JOBS: &str = "JOBS";
/// The blob bucket.
pub const BLOBS: &str = "BLOBS";

/// One queued document: its project, and its key in [`BLOBS`].
#[derive(Debug, Serialize, Deserialize)]
pub struct IngestJob {
    /// The project.
    pub project: String,
    /// The document (`DocumentInput` as JSON) in the bucket.
    pub key: String,
}

/// Runs one queued job: the document from the bucket into the project's knowledge; the blob
/// is deleted once indexed. `Err` leaves the message for a retry (then the dead-letter queue).
///
/// # Errors
/// A message when the blob, the object or the ingestion fails.
pub async fn run_job(env: &Env, job: &IngestJob) -> std::result::Result<(), String> {
    let bucket = env.bucket(BLOBS).map_err(|e| e.to_string())?;
    let Some(object) = bucket
        .get(&job.key)
        .execute()
        .await
        .map_err(|e| e.to_string())?
    else {
        // Already indexed and deleted by an earlier delivery of the same message.
        return Ok(());
    };
    let text = object
        .body()
        .ok_or("the blob has no body")?
        .text()
        .await
        .map_err(|e| e.to_string())?;
    let doc: DocumentInput = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let ingest = KnowledgeCall::Ingest {
        documents: vec![doc],
    };
    let report: IngestReport = call(env, &job.project, &ingest).await?;
    if let Some(f) = report.failed.first() {
        worker::console_error!("queued document {} refused: {}", f.path, f.error);
    }
    bucket.delete(&job.key).await.map_err(|e| e.to_string())
}

#[async_trait::async_trait]
impl crate::http::Library for DoLibrary {
    async fn ingest_later(
        &self,
        project: &str,
        documents: Vec<DocumentInput>,
    ) -> std::result::Result<Option<usize>, String> {
        SendFuture::new(async {
            let bucket = self.0.bucket(BLOBS).map_err(|e| e.to_string())?;
            let queue = self.0.queue(JOBS).map_err(|e| e.to_string())?;
            let n = documents.len();
            for doc in documents {
                let key = format!("ingest/{project}/{}.json", super::random_id());
                let body = serde_json::to_vec(&doc).map_err(|e| e.to_string())?;
                bucket
                    .put(&key, body)
                    .execute()
                    .await
                    .map_err(|e| e.to_string())?;
                queue
                    .send(IngestJob {
                        project: project.to_owned(),
                        key,
                    })
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(Some(n))
        })
        .await
    }

    async fn ingest(
        &self,
        project: &str,
        documents: Vec<DocumentInput>,
    ) -> std::result::Result<crate::http::IngestReport, String> {
        SendFuture::new(call(&self.0, project, &KnowledgeCall::Ingest { documents })).await
    }

    async fn remove(&self, project: &str, path: &str) -> std::result::Result<bool, String> {
        let remove = KnowledgeCall::Remove {
            path: path.to_owned(),
        };
        let v: serde_json::Value = SendFuture::new(call(&self.0, project, &remove)).await?;
        Ok(v["removed"].as_bool().unwrap_or(false))
    }

    async fn set_setting(
        &self,
        project: &str,
        key: &str,
        value: &str,
    ) -> std::result::Result<(), String> {
        let setting = KnowledgeCall::Setting {
            key: key.to_owned(),
            value: value.to_owned(),
        };
        let _: serde_json::Value = SendFuture::new(call(&self.0, project, &setting)).await?;
        Ok(())
    }

    fn ai_search_available(&self) -> std::result::Result<(), String> {
        self.0
            .get_binding::<worker::Ai>(super::workers_ai::BINDING)
            .map(|_| ())
            .map_err(|_| {
                format!(
                    "AI Search needs the Workers AI binding: add [ai] binding = \"{}\" to \
                     wrangler.toml and deploy again",
                    super::workers_ai::BINDING
                )
            })
    }

    async fn stats(&self, project: &str) -> std::result::Result<crate::knowledge::Stats, String> {
        SendFuture::new(call(&self.0, project, &KnowledgeCall::Stats)).await
    }

    async fn usage(
        &self,
        project: &str,
    ) -> std::result::Result<Vec<crate::knowledge::UsageDay>, String> {
        SendFuture::new(call(&self.0, project, &KnowledgeCall::Usage)).await
    }

    async fn channel(
        &self,
        project: &str,
        request: ChannelRequest,
    ) -> std::result::Result<ChannelReply, String> {
        let channel = KnowledgeCall::Channel {
            project: project.to_owned(),
            request,
        };
        SendFuture::new(call(&self.0, project, &channel)).await
    }
}
