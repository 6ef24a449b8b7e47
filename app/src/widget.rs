//! The widget's components: the panel, the message list (streaming text, rendered answers with
//! copy buttons, citations, retry, feedback) and the composer.

use std::rc::Rc;

use leptos::prelude::*;
use outpost_protocol::{
    Author, COPY_BUTTON, Citation, ClientFrame, EmbedMessage, Feedback, ServerFrame, codes,
    escape_html,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;

use crate::calls::{history, send_feedback, unavailable, widget_config};
use crate::host;
use crate::strings::{key, t, th};
use crate::transport::{Status, Transport, api_error, fetch, json_field, response_text};

/// Where a message stands.
#[derive(Debug, Clone, PartialEq)]
enum MsgState {
    /// A question not yet acknowledged by the session.
    Pending,
    /// A question stored by the session.
    Sent,
    /// An answer still arriving.
    Streaming,
    /// A complete answer.
    Done,
    /// A failed answer (or a refused question): why.
    Failed(String),
}

/// One message in the list; its parts are signals so that a streaming answer re-renders alone.
#[derive(Clone)]
struct Msg {
    key: String,
    author: Author,
    id: RwSignal<String>,
    text: RwSignal<String>,
    /// The complete answer as markup (rendered answer and its sources), once it is done.
    /// (Empty until then: a plain string is one signal type less in the Wasm.)
    html: RwSignal<String>,
    /// While it streams: its complete blocks, rendered by the server, and how many bytes of
    /// `text` they stand for (the rest shows as plain text).
    partial: RwSignal<String>,
    upto: RwSignal<u32>,
    state: RwSignal<MsgState>,
    /// 0: not rated, 1: helpful, 2: not helpful (a `u32` like the unread count: one signal
    /// type less in the Wasm).
    rated: RwSignal<u32>,
    /// Whether a complete answer cites the documentation (one that does not offers a person).
    cited: RwSignal<bool>,
}

impl Msg {
    fn new(key: String, author: Author, text: String, state: MsgState) -> Msg {
        Msg {
            id: RwSignal::new(key.clone()),
            key,
            author,
            text: RwSignal::new(text),
            html: RwSignal::new(String::new()),
            partial: RwSignal::new(String::new()),
            upto: RwSignal::new(0),
            state: RwSignal::new(state),
            rated: RwSignal::new(0),
            cited: RwSignal::new(true),
        }
    }
}

/// Everything the widget knows once the host has configured it.
#[derive(Clone)]
struct Ctx {
    project: String,
    session: String,
    token: String,
    transport: Transport,
}

fn random_id() -> String {
    (0..4)
        .map(|_| format!("{:08x}", (js_sys::Math::random() * u32::MAX as f64) as u32))
        .collect()
}

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

/// Whether the panel offers a person: only where the project has someone to take over. A
/// `u32` signal (like the unread count): one signal type less in the Wasm than an enum.
type Person = u32;
/// Nobody can take over (or the project turned it off): nothing is offered.
const PERSON_UNAVAILABLE: Person = 0;
/// "Talk to a person" is offered.
const PERSON_OFFERED: Person = 1;
/// The conversation was handed to the team.
const PERSON_HANDED_OFF: Person = 2;

/// Applies a session frame to the message list.
fn apply(
    msgs: RwSignal<Vec<Msg>>,
    open: RwSignal<bool>,
    unread: RwSignal<u32>,
    notice: RwSignal<String>,
    person: RwSignal<Person>,
    frame: ServerFrame,
) {
    let find = |key: &str| {
        msgs.with_untracked(|m| {
            m.iter()
                .find(|x| x.key == key || x.id.get_untracked() == key)
                .cloned()
        })
    };
    match frame {
        ServerFrame::Message {
            id,
            author,
            text,
            html,
            citations,
            client_id,
            ..
        } => {
            if let Some(m) = client_id.as_deref().and_then(find) {
                m.id.set(id);
                m.state.set(MsgState::Sent);
            } else if find(&id).is_none() {
                let m = Msg::new(
                    id,
                    author,
                    text,
                    if author == Author::User {
                        MsgState::Sent
                    } else {
                        MsgState::Done
                    },
                );
                if let Some(h) = html {
                    m.html.set(rendered(&h, &citations));
                }
                msgs.update(|v| v.push(m));
                if author == Author::Operator && !open.get_untracked() {
                    unread.update(|n| *n += 1);
                    host::post(&EmbedMessage::Unread {
                        count: unread.get_untracked(),
                    });
                }
            }
        }
        ServerFrame::Handoff { .. } => person.set(PERSON_HANDED_OFF),
        ServerFrame::AnswerStart { id, .. } => {
            if find(&id).is_none() {
                msgs.update(|v| {
                    v.push(Msg::new(
                        id,
                        Author::Assistant,
                        String::new(),
                        MsgState::Streaming,
                    ))
                });
            }
        }
        ServerFrame::Delta { id, text, .. } => match find(&id) {
            Some(m) => m.text.update(|t| t.push_str(&text)),
            None => {
                msgs.update(|v| v.push(Msg::new(id, Author::Assistant, text, MsgState::Streaming)))
            }
        },
        ServerFrame::Rendered { id, html, upto, .. } => {
            if let Some(m) = find(&id) {
                m.partial.set(html);
                m.upto.set(u32::try_from(upto).unwrap_or(u32::MAX));
            }
        }
        ServerFrame::AnswerEnd {
            id,
            html,
            citations,
            ..
        } => {
            if let Some(m) = find(&id) {
                m.html.set(rendered(&html, &citations));
                m.cited.set(!citations.is_empty());
                m.state.set(MsgState::Done);
            }
            if !open.get_untracked() {
                unread.update(|n| *n += 1);
                host::post(&EmbedMessage::Unread {
                    count: unread.get_untracked(),
                });
            }
        }
        ServerFrame::AnswerError { id, message, .. } => {
            if let Some(m) = find(&id) {
                m.state.set(MsgState::Failed(message));
            }
        }
        ServerFrame::Error { code, message, .. } => {
            if code == codes::HANDOFF_UNAVAILABLE {
                person.set(PERSON_UNAVAILABLE);
            }
            if crate::transport::REFUSED_QUESTION.contains(&code.as_str()) {
                // The last pending question was refused: it can be sent again later.
                let pending = msgs.with_untracked(|v| {
                    v.iter()
                        .rev()
                        .find(|m| m.state.get_untracked() == MsgState::Pending)
                        .cloned()
                });
                if let Some(m) = pending {
                    m.state.set(MsgState::Failed(message.clone()));
                }
            }
            if [
                codes::MISSING_TOKEN,
                codes::INVALID_TOKEN,
                codes::TOKEN_EXPIRED,
                codes::WRONG_PROJECT,
            ]
            .contains(&code.as_str())
            {
                host::post(&EmbedMessage::Error {
                    code,
                    message: message.clone(),
                });
            }
            notice.set(message);
        }
        ServerFrame::Ready { .. } | ServerFrame::Pong => {}
    }
}

/// Finds or creates this visitor's session; returns its id, or the server's error code and
/// message (`token_expired`, `invalid_token`, `wrong_project`, …; `unavailable` when the server
/// cannot be reached).
async fn session_for(project: &str, token: &str, fresh: bool) -> Result<String, (String, String)> {
    let key = format!("outpost:{project}:session");
    if !fresh && let Some(id) = storage().and_then(|s| s.get_item(&key).ok().flatten()) {
        return Ok(id);
    }
    let origin = window().location().origin().unwrap_or_default();
    let resp = fetch(
        "POST",
        &format!("{origin}/v1/projects/{project}/sessions"),
        token,
        None,
        None,
    )
    .await
    .map_err(|_| unavailable())?;
    let text = response_text(&resp).await;
    if !resp.ok() {
        return Err(api_error(&text).unwrap_or_else(unavailable));
    }
    let id = json_field(&text, &["session_id"]).ok_or_else(unavailable)?;
    if let Some(s) = storage() {
        let _ = s.set_item(&key, &id);
    }
    Ok(id)
}

/// The widget.
#[component]
pub fn Widget() -> impl IntoView {
    let msgs: RwSignal<Vec<Msg>> = RwSignal::new(Vec::new());
    let open = RwSignal::new(false);
    let unread = RwSignal::new(0u32);
    let status = RwSignal::new(Status::Connecting);
    let notice: RwSignal<String> = RwSignal::new(String::new());
    let person = RwSignal::new(PERSON_UNAVAILABLE);
    // Plain strings (empty until configured): one signal type less in the Wasm than options.
    let title: RwSignal<String> = RwSignal::new(t(key::TITLE));
    let greeting: RwSignal<String> = RwSignal::new(String::new());
    // The starter questions' buttons, as markup (empty when the project has none).
    let starters: RwSignal<String> = RwSignal::new(String::new());
    let ctx: StoredValue<Option<Ctx>, LocalStorage> = StoredValue::new_local(None);
    let input: NodeRef<leptos::html::Textarea> = NodeRef::new();
    let list: NodeRef<leptos::html::Div> = NodeRef::new();
    // The list's height when it was last scrolled to its end. Read as a plain value (a `u32`
    // signal like the others: no other type in the Wasm), it says whether the visitor has
    // since scrolled up, without a scroll listener.
    let bottom: RwSignal<u32> = RwSignal::new(0);
    // Keeps the newest text in view while an answer streams, unless the visitor scrolled up
    // to read something earlier.
    Effect::new(move |_| {
        msgs.with(|v| {
            if let Some(m) = v.last() {
                m.text.track();
                m.partial.track();
                m.html.track();
                m.state.track();
            }
        });
        let last_is_question =
            msgs.with_untracked(|v| v.last().is_some_and(|m| m.author == Author::User));
        // Once the change is laid out: its height is known then.
        request_animation_frame(move || {
            if let Some(el) = list.get_untracked() {
                let seen = el.scroll_top() + el.client_height();
                if last_is_question || seen + 40 >= bottom.get_untracked() as i32 {
                    el.set_scroll_top(el.scroll_height());
                    bottom.set(el.scroll_height().max(0) as u32);
                }
            }
        });
    });

    // Set once setup starts, so that a token arriving meanwhile does not start a second one.
    let started: StoredValue<bool, LocalStorage> = StoredValue::new_local(false);
    let setup = move |project: String, token: String| {
        if started.get_value() {
            return;
        }
        started.set_value(true);
        leptos::task::spawn_local(async move {
            if let Ok(c) = widget_config(&project).await {
                if let Some(root) = document()
                    .document_element()
                    .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
                {
                    let _ = root.style().set_property("--op-accent", &c.accent);
                }
                host::post(&EmbedMessage::Accent {
                    accent: c.accent.clone(),
                });
                title.set(c.title);
                if c.handoff {
                    person.set(PERSON_OFFERED);
                }
                // The project's greeting for the visitor's language, if it has one.
                let own = t(key::GREETING);
                greeting.set(if own.is_empty() { c.greeting } else { own });
                starters.set(starters_html(&c.starters));
            }
            let mut fresh = false;
            let (session, hist) = loop {
                let session = match session_for(&project, &token, fresh).await {
                    Ok(s) => s,
                    Err((code, message)) => {
                        status.set(Status::Failed(message.clone()));
                        host::post(&EmbedMessage::Error { code, message });
                        return;
                    }
                };
                match history(&project, &session, &token).await {
                    Ok(h) => break (session, h),
                    Err(_) if !fresh => fresh = true, // a session of another visitor, or gone
                    Err((_, message)) => {
                        status.set(Status::Failed(message));
                        return;
                    }
                }
            };
            if !hist.items.is_empty() {
                starters.set(String::new());
            }
            if hist.handed_off {
                person.set(PERSON_HANDED_OFF);
            }
            msgs.set(
                hist.items
                    .into_iter()
                    .map(|h| {
                        let st = if h.author == Author::User {
                            MsgState::Sent
                        } else {
                            MsgState::Done
                        };
                        let m = Msg::new(h.id, h.author, h.text, st);
                        m.cited
                            .set(h.author != Author::Assistant || !h.citations.is_empty());
                        if let Some(html) = h.html {
                            m.html.set(rendered(&html, &h.citations));
                        }
                        m
                    })
                    .collect(),
            );
            let on_frame: Rc<dyn Fn(ServerFrame)> =
                Rc::new(move |f| apply(msgs, open, unread, notice, person, f));
            let on_status: Rc<dyn Fn(Status)> = Rc::new(move |s| {
                if s == Status::Online {
                    notice.set(String::new());
                }
                status.set(s)
            });
            let transport = Transport::start(
                project.clone(),
                session.clone(),
                token.clone(),
                hist.last_seq,
                on_frame,
                on_status,
            );
            // Questions queued before a reload show as pending.
            for f in transport.pending() {
                if let ClientFrame::Ask { client_id, text } = f {
                    msgs.update(|v| {
                        v.push(Msg::new(client_id, Author::User, text, MsgState::Pending))
                    });
                }
            }
            let t = transport.clone();
            let drop_conn = Closure::<dyn Fn()>::new(move || t.drop_connection());
            let _ = js_sys::Reflect::set(
                &window(),
                &"__outpostDropConnection".into(),
                drop_conn.as_ref(),
            );
            drop_conn.forget();
            ctx.set_value(Some(Ctx {
                project,
                session,
                token,
                transport,
            }));
        });
    };

    // The project, once configured, for a site that identifies its visitor later.
    let configured: StoredValue<Option<String>, LocalStorage> = StoredValue::new_local(None);
    host::listen(move |m| match m {
        EmbedMessage::Config {
            project,
            token,
            error,
        } if configured.with_value(Option::is_none) => {
            configured.set_value(Some(project.clone()));
            match token {
                Some(t) => setup(project, t),
                None => status.set(Status::Failed(
                    error.unwrap_or_else(|| t(key::NOT_IDENTIFIED)),
                )),
            }
        }
        EmbedMessage::Identify { token } => match (ctx.get_value(), configured.get_value()) {
            (Some(c), _) => {
                // Ratings use it too.
                ctx.update_value(|c| {
                    if let Some(c) = c {
                        c.token.clone_from(&token);
                    }
                });
                c.transport.set_token(token)
            }
            (None, Some(project)) => setup(project, token),
            (None, None) => {}
        },
        EmbedMessage::Toggle { open: o } => {
            open.set(o);
            if o {
                unread.set(0);
                if let Some(el) = input.get_untracked() {
                    let _ = el.focus();
                }
            }
        }
        _ => {}
    });
    host::post(&EmbedMessage::Ready);

    let close = move || {
        open.set(false);
        host::post(&EmbedMessage::Toggle { open: false });
    };

    let ask = move |text: String| {
        let Some(c) = ctx.get_value() else { return };
        starters.set(String::new());
        let client_id = random_id();
        msgs.update(|v| {
            v.push(Msg::new(
                client_id.clone(),
                Author::User,
                text.clone(),
                MsgState::Pending,
            ))
        });
        c.transport.send(ClientFrame::Ask { client_id, text });
    };
    let submit = move || {
        let Some(el) = input.get_untracked() else {
            return;
        };
        let text = el.value().trim().to_owned();
        if text.is_empty() || ctx.with_value(Option::is_none) {
            return;
        }
        el.set_value("");
        ask(text);
    };

    // Every button of the panel (close, talk to a person, and those inside messages: copy,
    // retry, rating) is served by this one listener, by its `data-action`: far less Wasm than
    // a handler per button.
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(target) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        else {
            return;
        };
        if let Ok(Some(button)) = target.closest(".op-copy") {
            let code = button
                .parent_element()
                .and_then(|p| p.query_selector("code").ok().flatten())
                .and_then(|c| c.text_content());
            if let Some(code) = code {
                let _ = window().navigator().clipboard().write_text(&code);
                button.set_text_content(Some(&t(key::COPIED)));
            }
            return;
        }
        let Ok(Some(button)) = target.closest("[data-action]") else {
            return;
        };
        let action = button.get_attribute("data-action").unwrap_or_default();
        match action.as_str() {
            "close" => return close(),
            "starter" => {
                if let Some(text) = button.text_content() {
                    ask(text);
                }
                return;
            }
            "handoff" => {
                ctx.with_value(|c| {
                    if let Some(c) = c {
                        c.transport.send(ClientFrame::Handoff)
                    }
                });
                return;
            }
            _ => {}
        }
        let key = button
            .closest("[data-key]")
            .ok()
            .flatten()
            .and_then(|li| li.get_attribute("data-key"));
        let Some(m) =
            key.and_then(|k| msgs.with_untracked(|v| v.iter().find(|m| m.key == k).cloned()))
        else {
            return;
        };
        let Some(c) = ctx.get_value() else { return };
        if action == "copy-answer" {
            // The answer as Markdown, as the model wrote it.
            let _ = window()
                .navigator()
                .clipboard()
                .write_text(&m.text.get_untracked());
            button.set_text_content(Some(&t(key::COPIED)));
            return;
        }
        match action.as_str() {
            "retry" if m.author == Author::User => {
                m.state.set(MsgState::Pending);
                c.transport.send(ClientFrame::Ask {
                    client_id: m.key.clone(),
                    text: m.text.get_untracked(),
                });
            }
            "retry" => {
                m.state.set(MsgState::Streaming);
                c.transport.send(ClientFrame::Retry);
            }
            "up" | "down" => {
                let helpful = action == "up";
                m.rated.set(if helpful { 1 } else { 2 });
                let fb = Feedback {
                    message_id: m.id.get_untracked(),
                    helpful,
                    comment: None,
                };
                leptos::task::spawn_local(async move {
                    let _ = send_feedback(&c.project, &c.session, &c.token, &fb).await;
                });
            }
            _ => {}
        }
    };

    let status_text = move || match status.get() {
        Status::Connecting => t(key::CONNECTING),
        Status::Online => notice.get(),
        Status::Reconnecting(s) => t(key::RECONNECTING).replace("{s}", &s.to_string()),
        Status::Failed(why) => why,
    };

    view! {
        <section class="op-panel" role="dialog" aria-labelledby="op-title" data-person=move || person.get().to_string() on:click=on_click on:keydown=move |ev: leptos::ev::KeyboardEvent| {
            let key = ev.key();
            if key == "Escape" {
                close();
            } else if key == "Enter" && !ev.shift_key() && ev.target().is_some_and(|t| t.has_type::<web_sys::HtmlTextAreaElement>()) {
                ev.prevent_default();
                submit();
            }
        }>
            <header class="op-header">
                <h1 id="op-title">{move || title.get()}</h1>
                <button type="button" class="op-close" aria-label=t(key::CLOSE) data-testid="close" data-action="close">"×"</button>
            </header>
            <p class="op-status" role="status" data-testid="status">{status_text}</p>
            <div class="op-messages" node_ref=list role="log" aria-live="polite" aria-label=t(key::CONVERSATION) data-testid="messages">
                <div class="op-msg op-assistant op-greeting">{move || greeting.get()}</div>
                // Rebuilt by position, not keyed: messages are only appended (or all replaced
                // by the history), and a keyed list's diff costs the Wasm several kilobytes.
                {move || msgs.get().into_iter().map(|m| view! { <Message m=m person=person /> }).collect::<Vec<_>>()}
            </div>
            // Emptied once the conversation has started; hidden when empty (CSS `:empty`), as the
            // greeting is until it arrives: cheaper in the Wasm than a `hidden` closure each.
            <div class="op-starters" role="group" aria-label=t(key::SUGGESTED) data-testid="starters"
                inner_html=move || starters.get()></div>
            // Both are always there; the panel's `data-person` shows one or neither (CSS): cheaper
            // in the Wasm than a `Show` or a `hidden` closure each.
            <button type="button" class="op-handoff" data-testid="handoff" data-action="handoff">{t(key::TALK)}</button>
            <p class="op-handoff-note" role="status" data-testid="handoff-notice">{t(key::HANDED_OFF)}</p>
            <form class="op-composer" on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); submit(); }>
                <label for="op-input" class="op-sr">{t(key::YOUR_QUESTION)}</label>
                <textarea id="op-input" node_ref=input rows="1" maxlength="4000" placeholder=t(key::PLACEHOLDER) data-testid="composer"></textarea>
                <button type="submit" class="op-send" aria-label=t(key::SEND) data-testid="send">{t(key::SEND)}</button>
            </form>
        </section>
    }
}

