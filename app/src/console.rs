//! The operators' console (`/console`): sign-in, the inbox of a project sorted by priority and
//! recency with filters by platform and category, and a conversation with its analysis, its
//! messages, the draft reply (edit, regenerate with a note, approve) and the delivery once sent.
//!
//! It speaks the communicator's JSON API with the session cookie (same origin) and refreshes
//! what is on screen every two seconds. Message texts come from strangers: they are only ever
//! shown as text, never as markup.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::{Value, json};
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, Request, RequestInit};

/// Calls the API: the status and the JSON body (`Null` when there is none).
async fn api(method: &str, url: &str, body: Option<Value>) -> Result<(u16, Value), String> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(|_| "headers")?;
    if let Some(b) = &body {
        let _ = headers.set("content-type", "application/json");
        init.set_body(&b.to_string().into());
    }
    init.set_headers(&headers);
    let req = Request::new_with_str_and_init(url, &init).map_err(|_| "request")?;
    let window = web_sys::window().ok_or("no window")?;
    let resp = JsFuture::from(window.fetch_with_request(&req))
        .await
        .map_err(|_| "The server cannot be reached.".to_owned())?;
    let resp: web_sys::Response = resp.dyn_into().map_err(|_| "response")?;
    let text = crate::net::response_text(&resp).await;
    Ok((
        resp.status(),
        serde_json::from_str(&text).unwrap_or(Value::Null),
    ))
}

