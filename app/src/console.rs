//! The operators' console (`/console`): sign-in, the inbox of a project sorted by priority and
//! recency with filters by platform and category, and a conversation with its analysis, its
//! messages, the draft reply (edit, regenerate with a note, approve) and the delivery once sent.
//!
//! It speaks the communicator's JSON API with the session cookie (same origin), in the types of
//! [`outpost_protocol::console`], and refreshes what is on screen every two seconds. Message
//! texts come from strangers: they are only ever shown as text, never as markup.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use outpost_protocol::ApiError;
use outpost_protocol::console::{
    Approve, ConversationView, Inbox, InboxItem, Login, Me, Regenerate,
};
use serde::Serialize;
use serde::de::{DeserializeOwned, IgnoredAny};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit};

/// Why a call did not give what was asked.
struct Failure {
    /// The HTTP status (0 when the server could not be reached).
    status: u16,
    /// A sentence for the operator.
    message: String,
}

/// Calls the API with `body` (as JSON): the 2xx answer's body as `T`, or why not.
async fn api<T: DeserializeOwned>(
    method: &str,
    url: &str,
    body: Option<&impl Serialize>,
) -> Result<T, Failure> {
    let failed = |status: u16, message: &str| Failure {
        status,
        message: message.to_owned(),
    };
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(|_| failed(0, "headers"))?;
    if let Some(b) = body {
        let json = serde_json::to_string(b).map_err(|e| failed(0, &e.to_string()))?;
        let _ = headers.set("content-type", "application/json");
        init.set_body(&json.into());
    }
    init.set_headers(&headers);
    let req = Request::new_with_str_and_init(url, &init).map_err(|_| failed(0, "request"))?;
    let window = web_sys::window().ok_or_else(|| failed(0, "no window"))?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| failed(0, "The server cannot be reached."))?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| failed(0, "response"))?;
    let status = resp.status();
    let text = crate::net::response_text(&resp).await;
    if (200..300).contains(&status) {
        let text = if text.trim().is_empty() {
            "null"
        } else {
            &text
        };
        serde_json::from_str(text)
            .map_err(|_| failed(status, "The server answered something unexpected."))
    } else {
        let message = serde_json::from_str::<ApiError>(&text)
            .map(|e| e.error.message)
            .unwrap_or_else(|_| "Something went wrong.".to_owned());
        Err(Failure { status, message })
    }
}

/// A GET has no body.
const NO_BODY: Option<&()> = None;

/// The body of a POST that carries nothing: `{}` (a POST with the session cookie must be JSON,
/// which a cross-site form cannot send).
#[derive(Serialize)]
struct Empty {}

/// A Unix time as `YYYY-MM-DD HH:MM` (UTC).
fn when(secs: i64) -> String {
    let d = js_sys::Date::new(&((secs as f64) * 1000.0).into());
    let iso = d.to_iso_string().as_string().unwrap_or_default();
    iso.get(..16).unwrap_or("").replace('T', " ")
}

#[derive(Clone, Copy)]
struct State {
    me: RwSignal<Option<Me>>,
    project: RwSignal<String>,
    platform: RwSignal<String>,
    category: RwSignal<String>,
    inbox: RwSignal<Vec<InboxItem>>,
    /// The project's daily budget today, as a sentence (empty without a budget).
    budget: RwSignal<String>,
    selected: RwSignal<Option<i64>>,
    view: RwSignal<Option<ConversationView>>,
    draft_id: RwSignal<Option<i64>>,
    draft_text: RwSignal<String>,
    note: RwSignal<String>,
    flash: RwSignal<String>,
}

impl State {
    fn base(&self) -> String {
        format!("/v1/admin/projects/{}", self.project.get_untracked())
    }

    async fn load_inbox(self) {
        if self.project.get_untracked().is_empty() {
            return;
        }
        let mut q = vec!["limit=200".to_owned()];
        for (k, v) in [("platform", self.platform), ("category", self.category)] {
            let v = v.get_untracked();
            if !v.is_empty() {
                q.push(format!("{k}={v}"));
            }
        }
        let url = format!("{}/inbox?{}", self.base(), q.join("&"));
        match api::<Inbox>("GET", &url, NO_BODY).await {
            Ok(inbox) => {
                self.budget
                    .set(inbox.budget.map(budget_line).unwrap_or_default());
                self.inbox.set(inbox.conversations)
            }
            Err(f) => self.failed(f),
        }
    }