/// The starter questions as buttons (served by the panel's click listener).
fn starters_html(starters: &[String]) -> String {
    starters
        .iter()
        .map(|s| {
            format!(
                "<button type=\"button\" class=\"op-starter\" data-action=\"starter\">{}</button>",
                escape_html(s)
            )
        })
        .collect()
}

/// A complete answer's markup: the server's rendered answer (its code blocks' copy buttons in
/// the visitor's language), then its sources.
fn rendered(html: &str, citations: &[Citation]) -> String {
    let html = html.replace(
        COPY_BUTTON,
        &format!(
            "<div class=\"op-code\"><button type=\"button\" class=\"op-copy\" aria-label=\"{}\">{}</button>",
            th(key::COPY_CODE),
            th(key::COPY)
        ),
    );
    format!(
        "<div class=\"op-md\">{html}</div>{}",
        citations_html(citations)
    )
}

/// The citation list as markup (every value escaped; only http(s) links become links). Built
/// as one string rather than as nested views: a view per element costs the Wasm far more.
fn citations_html(citations: &[Citation]) -> String {
    if citations.is_empty() {
        return String::new();
    }
    let mut out = format!(
        "<ol class=\"op-cites\" aria-label=\"{}\" data-testid=\"citations\">",
        th(key::SOURCES)
    );
    for c in citations {
        let label = escape_html(&format!("[{}] {}", c.n, c.title));
        let place = escape_html(&if c.heading.is_empty() {
            c.path.clone()
        } else {
            format!("{} · {}", c.heading, c.path)
        });
        out.push_str(&format!("<li id=\"cite-{}\">", c.n));
        match c
            .url
            .as_deref()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
        {
            Some(u) => out.push_str(&format!(
                "<a href=\"{}\" target=\"_blank\" rel=\"noopener noreferrer\">{label}</a>",
                escape_html(u)
            )),
            None => out.push_str(&format!("<span>{label}</span>")),
        }
        out.push_str(&format!(
            "<span class=\"op-cite-where\">{place}</span></li>"
        ));
    }
    out.push_str("</ol>");
    out
}