fn error_text(v: &Value) -> String {
    v["error"]["message"]
        .as_str()
        .unwrap_or("Something went wrong.")
        .to_owned()
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A Unix time as `YYYY-MM-DD HH:MM` (UTC).
fn when(secs: i64) -> String {
    let d = js_sys::Date::new(&((secs as f64) * 1000.0).into());
    let iso = d.to_iso_string().as_string().unwrap_or_default();
    iso.get(..16).unwrap_or("").replace('T', " ")
}

#[derive(Clone, Copy)]
struct State {
    me: RwSignal<Option<Value>>,
    project: RwSignal<String>,
    platform: RwSignal<String>,
    category: RwSignal<String>,
    inbox: RwSignal<Vec<Value>>,
    selected: RwSignal<Option<i64>>,
    view: RwSignal<Option<Value>>,
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
        match api(
            "GET",
            &format!("{}/inbox?{}", self.base(), q.join("&")),
            None,
        )
        .await
        {
            Ok((200, v)) => self
                .inbox
                .set(v["conversations"].as_array().cloned().unwrap_or_default()),
            Ok((401, _)) => self.me.set(None),
            Ok((_, v)) => self.flash.set(error_text(&v)),
            Err(e) => self.flash.set(e),
        }
    }

    async fn load_conversation(self) {
        let Some(id) = self.selected.get_untracked() else {
            return;
        };
        match api("GET", &format!("{}/conversations/{id}", self.base()), None).await {
            Ok((200, v)) => {
                let waiting = v["drafts"]
                    .as_array()
                    .and_then(|d| d.iter().find(|d| d["state"] == "draft"))
                    .cloned();
                let id = waiting.as_ref().and_then(|d| d["id"].as_i64());
                // A new draft replaces the text; the operator's edits to the same one stay.
                if id != self.draft_id.get_untracked() {
                    self.draft_id.set(id);
                    self.draft_text
                        .set(waiting.map(|d| s(&d["body"])).unwrap_or_default());
                }
                self.view.set(Some(v));
            }
            Ok((401, _)) => self.me.set(None),
            Ok((_, v)) => self.flash.set(error_text(&v)),
            Err(e) => self.flash.set(e),
        }
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
        selected: RwSignal::new(None),
        view: RwSignal::new(None),
        draft_id: RwSignal::new(None),
        draft_text: RwSignal::new(String::new()),
        note: RwSignal::new(String::new()),
        flash: RwSignal::new(String::new()),
    };
    let checked = RwSignal::new(false);
    spawn_local(async move {
        if let Ok((200, v)) = api("GET", "/v1/console/me", None).await {
            if let Some(p) = v["projects"][0]["id"].as_str() {
                st.project.set(p.to_owned());
            }
            st.me.set(Some(v));
            st.load_inbox().await;
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
            let body = json!({"name": name.get_untracked(), "password": password.get_untracked()});
            match api("POST", "/v1/console/login", Some(body)).await {
                Ok((200, _)) => {
                    if let Ok((200, me)) = api("GET", "/v1/console/me", None).await {
                        if let Some(p) = me["projects"][0]["id"].as_str() {
                            st.project.set(p.to_owned());
                        }
                        st.me.set(Some(me));
                        st.load_inbox().await;
                    }
                }
                Ok((_, v)) => error.set(error_text(&v)),
                Err(e) => error.set(e),
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

#[component]
fn Inbox(st: State) -> impl IntoView {
    let projects = move || {
        st.me
            .get()
            .and_then(|m| m["projects"].as_array().cloned())
            .unwrap_or_default()
    };
    let reload = move || {
        st.selected.set(None);
        st.view.set(None);
        spawn_local(st.load_inbox());
    };
    let logout = move |_| {
        spawn_local(async move {
            let _ = api("POST", "/v1/console/logout", Some(json!({}))).await;
            st.me.set(None);
        });
    };
    view! {
        <header class="bar">
            <strong>"Inbox"</strong>
            <select data-testid="project" on:change=move |ev| { st.project.set(event_target_value(&ev)); reload(); }>
                {move || projects().into_iter().map(|p| {
                    let id = s(&p["id"]);
                    let label = format!("{} ({id})", s(&p["title"]));
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
            <span class="who">{move || st.me.get().map(|m| s(&m["name"])).unwrap_or_default()}</span>
            <button on:click=logout>"Sign out"</button>
        </header>
        <p class="flash" role="status">{move || st.flash.get()}</p>
        <div class="panes">
            <ul class="inbox" data-testid="inbox">
                <For each=move || st.inbox.get() key=|c| (c["conversation"]["id"].as_i64(), c["conversation"]["last_message"].as_i64(), c["conversation"]["analyzed_upto"].as_i64(), s(&c["draft"]["state"]), s(&c["conversation"]["state"])) let:c>
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
fn InboxItem(st: State, c: Value) -> impl IntoView {
    let conv = c["conversation"].clone();
    let id = conv["id"].as_i64();
    let a = conv["analysis"].clone();
    let priority = a["priority"]
        .as_i64()
        .map_or("–".to_owned(), |p| format!("P{p}"));
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
            <span class=format!("priority p{}", a["priority"].as_i64().unwrap_or(0)) data-testid="priority">{priority}</span>
            <span class="platform">{s(&conv["platform"])}</span>
            <span class="contact">{s(&conv["contact"])}</span>
            <span class="category">{s(&a["category"])}</span>
            <span class="summary">{s(&a["summary"])}</span>
            <span class="state">{match (s(&conv["state"]).as_str(), s(&c["draft"]["state"]).as_str()) {
                ("replied", _) => "replied".to_owned(),
                (_, "draft") => "draft ready".to_owned(),
                (_, other) => other.to_owned(),
            }}</span>
            <time>{when(conv["last_at"].as_i64().unwrap_or(0))}</time>
        </li>
    }
}

#[component]
fn Conversation(st: State) -> impl IntoView {
    let v = move || st.view.get().unwrap_or(Value::Null);
    let regenerate = move |_| {
        let Some(id) = st.selected.get_untracked() else {
            return;
        };
        let note = st.note.get_untracked();
        spawn_local(async move {
            let body = if note.trim().is_empty() {
                json!({})
            } else {
                json!({"note": note})
            };
            match api(
                "POST",
                &format!("{}/conversations/{id}/draft", st.base()),
                Some(body),
            )
            .await
            {
                Ok((202, _)) => st.flash.set("A new draft is being written…".into()),
                Ok((_, v)) => st.flash.set(error_text(&v)),
                Err(e) => st.flash.set(e),
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
            let body = json!({"draft": draft, "text": text});
            match api(
                "POST",
                &format!("{}/conversations/{id}/approve", st.base()),
                Some(body),
            )
            .await
            {
                Ok((202, _)) => {
                    st.flash.set("Approved: sending…".into());
                    st.load_conversation().await;
                }
                Ok((_, v)) => st.flash.set(error_text(&v)),
                Err(e) => st.flash.set(e),
            }
        });
    };
    let retry_send = move |_| {
        let Some(job) = v()["delivery"]["job"]["id"].as_i64() else {
            return;
        };
        spawn_local(async move {
            match api(
                "POST",
                &format!("{}/jobs/{job}/retry", st.base()),
                Some(json!({})),
            )
            .await
            {
                Ok((202, _)) => {
                    st.flash.set("Sending again…".into());
                    st.load_conversation().await;
                }
                Ok((_, v)) => st.flash.set(error_text(&v)),
                Err(e) => st.flash.set(e),
            }
        });
    };
    view! {
        <div class="analysis" data-testid="conversation">
            <h2>{move || format!("{} on {}", s(&v()["conversation"]["contact"]), s(&v()["conversation"]["platform"]))}</h2>
            <p class="summary" data-testid="summary">{move || s(&v()["conversation"]["analysis"]["summary"])}</p>
            <p class="meta">{move || {
                let a = v()["conversation"]["analysis"].clone();
                format!("{} · P{} · {} · {}", s(&a["category"]), s(&a["priority"]),
                    a["language"].as_str().unwrap_or("language unknown"), s(&a["analyzer"]))
            }}</p>
            <p class="note">{move || s(&v()["conversation"]["analysis"]["note"])}</p>
        </div>
        <ol class="messages">
            {move || v()["messages"].as_array().cloned().unwrap_or_default().into_iter().map(|m| {
                let class = if m["direction"] == "out" { "msg out" } else { "msg in" };
                let who = m["sender"]["name"].as_str().map(str::to_owned).unwrap_or_else(|| s(&m["sender"]["id"]));
                view! {
                    <li class=class>
                        <span class="who">{who}</span>
                        <time>{when(m["sent_at"].as_i64().unwrap_or(0))}</time>
                        <p>{s(&m["text"])}</p>
                    </li>
                }
            }).collect_view()}
        </ol>
        <Show when=move || st.draft_id.get().is_some() fallback=move || view! {
            <p class="muted">{move || if v()["conversation"]["state"] == "replied" { "Replied." } else { "No draft waiting." }}</p>
        }>
            <div class="draft">
                <label>{move || {
                    let d = v()["drafts"].as_array().and_then(|d| d.iter().find(|d| d["state"] == "draft").cloned()).unwrap_or(Value::Null);
                    match d["note"].as_str() {
                        Some(n) => format!("Draft by {} (with your note: {n})", s(&d["model"])),
                        None => format!("Draft by {}", s(&d["model"])),
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
                let d = v()["delivery"].clone();
                if d.is_null() {
                    return String::new();
                }
                let parts = d["parts"].as_array().map_or(0, Vec::len);
                let mut line = format!("Delivery: {} ({parts} part(s))", s(&d["state"]));
                if let Some(receipts) = d["parts"][0]["receipts"].as_array().filter(|r| !r.is_empty()) {
                    line.push_str(&format!(" · {}", receipts.iter().map(s).collect::<Vec<_>>().join(", ")));
                }
                if let Some(e) = d["error"].as_str() {
                    line.push_str(&format!(" · failed: {e}"));
                }
                if d["job"]["state"] == "dead" {
                    line.push_str(" · gave up");
                }
                line
            }}
            <Show when=move || v()["delivery"]["job"]["state"] == "dead">
                <button data-testid="retry-send" on:click=retry_send>"Retry sending"</button>
            </Show>
        </div>
    }
}