    async fn load_conversation(self) {
        let Some(id) = self.selected.get_untracked() else {
            return;
        };
        let url = format!("{}/conversations/{id}", self.base());
        match api::<ConversationView>("GET", &url, NO_BODY).await {
            Ok(v) => {
                let waiting = v.drafts.iter().find(|d| d.state == "draft");
                let id = waiting.map(|d| d.id);
                // A new draft replaces the text; the operator's edits to the same one stay.
                if id != self.draft_id.get_untracked() {
                    self.draft_id.set(id);
                    self.draft_text
                        .set(waiting.map(|d| d.body.clone()).unwrap_or_default());
                }
                self.view.set(Some(v));
            }
            Err(f) => self.failed(f),
        }
    }

    /// Shows why a call failed; signed out when the session is gone.
    fn failed(self, f: Failure) {
        if f.status == 401 {
            self.me.set(None);
        } else {
            self.flash.set(f.message);
        }
    }

    /// Signed in as `me`: their first project, then its inbox.
    async fn signed_in(self, me: Me) {
        if let Some(p) = me.projects.first() {
            self.project.set(p.id.clone());
        }
        self.me.set(Some(me));
        self.load_inbox().await;
    }

    async fn refresh(self) {
        self.load_inbox().await;
        self.load_conversation().await;
    }
}

/// The console.
#[component]
pub fn Console() -> impl IntoView {
    let st = State {
        me: RwSignal::new(None),
        project: RwSignal::new(String::new()),
        platform: RwSignal::new(String::new()),
        category: RwSignal::new(String::new()),
        inbox: RwSignal::new(Vec::new()),
        budget: RwSignal::new(String::new()),
        selected: RwSignal::new(None),
        view: RwSignal::new(None),
        draft_id: RwSignal::new(None),
        draft_text: RwSignal::new(String::new()),
        note: RwSignal::new(String::new()),
        flash: RwSignal::new(String::new()),
    };
    let checked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok(me) = api::<Me>("GET", "/v1/console/me", NO_BODY).await {
            st.signed_in(me).await;
        }
        checked.set(true);
    });
    set_interval(
        move || {
            if st.me.get_untracked().is_some() {
                spawn_local(st.refresh());
            }
        },
        Duration::from_millis(2000),
    );
    view! {
        <main class="console">
            <Show when=move || checked.get() fallback=|| view! { <p class="muted">"Loading…"</p> }>
                <Show when=move || st.me.get().is_some() fallback=move || view! { <Login st=st/> }>
                    <Inbox st=st/>
                </Show>
            </Show>
        </main>
    }
}

#[component]
fn Login(st: State) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(String::new());
    let submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        spawn_local(async move {
            let body = Login {
                name: name.get_untracked(),
                password: password.get_untracked(),
            };
            match api::<IgnoredAny>("POST", "/v1/console/login", Some(&body)).await {
                Ok(_) => match api::<Me>("GET", "/v1/console/me", NO_BODY).await {
                    Ok(me) => st.signed_in(me).await,
                    Err(f) => error.set(f.message),
                },
                Err(f) => error.set(f.message),
            }
        });
    };
    view! {
        <form class="login" on:submit=submit>
            <h1>"Outpost console"</h1>
            <label>"Name"
                <input data-testid="login-name" autocomplete="username" required
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label>"Password"
                <input data-testid="login-password" type="password" autocomplete="current-password" required
                    prop:value=move || password.get() on:input=move |ev| password.set(event_target_value(&ev))/>
            </label>
            <button data-testid="login-submit" type="submit">"Sign in"</button>
            <p class="error" role="alert">{move || error.get()}</p>
        </form>
    }
}

/// What the operators read about the project's daily budget today.
fn budget_line(b: outpost_protocol::console::BudgetToday) -> String {
    if b.refused > 0 || b.answered >= u64::from(b.daily_questions) {
        format!(
            "Today's budget of {} questions is spent: {} visitor questions were declined. It \
             renews at midnight UTC (raise it with --limit daily_questions).",
            b.daily_questions, b.refused
        )
    } else {
        format!(
            "Answered today: {} of the daily budget of {} questions.",
            b.answered, b.daily_questions
        )
    }
}

