//! The chat core that both targets drive, tested without a network: the answer pipeline every
//! channel answers through (system prompt, AI Search, failure codes), the socket protocol's
//! steps, the effect executor and handoff retries. Each test names the behaviour the native
//! actor, the `ChatSession` object, the channel jobs and `outpost ask` now share.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures::future::BoxFuture;
use futures::{StreamExt, stream};
use outpost::chat::HandoffSink;
use outpost::chat::answer::{
    self, AiSearch, AnswerFailure, Clock, Observer, ProjectKnowledge, Question, Report, Retrieved,
    Retriever,
};
use outpost::chat::effects::{
    HANDOFF_ATTEMPTS, HANDOFF_BACKOFF, SessionIo, deliver_handoff, execute,
};
use outpost::chat::socket::{Incoming, Phase, Step, step};
use outpost::knowledge::ingest::ingest_document;
use outpost::knowledge::{DocumentInput, Hit, Knowledge, ai_search};
use outpost::limits::Limits;
use outpost::platform::native::open_knowledge;
use outpost::platform::native::sqlite::SqliteFile;
use outpost::project::ProjectId;
use outpost::providers::extractive::Extractive;
use outpost::providers::{
    CompletionRequest, Embedder, LanguageModel, Message, ProviderError, TokenStream,
};
use outpost::rag::Assistant;
use outpost::rag::prompt::{DEFAULT_SYSTEM_PROMPT, SYSTEM_PROMPT_KEY};
use outpost::registry::Project;
use outpost::session::{Effect, HandoffMessage, Input};
use outpost_protocol::{Author, ClientFrame, ServerFrame, codes};

const DOC: &str = "# Keys\n\n## Rotation\n\nThe signing key is rotated with `outpost keys rotate`. \
Rotation keeps the old key valid for one hour.\n";

/// A language model that records the system prompt it was given and answers with one piece,
/// or fails as told.
#[derive(Default)]
struct Recorder {
    systems: Mutex<Vec<String>>,
    fail_start: bool,
    fail_midway: bool,
}

#[async_trait]
impl LanguageModel for Recorder {
    fn name(&self) -> String {
        "recorder".into()
    }

    async fn stream(&self, request: CompletionRequest) -> Result<TokenStream, ProviderError> {
        self.systems
            .lock()
            .unwrap()
            .push(request.messages[0].content.clone());
        if self.fail_start {
            return Err(ProviderError::Unreachable("connection refused".into()));
        }
        let mut pieces = vec![Ok("Use `outpost keys rotate` [1].".to_owned())];
        if self.fail_midway {
            pieces.push(Err(ProviderError::Timeout));
        }
        Ok(stream::iter(pieces).boxed())
    }
}

struct DownEmbedder;

#[async_trait]
impl Embedder for DownEmbedder {
    fn model(&self) -> String {
        "down".into()
    }

    async fn embed(&self, _texts: &[String]) -> Result<Vec<Vec<f32>>, ProviderError> {
        Err(ProviderError::Status {
            status: 503,
            message: "overloaded".into(),
        })
    }
}

/// An AI Search instance that answers with one passage of its own.
struct FakeAiSearch {
    asked: Mutex<Vec<(String, String)>>,
}

#[async_trait]
impl AiSearch for FakeAiSearch {
    async fn search(
        &self,
        instance: &str,
        project: &ProjectId,
        question: &str,
        _k: usize,
    ) -> Result<Vec<Hit>, String> {
        self.asked
            .lock()
            .unwrap()
            .push((instance.to_owned(), question.to_owned()));
        Ok(vec![Hit {
            chunk_id: 0,
            path: format!("{project}/from-ai-search.md"),
            title: "From AI Search".into(),
            heading: "Keys".into(),
            body: "The signing key is rotated with outpost keys rotate.".into(),
            url: None,
            revision: None,
            score: 1.0,
            coverage: 1.0,
            cosine: None,
        }])
    }
}

struct FailingRetriever;

impl Retriever for FailingRetriever {
    async fn retrieve(&self, _q: &str, _v: Option<Vec<f32>>) -> Result<Retrieved, String> {
        Err("the knowledge file is locked".into())
    }
}

/// A clock whose waits return at once and are recorded.
#[derive(Default)]
struct FakeClock {
    slept: Arc<Mutex<Vec<Duration>>>,
}

impl Clock for FakeClock {
    fn now_ms(&self) -> f64 {
        0.0
    }