/// What follows a message: a retry button when it failed, rating buttons under a complete
/// answer, and the offer of a person under an answer the documentation did not cover (handled
/// by the list's click listener).
fn footer_html(state: &MsgState, rated: u32, is_answer: bool, offer: bool) -> String {
    let offer = if offer && *state == MsgState::Done {
        format!(
            "<p class=\"op-offer\">{} <button type=\"button\" class=\"op-handoff\" data-action=\"handoff\" data-testid=\"offer-handoff\">{}</button></p>",
            th(key::NOT_WHAT),
            th(key::TALK)
        )
    } else {
        String::new()
    };
    let main = match state {
        MsgState::Failed(why) => format!(
            "<p class=\"op-error\" role=\"alert\">{} <button type=\"button\" class=\"op-retry\" data-action=\"retry\">{}</button></p>",
            escape_html(why),
            th(key::RETRY)
        ),
        MsgState::Done if is_answer => format!(
            "<div class=\"op-rate\" role=\"group\" aria-label=\"{}\">\
             <button type=\"button\" data-action=\"up\" aria-label=\"{}\" aria-pressed=\"{}\">👍</button>\
             <button type=\"button\" data-action=\"down\" aria-label=\"{}\" aria-pressed=\"{}\">👎</button>\
             <button type=\"button\" class=\"op-copy-answer\" data-action=\"copy-answer\" data-testid=\"copy-answer\">{}</button></div>",
            th(key::HELPFUL_Q),
            th(key::HELPFUL),
            rated == 1,
            th(key::NOT_HELPFUL),
            rated == 2,
            th(key::COPY_ANSWER)
        ),
        _ => String::new(),
    };
    format!("{main}{offer}")
}