#[component]
fn Inbox(st: State) -> impl IntoView {
    let projects = move || st.me.get().map(|m| m.projects).unwrap_or_default();
    let reload = move || {
        st.selected.set(None);
        st.view.set(None);
        spawn_local(st.load_inbox());
    };
    let logout = move |_| {
        spawn_local(async move {
            let _ = api::<IgnoredAny>("POST", "/v1/console/logout", Some(&Empty {})).await;
            st.me.set(None);
        });
    };
    view! {
        <header class="bar">
            <strong>"Inbox"</strong>
            <select data-testid="project" on:change=move |ev| { st.project.set(event_target_value(&ev)); reload(); }>
                {move || projects().into_iter().map(|p| {
                    let label = format!("{} ({})", p.title, p.id);
                    let id = p.id;
                    view! { <option value=id.clone() selected=move || st.project.get() == id>{label}</option> }
                }).collect_view()}
            </select>
            <select data-testid="filter-platform" on:change=move |ev| { st.platform.set(event_target_value(&ev)); reload(); }>
                <option value="">"All platforms"</option>
                {["telegram", "slack", "whatsapp", "widget", "push"].map(|p| view! { <option value=p>{p}</option> })}
            </select>
            <select data-testid="filter-category" on:change=move |ev| { st.category.set(event_target_value(&ev)); reload(); }>
                <option value="">"All categories"</option>
                {["question", "billing", "bug", "feedback", "sales", "other"].map(|c| view! { <option value=c>{c}</option> })}
            </select>
            <span class="who">{move || st.me.get().map(|m| m.name).unwrap_or_default()}</span>
            <button on:click=logout>"Sign out"</button>
        </header>
        <p class="flash" role="status">{move || st.flash.get()}</p>
        <p class="budget" data-testid="budget" hidden=move || st.budget.get().is_empty()>{move || st.budget.get()}</p>
        <div class="panes">
            <ul class="inbox" data-testid="inbox">
                <For each=move || st.inbox.get() key=|c| (c.conversation.id, c.conversation.last_message, c.conversation.analyzed_upto, c.draft.as_ref().map(|d| d.state.clone()), c.conversation.state.clone()) let:c>
                    <InboxItem st=st c=c/>
                </For>
                <Show when=move || st.inbox.get().is_empty()>
                    <li class="muted">"No conversation yet."</li>
                </Show>
            </ul>
            <section class="conversation">
                <Show when=move || st.view.get().is_some() fallback=|| view! { <p class="muted">"Open a conversation."</p> }>
                    <Conversation st=st/>
                </Show>
            </section>
        </div>
    }
}

#[component]
fn InboxItem(st: State, c: InboxItem) -> impl IntoView {
    let conv = c.conversation;
    let id = Some(conv.id);
    let a = conv.analysis.clone();
    let priority = a
        .as_ref()
        .map_or("–".to_owned(), |a| format!("P{}", a.priority));
    let level = a.as_ref().map_or(0, |a| a.priority);
    let (category, summary) = a.map(|a| (a.category, a.summary)).unwrap_or_default();
    let state = match (
        conv.state.as_str(),
        c.draft.as_ref().map(|d| d.state.as_str()),
    ) {
        ("replied", _) => "replied".to_owned(),
        (_, Some("draft")) => "draft ready".to_owned(),
        (_, other) => other.unwrap_or_default().to_owned(),
    };
    let open = move || {
        st.selected.set(id);
        st.draft_id.set(None);
        st.note.set(String::new());
        spawn_local(st.load_conversation());
    };
    let on_key = move |ev: web_sys::KeyboardEvent| {
        if ev.key() == "Enter" || ev.key() == " " {
            ev.prevent_default();
            open();
        }
    };
    let class = move || {
        if st.selected.get() == id {
            "item selected"
        } else {
            "item"
        }
    };
    view! {
        <li class=class data-testid="inbox-item" tabindex="0" on:click=move |_| open() on:keydown=on_key>
            <span class=format!("priority p{level}") data-testid="priority">{priority}</span>
            <span class="platform">{conv.platform}</span>
            <span class="contact">{conv.contact}</span>
            <span class="category">{category}</span>
            <span class="summary">{summary}</span>
            <span class="state">{state}</span>
            <time>{when(conv.last_at)}</time>
        </li>
    }
}