    fn sleep(&self, d: Duration) -> BoxFuture<'static, ()> {
        self.slept.lock().unwrap().push(d);
        Box::pin(async {})
    }
}

#[derive(Default)]
struct Reports(Mutex<Vec<(&'static str, Report)>>);

#[async_trait]
impl Observer for Reports {
    fn measured(&self, report: &Report) {
        self.0.lock().unwrap().push(("measured", report.clone()));
    }

    async fn answered(&self, report: Report) {
        self.0.lock().unwrap().push(("answered", report));
    }
}

async fn knowledge(dir: &std::path::Path) -> Knowledge<SqliteFile> {
    let k = open_knowledge(dir, &ProjectId::parse("acme").unwrap(), true)
        .unwrap()
        .unwrap();
    let doc = DocumentInput {
        path: "docs/keys.md".into(),
        text: DOC.into(),
        url: None,
        revision: None,
    };
    ingest_document(&k, None, doc, 0).await.unwrap();
    k
}

fn local(k: &Knowledge<SqliteFile>) -> ProjectKnowledge<'_, SqliteFile> {
    ProjectKnowledge {
        project: "acme",
        knowledge: k,
        ai_search: None,
    }
}

/// Runs a session's answer, returning the inputs it fed the session.
async fn session_answer<R: Retriever>(
    assistant: &Assistant,
    retriever: &R,
    observer: &Reports,
) -> Vec<Input> {
    let mut inputs = Vec::new();
    answer::run(
        assistant,
        retriever,
        &FakeClock::default(),
        observer,
        "acme",
        "a1".into(),
        Question::new("How do I rotate the signing key?"),
        |i| {
            inputs.push(i);
            true
        },
    )
    .await;
    inputs
}

fn failed_code(inputs: &[Input]) -> Option<&str> {
    match inputs.last() {
        Some(Input::Failed { code, .. }) => Some(code),
        _ => None,
    }
}

#[tokio::test]
async fn a_cleared_system_prompt_means_the_default_for_sessions_jobs_and_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let k = knowledge(dir.path()).await;
    let llm = Arc::new(Recorder::default());
    let assistant = Assistant::new(llm.clone(), None);
    let q = Question::new("How do I rotate the signing key?");

    // Cleared (an empty setting), as the admin API stores "no prompt".
    k.set_setting(SYSTEM_PROMPT_KEY, "").unwrap();
    session_answer(&assistant, &local(&k), &Reports::default()).await;
    answer::whole(&assistant, &local(&k), q).await.unwrap();
    let mut out = Vec::new();
    outpost::cli::ask(
        &ProjectId::parse("acme").unwrap(),
        &k,
        &assistant,
        q.text,
        &mut out,
    )
    .await
    .unwrap();
    // A project's own prompt, and a channel's instructions after it.
    k.set_setting(SYSTEM_PROMPT_KEY, "You are Acme's helper.")
        .unwrap();
    let draft = Question {
        instructions: Some("You are drafting a reply."),
        ..q
    };
    answer::whole(&assistant, &local(&k), draft).await.unwrap();

    let systems = llm.systems.lock().unwrap().clone();
    assert_eq!(systems.len(), 4);
    for s in &systems[..3] {
        assert!(
            s.starts_with(DEFAULT_SYSTEM_PROMPT),
            "the default prompt: {s}"
        );
    }
    assert!(
        systems[3].starts_with("You are Acme's helper.\n\nYou are drafting a reply."),
        "{}",
        systems[3]
    );
}