#[component]
fn Message(m: Msg, person: RwSignal<Person>) -> impl IntoView {
    let class = match m.author {
        Author::User => "op-msg op-user",
        Author::Assistant => "op-msg op-assistant",
        Author::Operator => "op-msg op-operator",
    };
    let state = m.state;
    let data_state = move || match state.get() {
        MsgState::Pending => "pending",
        MsgState::Sent => "sent",
        MsgState::Streaming => "streaming",
        MsgState::Done => "done",
        MsgState::Failed(_) => "failed",
    };
    let (text, html, rated) = (m.text, m.html, m.rated);
    let (partial, upto) = (m.partial, m.upto);
    let is_answer = m.author == Author::Assistant;
    let author = match m.author {
        Author::User => "user",
        Author::Assistant => "assistant",
        Author::Operator => "operator",
    };
    let from_team = m.author == Author::Operator;
    // The body: the server's rendered answer once complete; until then its complete blocks as
    // the server rendered them and the rest of the streamed text, escaped, with a typing
    // indicator while nothing has arrived yet.
    let body = move || match html.get() {
        h if !h.is_empty() => h,
        _ => {
            let t = text.get();
            let done = partial.get();
            let rest = match upto.get() as usize {
                0 => t.as_str(),
                n => t.get(n..).unwrap_or_default(),
            };
            let done = if done.is_empty() {
                done
            } else {
                format!("<div class=\"op-md\">{done}</div>")
            };
            let typing = if state.get() == MsgState::Streaming && t.is_empty() {
                format!(
                    "<span class=\"op-typing\" role=\"img\" aria-label=\"{}\"><i></i><i></i><i></i></span>",
                    th(key::TYPING)
                )
            } else {
                String::new()
            };
            let from = if from_team {
                format!("<span class=\"op-from\">{}</span>", th(key::TEAM))
            } else {
                String::new()
            };
            format!(
                "{from}{done}<div class=\"op-text\">{}</div>{typing}",
                // The block in progress is plain text: its Markdown markers are left out
                // (they show rendered once the block is complete), so none flashes by.
                escape_html(
                    &rest
                        .trim_start_matches('\n')
                        .replace("**", "")
                        .replace('`', "")
                )
            )
        }
    };
    let cited = m.cited;
    let footer = move || {
        let offer = is_answer && !cited.get() && person.get() == PERSON_OFFERED;
        state.with(|s| footer_html(s, rated.get(), is_answer, offer))
    };
    view! {
        // (Not a list: the conversation is a `log`, whose items are not list items.)
        <div class=class data-testid="message" data-key=m.key.clone() data-author=author data-state=data_state
            data-chars=move || text.with(|t| t.chars().count().to_string())>
            <div class="op-body" inner_html=body></div>
            <div inner_html=footer></div>
        </div>
    }
}