#[component]
fn Conversation(st: State) -> impl IntoView {
    let v = move || st.view.get();
    let analysis = move || v().and_then(|v| v.conversation.analysis);
    // The job that gave up sending the approved reply, if one did.
    let dead_job = move || {
        v().and_then(|v| v.delivery)
            .and_then(|d| d.job)
            .filter(|j| j.state == "dead")
            .map(|j| j.id)
    };
    let regenerate = move |_| {
        let Some(id) = st.selected.get_untracked() else {
            return;
        };
        let note = st.note.get_untracked();
        spawn_local(async move {
            let body = Regenerate {
                note: Some(note).filter(|n| !n.trim().is_empty()),
            };
            let url = format!("{}/conversations/{id}/draft", st.base());
            match api::<IgnoredAny>("POST", &url, Some(&body)).await {
                Ok(_) => st.flash.set("A new draft is being written…".into()),
                Err(f) => st.flash.set(f.message),
            }
        });
    };
    let approve = move |_| {
        let (Some(id), Some(draft)) = (st.selected.get_untracked(), st.draft_id.get_untracked())
        else {
            return;
        };
        let text = st.draft_text.get_untracked();
        spawn_local(async move {
            let body = Approve {
                draft,
                text: Some(text),
            };
            let url = format!("{}/conversations/{id}/approve", st.base());
            match api::<IgnoredAny>("POST", &url, Some(&body)).await {
                Ok(_) => {
                    st.flash.set("Approved: sending…".into());
                    st.load_conversation().await;
                }
                Err(f) => st.flash.set(f.message),
            }
        });
    };
    let retry_send = move |_| {
        let Some(job) = dead_job() else {
            return;
        };
        spawn_local(async move {
            let url = format!("{}/jobs/{job}/retry", st.base());
            match api::<IgnoredAny>("POST", &url, Some(&Empty {})).await {
                Ok(_) => {
                    st.flash.set("Sending again…".into());
                    st.load_conversation().await;
                }
                Err(f) => st.flash.set(f.message),
            }
        });
    };
    view! {
        <div class="analysis" data-testid="conversation">
            <h2>{move || v().map(|v| format!("{} on {}", v.conversation.contact, v.conversation.platform)).unwrap_or_default()}</h2>
            <p class="summary" data-testid="summary">{move || analysis().map(|a| a.summary).unwrap_or_default()}</p>
            <p class="meta">{move || analysis().map(|a| format!("{} · P{} · {} · {}", a.category, a.priority,
                a.language.as_deref().unwrap_or("language unknown"), a.analyzer)).unwrap_or_default()}</p>
            <p class="note">{move || analysis().and_then(|a| a.note).unwrap_or_default()}</p>
        </div>
        <ol class="messages">
            {move || v().map(|v| v.messages).unwrap_or_default().into_iter().map(|m| {
                let class = if m.direction == "out" { "msg out" } else { "msg in" };
                let who = m.sender.name.unwrap_or(m.sender.id);
                view! {
                    <li class=class>
                        <span class="who">{who}</span>
                        <time>{when(m.sent_at)}</time>
                        <p>{m.text}</p>
                    </li>
                }
            }).collect_view()}
        </ol>
        <Show when=move || st.draft_id.get().is_some() fallback=move || view! {
            <p class="muted">{move || if v().is_some_and(|v| v.conversation.state == "replied") { "Replied." } else { "No draft waiting." }}</p>
        }>
            <div class="draft">
                <label>{move || {
                    let d = v().and_then(|v| v.drafts.into_iter().find(|d| d.state == "draft"));
                    match d {
                        Some(d) => match d.note {
                            Some(n) => format!("Draft by {} (with your note: {n})", d.model),
                            None => format!("Draft by {}", d.model),
                        },
                        None => String::new(),
                    }
                }}
                    <textarea data-testid="draft-text" rows="8"
                        prop:value=move || st.draft_text.get()
                        on:input=move |ev| st.draft_text.set(event_target_value(&ev))></textarea>
                </label>
                <div class="actions">
                    <input data-testid="note" placeholder="A note for a new draft: \u{201c}shorter\u{201d}, \u{201c}mention the refund policy\u{201d}"
                        prop:value=move || st.note.get() on:input=move |ev| st.note.set(event_target_value(&ev))/>
                    <button data-testid="regenerate" on:click=regenerate>"Regenerate"</button>
                    <button data-testid="approve" class="primary" on:click=approve>"Approve and send"</button>
                </div>
            </div>
        </Show>
        <div class="delivery" data-testid="delivery">
            {move || {
                let Some(d) = v().and_then(|v| v.delivery) else {
                    return String::new();
                };
                let mut line = format!("Delivery: {} ({} part(s))", d.state, d.parts.len());
                if let Some(p) = d.parts.first().filter(|p| !p.receipts.is_empty()) {
                    line.push_str(&format!(" · {}", p.receipts.join(", ")));
                }
                if let Some(e) = d.error {
                    line.push_str(&format!(" · failed: {e}"));
                }
                if d.job.is_some_and(|j| j.state == "dead") {
                    line.push_str(" · gave up");
                }
                line
            }}
            <Show when=move || dead_job().is_some()>
                <button data-testid="retry-send" on:click=retry_send>"Retry sending"</button>
            </Show>
        </div>
    }
}