#[tokio::test]
async fn every_failure_has_one_code_whichever_step_fails() {
    let dir = tempfile::tempdir().unwrap();
    let k = knowledge(dir.path()).await;
    let ok = Assistant::new(Arc::new(Recorder::default()), None);
    let embedder_down = Assistant::new(Arc::new(Recorder::default()), Some(Arc::new(DownEmbedder)));
    let model_down = Assistant::new(
        Arc::new(Recorder {
            fail_start: true,
            ..Recorder::default()
        }),
        None,
    );
    let model_cut = Assistant::new(
        Arc::new(Recorder {
            fail_midway: true,
            ..Recorder::default()
        }),
        None,
    );
    let cases: [(&Assistant, bool, Option<&str>); 5] = [
        (&ok, false, None),
        (&embedder_down, false, Some(codes::PROVIDER_ERROR)),
        (&ok, true, Some(codes::KNOWLEDGE_ERROR)),
        (&model_down, false, Some(codes::PROVIDER_ERROR)),
        (&model_cut, false, Some(codes::PROVIDER_ERROR)),
    ];
    for (assistant, bad_knowledge, expected) in cases {
        let reports = Reports::default();
        let (inputs, whole) = if bad_knowledge {
            let q = Question::new("How do I rotate the signing key?");
            (
                session_answer(assistant, &FailingRetriever, &reports).await,
                answer::whole(assistant, &FailingRetriever, q).await,
            )
        } else {
            let q = Question::new("How do I rotate the signing key?");
            (
                session_answer(assistant, &local(&k), &reports).await,
                answer::whole(assistant, &local(&k), q).await,
            )
        };
        // The session and the channels see the same code.
        assert_eq!(failed_code(&inputs), expected, "{inputs:?}");
        assert_eq!(whole.as_ref().err().map(AnswerFailure::code), expected);
        if expected.is_none() {
            assert!(
                matches!(inputs.last(), Some(Input::Finished { html, .. }) if html.contains("<code>outpost keys rotate</code>"))
            );
        }
        // Reported once measured (before the last input) and once answered.
        let reports = reports.0.lock().unwrap();
        assert_eq!(
            reports.iter().map(|(k, _)| *k).collect::<Vec<_>>(),
            ["measured", "answered"]
        );
        assert_eq!(reports[1].1.failure, expected);
        assert_eq!(
            reports[1].1.provider_error(),
            expected == Some(codes::PROVIDER_ERROR)
        );
    }
}

#[tokio::test]
async fn a_project_naming_an_ai_search_instance_retrieves_from_it_on_every_channel() {
    let dir = tempfile::tempdir().unwrap();
    let k = knowledge(dir.path()).await;
    k.set_setting(ai_search::SETTING, "acme-docs").unwrap();
    let assistant = Assistant::new(Arc::new(Extractive), None);
    let search = FakeAiSearch {
        asked: Mutex::new(Vec::new()),
    };
    let retriever = ProjectKnowledge {
        project: "acme",
        knowledge: &k,
        ai_search: Some(&search),
    };
    let q = Question::new("How do I rotate the signing key?");
    let inputs = session_answer(&assistant, &retriever, &Reports::default()).await;
    let whole = answer::whole(&assistant, &retriever, q).await.unwrap();
    let Some(Input::Finished { citations, .. }) = inputs.last() else {
        panic!("{inputs:?}");
    };
    assert_eq!(citations[0].path, "acme/from-ai-search.md");
    assert_eq!(whole.citations[0].path, "acme/from-ai-search.md");
    assert_eq!(search.asked.lock().unwrap().len(), 2);
    assert!(
        search
            .asked
            .lock()
            .unwrap()
            .iter()
            .all(|(i, _)| i == "acme-docs")
    );

    // Where the platform has no AI Search, the project is told so rather than answered from
    // an index it does not use.
    let failure = answer::whole(&assistant, &local(&k), q).await.unwrap_err();
    assert_eq!(failure.code(), codes::KNOWLEDGE_ERROR);
    assert!(failure.detail().contains("AI Search"), "{failure}");
}

struct FlakyInbox {
    failures: Mutex<u32>,
    delivered: Mutex<Vec<Vec<HandoffMessage>>>,
}

#[async_trait]
impl HandoffSink for FlakyInbox {
    async fn handoff(
        &self,
        _project: &str,
        _session: &str,
        _visitor: &str,
        messages: Vec<HandoffMessage>,
    ) -> Result<(), String> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err("the inbox is busy".into());
        }
        self.delivered.lock().unwrap().push(messages);
        Ok(())
    }
}

#[tokio::test]
async fn a_handoff_is_retried_with_growing_waits_then_given_up() {
    let messages = vec![HandoffMessage {
        id: "m1".into(),
        author: Author::User,
        text: "Can a person help?".into(),
    }];
    let inbox = FlakyInbox {
        failures: Mutex::new(2),
        delivered: Mutex::new(Vec::new()),
    };
    let clock = FakeClock::default();
    deliver_handoff(&inbox, &clock, "acme", "s1", "v1", messages.clone())
        .await
        .unwrap();
    assert_eq!(*inbox.delivered.lock().unwrap(), vec![messages.clone()]);
    assert_eq!(
        *clock.slept.lock().unwrap(),
        vec![HANDOFF_BACKOFF, HANDOFF_BACKOFF * 2]
    );

    let down = FlakyInbox {
        failures: Mutex::new(u32::MAX),
        delivered: Mutex::new(Vec::new()),
    };
    let clock = FakeClock::default();
    let e = deliver_handoff(&down, &clock, "acme", "s1", "v1", messages)
        .await
        .unwrap_err();
    assert_eq!(e, "the inbox is busy");
    assert_eq!(
        clock.slept.lock().unwrap().len() as u32,
        HANDOFF_ATTEMPTS - 1
    );
    assert_eq!(*down.failures.lock().unwrap(), u32::MAX - HANDOFF_ATTEMPTS);
}

/// A driver's I/O that records what the executor asked of it.
#[derive(Default)]
struct Recorded {
    fail_persist: bool,
    stored: Vec<ServerFrame>,
    sent: Vec<(u64, ServerFrame)>,
    broadcast: Vec<ServerFrame>,
    generated: Vec<String>,
    handed_off: usize,
}

impl SessionIo for Recorded {
    fn persist(&mut self, _session: &str, frame: &ServerFrame) -> Result<(), String> {
        if self.fail_persist {
            return Err("disk full".into());
        }
        self.stored.push(frame.clone());
        Ok(())
    }
    fn send(&mut self, conn: u64, frame: &ServerFrame) {
        self.sent.push((conn, frame.clone()));
    }
    fn broadcast(&mut self, frame: &ServerFrame) {
        self.broadcast.push(frame.clone());
    }
    fn generate(&mut self, answer_id: String, _question: String, _history: Vec<Message>) {
        self.generated.push(answer_id);
    }
    fn handoff(&mut self, _messages: Vec<HandoffMessage>) {
        self.handed_off += 1;
    }
}

fn effects() -> Vec<Effect> {
    let frame = ServerFrame::Handoff { seq: 1 };
    vec![
        Effect::Persist(frame.clone()),
        Effect::Send {
            conn: None,
            frame: frame.clone(),
        },
        Effect::Send {
            conn: Some(7),
            frame: frame.clone(),
        },
        Effect::Broadcast(frame),
        Effect::Handoff { messages: vec![] },
        Effect::Generate {
            answer_id: "a1".into(),
            question: "q".into(),
            history: vec![],
        },
    ]
}

#[test]
fn the_executor_carries_out_effects_in_order_and_nothing_after_an_unstored_frame() {
    let mut io = Recorded::default();
    let mut direct = Vec::new();
    execute(&mut io, "s1", effects(), Some(&mut direct));
    assert_eq!(io.stored.len(), 1);
    assert_eq!(direct, [ServerFrame::Handoff { seq: 1 }]);
    assert_eq!(io.sent, [(7, ServerFrame::Handoff { seq: 1 })]);
    assert_eq!(io.broadcast, [ServerFrame::Handoff { seq: 1 }]);
    assert_eq!((io.handed_off, io.generated.len()), (1, 1));

    let mut io = Recorded {
        fail_persist: true,
        ..Recorded::default()
    };
    let mut direct = Vec::new();
    execute(&mut io, "s1", effects(), Some(&mut direct));
    assert!(direct.is_empty() && io.sent.is_empty() && io.generated.is_empty());
    assert!(
        matches!(&io.broadcast[..], [ServerFrame::Error { code, .. }] if code == codes::STORAGE_ERROR),
        "{:?}",
        io.broadcast
    );
}

fn project() -> Project {
    Project {
        id: "acme".into(),
        secret: "acme-secret-acme-secret-acme-secret".into(),
        allowed_origins: vec![],
        title: "Acme".into(),
        greeting: "Hi".into(),
        accent: "#000".into(),
        settings: Default::default(),
        team: false,
    }
}

fn text(frame: &ClientFrame) -> Incoming {
    Incoming::Text(serde_json::to_string(frame).unwrap())
}

#[test]
fn the_socket_protocol_steps_from_hello_to_questions() {
    let p = project();
    let limits = Limits::new(60, 1, 600);
    let token = outpost::auth::mint(
        &outpost::auth::Claims {
            sub: "v1".into(),
            project: "acme".into(),
            exp: outpost::platform::now_unix() as u64 + 600,
            nbf: None,
            iat: None,
            aud: outpost::auth::AUDIENCE.into(),
        },
        p.secret.as_bytes(),
    )
    .unwrap();
    let ask = ClientFrame::Ask {
        client_id: "c1".into(),
        text: "hi".into(),
    };
    let pending = Phase::Pending;
    assert_eq!(
        step(&pending, &p, text(&ClientFrame::Ping)),
        Step::Reply(ServerFrame::Pong)
    );
    assert!(
        matches!(step(&pending, &p, text(&ask)), Step::Reply(ServerFrame::Error { code, .. }) if code == codes::HELLO_FIRST)
    );
    assert!(
        matches!(step(&pending, &p, Incoming::Binary), Step::Reply(ServerFrame::Error { code, .. }) if code == codes::BAD_FRAME)
    );
    let forged = ClientFrame::Hello {
        token: format!("{token}x"),
        after: 0,
    };
    assert!(
        matches!(step(&pending, &p, text(&forged)), Step::Refuse(ServerFrame::Error { code, .. }) if code == codes::INVALID_TOKEN)
    );
    let hello = ClientFrame::Hello { token, after: 3 };
    let Step::Join { claims, after: 3 } = step(&pending, &p, text(&hello)) else {
        panic!("a good token joins");
    };
    assert_eq!(claims.sub, "v1");

    let joined = Phase::joined(9, claims, &p);
    assert!(
        matches!(step(&joined, &p, text(&hello)), Step::Reply(ServerFrame::Error { code, .. }) if code == codes::BAD_FRAME)
    );
    let Step::Input(asked) = step(&joined, &p, text(&ask)) else {
        panic!("a joined socket's question is an input");
    };
    assert!(matches!(asked, Input::Ask { conn: Some(9), .. }));
    let Step::Input(retried) = step(&joined, &p, text(&ClientFrame::Retry)) else {
        panic!("a retry is an input");
    };
    let Step::Input(handoff) = step(&joined, &p, text(&ClientFrame::Handoff)) else {
        panic!("a handoff is an input");
    };
    assert!(matches!(handoff, Input::Handoff { conn: Some(9) }));
    // The gate counts what each spends: a burst of one question, and the next waits, and so
    // does a retry (it asks the model again); a handoff is counted on its own.
    let Phase::Joined { claims, .. } = &joined else {
        unreachable!()
    };
    let admit = |p: &Project, input: &Input| {
        futures::executor::block_on(outpost::chat::socket::admit(
            &limits, p, claims, None, input,
        ))
    };
    assert_eq!(admit(&p, &asked), Ok(()));
    for input in [&asked, &retried] {
        let refusal = admit(&p, input).unwrap_err();
        assert_eq!(refusal.code, codes::RATE_LIMITED);
        assert!(refusal.retry_after.is_some_and(|s| s >= 1), "{refusal:?}");
    }
    // A person is asked for only where someone can take over, and the project allows it.
    assert_eq!(
        admit(&p, &handoff).unwrap_err().code,
        codes::HANDOFF_UNAVAILABLE,
        "nobody to take over"
    );
    let mut staffed = p.clone();
    staffed.team = true;
    assert_eq!(admit(&staffed, &handoff), Ok(()));
    staffed.settings.handoff = false;
    assert_eq!(
        admit(&staffed, &handoff).unwrap_err().code,
        codes::HANDOFF_UNAVAILABLE,
        "turned off"
    );
}

/// Before a joined socket's question reaches the session, its token is checked against the
/// project as it is now: a rotated secret, a deleted project or a token expired since the
/// socket opened end it (both drivers call the same `recheck`).
#[test]
fn a_joined_socket_is_rechecked_against_the_project_as_it_is_now() {
    use outpost::chat::socket::recheck;
    let p = project();
    let now = outpost::platform::now_unix() as u64;
    let claims = |exp: u64| outpost::auth::Claims {
        sub: "v1".into(),
        project: "acme".into(),
        exp,
        nbf: None,
        iat: None,
        aud: outpost::auth::AUDIENCE.into(),
    };
    let joined = Phase::joined(1, claims(now + 600), &p);
    assert_eq!(recheck(&joined, Some(&p)), Ok(()));
    let mut rotated = p.clone();
    rotated.secret = "a-new-secret-a-new-secret-a-new-secret".into();
    let code = |r: Result<(), Box<ServerFrame>>| match r.map_err(|f| *f) {
        Err(ServerFrame::Error { code, .. }) => code,
        other => panic!("{other:?}"),
    };
    assert_eq!(code(recheck(&joined, Some(&rotated))), codes::INVALID_TOKEN);
    assert_eq!(code(recheck(&joined, None)), codes::NOT_FOUND);
    let expired = Phase::joined(1, claims(now - 3600), &p);
    assert_eq!(code(recheck(&expired, Some(&p))), codes::TOKEN_EXPIRED);
    assert_eq!(
        recheck(&Phase::Pending, None),
        Ok(()),
        "nothing to recheck before hello"
    );
}
