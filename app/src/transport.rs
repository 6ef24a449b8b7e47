//! The session connection: a WebSocket with heartbeat and reconnect (exponential backoff with
//! jitter); if sockets never get through, HTTP streaming (Server-Sent Events read with `fetch`,
//! questions POSTed) with the same frames. Either way the client says the last sequence number
//! it applied and gets exactly the rest; questions wait in a queue (kept in `localStorage`) until
//! the session acknowledges them, and carry a client id so that a resend is stored once.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use outpost_protocol::{ClientFrame, ServerFrame, codes};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CloseEvent, Headers, MessageEvent, Request, RequestInit, WebSocket};

/// Seconds between heartbeats.
const PING_SECS: u64 = 25;
/// First reconnect delay; doubles per failed attempt up to [`MAX_BACKOFF_MS`].
const BASE_BACKOFF_MS: f64 = 500.0;
/// Longest reconnect delay.
const MAX_BACKOFF_MS: f64 = 30_000.0;
/// Socket attempts that never open before switching to HTTP streaming.
const SOCKET_TRIES_BEFORE_FALLBACK: u32 = 3;

/// Error codes after which reconnecting cannot help.
const FATAL: [&str; 5] = [
    codes::MISSING_TOKEN,
    codes::INVALID_TOKEN,
    codes::TOKEN_EXPIRED,
    codes::WRONG_PROJECT,
    codes::NOT_FOUND,
];

/// Codes of a question the server refused: resending it as it is cannot help.
pub const REFUSED_QUESTION: [&str; 4] = [
    codes::RATE_LIMITED,
    codes::TOO_LONG,
    codes::EMPTY_QUESTION,
    codes::DAILY_BUDGET_SPENT,
];

/// What the connection is doing, for the status line.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    /// Connecting for the first time.
    Connecting,
    /// Joined and live.
    Online,
    /// Lost; trying again in this many seconds.
    Reconnecting(u64),
    /// Stopped for good (bad token, unknown session): the reason.
    Failed(String),
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Socket,
    Stream,
}

struct Inner {
    origin: String,
    project: String,
    session: String,
    token: String,
    last_seq: u64,
    outbox: Vec<ClientFrame>,
    ws: Option<WebSocket>,
    closures: Vec<Box<dyn std::any::Any>>,
    ready: bool,
    ever_ready: bool,
    attempts: u32,
    mode: Mode,
    stopped: bool,
    generation: u32,
    on_frame: Rc<dyn Fn(ServerFrame)>,
    on_status: Rc<dyn Fn(Status)>,
}

/// A live connection to one session.
#[derive(Clone)]
pub struct Transport(Rc<RefCell<Inner>>);

fn storage() -> Option<web_sys::Storage> {
    window().local_storage().ok().flatten()
}

fn outbox_key(project: &str, session: &str) -> String {
    format!("outpost:{project}:{session}:outbox")
}

impl Transport {
    /// Connects to `session`, having applied frames up to `after`.
    pub fn start(
        project: String,
        session: String,
        token: String,
        after: u64,
        on_frame: Rc<dyn Fn(ServerFrame)>,
        on_status: Rc<dyn Fn(Status)>,
    ) -> Transport {
        // Stored as the questions' `ask` frames, read with the browser's JSON parser.
        let outbox = storage()
            .and_then(|s| s.get_item(&outbox_key(&project, &session)).ok().flatten())
            .and_then(|j| js_sys::JSON::parse(&j).ok())
            .map(|v| js_sys::Array::from(&v))
            .map(|a| {
                a.iter()
                    .filter_map(|f| {
                        let f = JsFields(f);
                        use outpost_protocol::Fields;
                        Some(ClientFrame::Ask {
                            client_id: f.string("client_id")?,
                            text: f.string("text")?,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let origin = window().location().origin().unwrap_or_default();
        let t = Transport(Rc::new(RefCell::new(Inner {
            origin,
            project,
            session,
            token,
            last_seq: after,
            outbox,
            ws: None,
            closures: Vec::new(),
            ready: false,
            ever_ready: false,
            attempts: 0,
            mode: Mode::Socket,
            stopped: false,
            generation: 0,
            on_frame,
            on_status,
        })));
        (t.0.borrow().on_status)(Status::Connecting);
        t.connect();
        let hb = t.clone();
        let _ = set_interval_with_handle(move || hb.heartbeat(), Duration::from_secs(PING_SECS));
        let online = t.clone();
        std::mem::forget(window_event_listener(leptos::ev::online, move |_| {
            online.reconnect_now()
        }));
        t
    }

    /// Questions sent but not yet acknowledged (shown as pending after a reload).
    pub fn pending(&self) -> Vec<ClientFrame> {
        self.0.borrow().outbox.clone()
    }

    /// Sends a question or a retry. Questions are queued until acknowledged and sent as soon as
    /// the session is reachable.
    pub fn send(&self, frame: ClientFrame) {
        let ready = {
            let mut i = self.0.borrow_mut();
            if matches!(frame, ClientFrame::Ask { .. }) {
                i.outbox.push(frame.clone());
                save_outbox(&i);
            }
            i.ready
        };
        if ready {
            self.transmit(frame);
        }
    }

    /// Replaces the identity token (the host called `Outpost.identify`).
    pub fn set_token(&self, token: String) {
        let was_stopped = {
            let mut i = self.0.borrow_mut();
            i.token = token;
            std::mem::replace(&mut i.stopped, false)
        };
        if was_stopped {
            self.connect();
        }
    }

    /// Drops the connection as a network failure would (used by the end-to-end tests to cut the
    /// connection mid-answer); the usual reconnect follows.
    pub fn drop_connection(&self) {
        let ws = self.0.borrow().ws.clone();
        if let Some(ws) = ws {
            let _ = ws.close();
        }
    }

    fn heartbeat(&self) {
        let i = self.0.borrow();
        if i.ready
            && i.mode == Mode::Socket
            && let Some(ws) = &i.ws
        {
            let _ = ws.send_with_str(r#"{"type":"ping"}"#);
        }
    }

    fn reconnect_now(&self) {
        let idle = {
            let i = self.0.borrow();
            !i.ready && !i.stopped
        };
        if idle {
            self.0.borrow_mut().attempts = 0;
            self.connect();
        }
    }

    fn connect(&self) {
        let (mode, generation) = {
            let mut i = self.0.borrow_mut();
            i.generation += 1;
            if let Some(ws) = i.ws.take() {
                ws.set_onclose(None);
                let _ = ws.close();
            }
            i.closures.clear();
            (i.mode, i.generation)
        };
        match mode {
            Mode::Socket => self.connect_socket(),
            Mode::Stream => {
                let t = self.clone();
                leptos::task::spawn_local(async move { t.run_stream(generation).await });
            }
        }
    }

    fn connect_socket(&self) {
        let url = {
            let i = self.0.borrow();
            format!(
                "{}/v1/projects/{}/sessions/{}/socket",
                i.origin.replacen("http", "ws", 1),
                i.project,
                i.session
            )
        };
        let Ok(ws) = WebSocket::new(&url) else {
            self.lost();
            return;
        };
        let t = self.clone();
        let onopen = Closure::<dyn FnMut()>::new(move || {
            let (hello, ws) = {
                let i = t.0.borrow();
                (
                    ClientFrame::Hello {
                        token: i.token.clone(),
                        after: i.last_seq,
                    },
                    i.ws.clone(),
                )
            };
            if let Some(ws) = ws {
                let _ = ws.send_with_str(&hello.to_json());
            }
        });
        let t = self.clone();
        let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            if let Some(text) = ev.data().as_string()
                && let Ok(frame) = decode_frame(&text)
            {
                t.receive(frame);
            }
        });
        let t = self.clone();
        let onclose = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| t.lost());
        ws.set_onopen(Some(onopen.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
        ws.set_onclose(Some(onclose.as_ref().unchecked_ref()));
        let mut i = self.0.borrow_mut();
        i.ws = Some(ws);
        i.closures = vec![Box::new(onopen), Box::new(onmessage), Box::new(onclose)];
    }

    /// Reads the session's frames over HTTP streaming until the stream ends.
    async fn run_stream(&self, generation: u32) {
        let (url, token, after) = {
            let i = self.0.borrow();
            (
                format!(
                    "{}/v1/projects/{}/sessions/{}/events",
                    i.origin, i.project, i.session
                ),
                i.token.clone(),
                i.last_seq,
            )
        };
        let Ok(resp) = fetch("GET", &url, &token, None, Some(after)).await else {
            self.lost();
            return;
        };
        if !resp.ok() {
            let text = response_text(&resp).await;
            self.api_error(&text);
            self.lost();
            return;
        }
        let Some(body) = resp.body() else {
            self.lost();
            return;
        };
        let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let decoder = web_sys::TextDecoder::new().ok();
        let mut events = crate::sse::SseParser::default();
        loop {
            let Ok(chunk) = JsFuture::from(reader.read()).await else {
                break;
            };
            let done = js_sys::Reflect::get(&chunk, &"done".into())
                .ok()
                .and_then(|d| d.as_bool())
                .unwrap_or(true);
            if done || self.0.borrow().generation != generation {
                break;
            }
            let Ok(value) = js_sys::Reflect::get(&chunk, &"value".into()) else {
                break;
            };
            let bytes = js_sys::Uint8Array::new(&value);
            // `stream: true` keeps a character split across two chunks whole.
            let opts = web_sys::TextDecodeOptions::new();
            opts.set_stream(true);
            let text = decoder
                .as_ref()
                .and_then(|d| d.decode_with_buffer_source_and_options(&bytes, &opts).ok())
                .unwrap_or_default();
            for data in events.push(&text) {
                if let Ok(frame) = decode_frame(&data) {
                    self.receive(frame);
                }
            }
        }
        if self.0.borrow().generation == generation {
            self.lost();
        }
    }

    fn api_error(&self, body: &str) {
        if let Some((code, message)) = api_error(body) {
            let on_frame = self.0.borrow().on_frame.clone();
            self.handle_fatal(&code, &message);
            on_frame(ServerFrame::Error {
                code,
                message,
                retry_after: None,
            });
        }
    }

    fn handle_fatal(&self, code: &str, message: &str) {
        if FATAL.contains(&code) {
            let on_status = {
                let mut i = self.0.borrow_mut();
                i.stopped = true;
                i.on_status.clone()
            };
            on_status(Status::Failed(message.to_owned()));
        }
    }

    fn receive(&self, frame: ServerFrame) {
        let mut flush = Vec::new();
        let (on_frame, on_status) = {
            let mut i = self.0.borrow_mut();
            if let Some(seq) = frame.seq() {
                if seq <= i.last_seq {
                    return; // already applied
                }
                i.last_seq = seq;
            }
            if let ServerFrame::Message {
                client_id: Some(c), ..
            } = &frame
            {
                i.outbox
                    .retain(|f| !matches!(f, ClientFrame::Ask { client_id, .. } if client_id == c));
                save_outbox(&i);
            }
            if let ServerFrame::Ready { .. } = frame {
                i.ready = true;
                i.ever_ready = true;
                i.attempts = 0;
                flush = i.outbox.clone();
            }
            (i.on_frame.clone(), i.on_status.clone())
        };
        match &frame {
            ServerFrame::Ready { .. } => on_status(Status::Online),
            ServerFrame::Error { code, message, .. } => {
                self.handle_fatal(code, message);
                // A refused question will not be acknowledged: stop resending it.
                if REFUSED_QUESTION.contains(&code.as_str()) {
                    let mut i = self.0.borrow_mut();
                    i.outbox.clear();
                    save_outbox(&i);
                }
            }
            _ => {}
        }
        on_frame(frame);
        for f in flush {
            self.transmit(f);
        }
    }

    fn transmit(&self, frame: ClientFrame) {
        let text = frame.to_json();
        let (mode, ws, url, token) = {
            let i = self.0.borrow();
            (
                i.mode,
                i.ws.clone(),
                format!(
                    "{}/v1/projects/{}/sessions/{}/messages",
                    i.origin, i.project, i.session
                ),
                i.token.clone(),
            )
        };
        match mode {
            Mode::Socket => {
                if let Some(ws) = ws {
                    let _ = ws.send_with_str(&text);
                }
            }
            Mode::Stream => {
                let t = self.clone();
                leptos::task::spawn_local(async move {
                    match fetch("POST", &url, &token, Some(&text), None).await {
                        Ok(resp) if !resp.ok() => {
                            let body = response_text(&resp).await;
                            if let Some((code, message)) = api_error(&body) {
                                let retry_after = resp
                                    .headers()
                                    .get("retry-after")
                                    .ok()
                                    .flatten()
                                    .and_then(|v| v.parse().ok());
                                t.receive(ServerFrame::Error {
                                    code,
                                    message,
                                    retry_after,
                                });
                            }
                        }
                        Ok(_) => {}
                        Err(_) => t.lost(),
                    }
                });
            }
        }
    }

    /// The connection is gone: back off and try again, or fall back to HTTP streaming.
    fn lost(&self) {
        let (delay, status) = {
            let mut i = self.0.borrow_mut();
            i.ready = false;
            i.ws = None;
            if i.stopped {
                return;
            }
            i.attempts += 1;
            if i.mode == Mode::Socket && !i.ever_ready && i.attempts >= SOCKET_TRIES_BEFORE_FALLBACK
            {
                i.mode = Mode::Stream;
                i.attempts = 0;
            }
            let exp = BASE_BACKOFF_MS * 2f64.powi(i.attempts.saturating_sub(1).min(10) as i32);
            // Full jitter on the upper half: clients that lost the same server spread out.
            let delay = exp.min(MAX_BACKOFF_MS) * (0.5 + js_sys::Math::random() * 0.5);
            (delay, i.on_status.clone())
        };
        status(Status::Reconnecting((delay / 1000.0).ceil() as u64));
        let t = self.clone();
        set_timeout(move || t.connect(), Duration::from_millis(delay as u64));
    }
}

fn save_outbox(i: &Inner) {
    let asks: Vec<String> = i
        .outbox
        .iter()
        .filter(|f| matches!(f, ClientFrame::Ask { .. }))
        .map(ClientFrame::to_json)
        .collect();
    let j = format!("[{}]", asks.join(","));
    if let Some(s) = storage() {
        let key = outbox_key(&i.project, &i.session);
        let _ = if i.outbox.is_empty() {
            s.remove_item(&key)
        } else {
            s.set_item(&key, &j)
        };
    }
}

/// A `fetch` with the identity token; `after` becomes `Last-Event-ID`.
pub async fn fetch(
    method: &str,
    url: &str,
    token: &str,
    body: Option<&str>,
    after: Option<u64>,
) -> Result<web_sys::Response, String> {
    let init = RequestInit::new();
    init.set_method(method);
    let headers = Headers::new().map_err(|_| "headers")?;
    if !token.is_empty() {
        let _ = headers.set("authorization", &format!("Bearer {token}"));
    }
    if let Some(b) = body {
        let _ = headers.set("content-type", "application/json");
        init.set_body(&b.into());
    }
    if let Some(a) = after {
        let _ = headers.set("last-event-id", &a.to_string());
    }
    init.set_headers(&headers);
    let req = Request::new_with_str_and_init(url, &init).map_err(|_| "request")?;
    let resp = JsFuture::from(window().fetch_with_request(&req))
        .await
        .map_err(|_| "network")?;
    resp.dyn_into::<web_sys::Response>()
        .map_err(|_| "response".into())
}

/// A parsed JSON object's fields, read through the browser (see `outpost_protocol::Fields`).
pub struct JsFields(pub wasm_bindgen::JsValue);

impl outpost_protocol::Fields for JsFields {
    fn string(&self, key: &str) -> Option<String> {
        js_sys::Reflect::get(&self.0, &key.into()).ok()?.as_string()
    }
    fn number(&self, key: &str) -> Option<u64> {
        let n = js_sys::Reflect::get(&self.0, &key.into()).ok()?.as_f64()?;
        (n >= 0.0 && n.fract() == 0.0 && n < 9.0e15).then_some(n as u64)
    }
    fn boolean(&self, key: &str) -> Option<bool> {
        js_sys::Reflect::get(&self.0, &key.into()).ok()?.as_bool()
    }
    fn strings(&self, key: &str) -> Vec<String> {
        self.list(key)
            .into_iter()
            .filter_map(|v| v.0.as_string())
            .collect()
    }
    fn list(&self, key: &str) -> Vec<JsFields> {
        js_sys::Reflect::get(&self.0, &key.into())
            .ok()
            .filter(js_sys::Array::is_array)
            .map(|v| js_sys::Array::from(&v).iter().map(JsFields).collect())
            .unwrap_or_default()
    }
}

/// Decodes a server frame with the browser's JSON parser.
fn decode_frame(text: &str) -> Result<ServerFrame, String> {
    let v = js_sys::JSON::parse(text).map_err(|_| "not JSON".to_owned())?;
    ServerFrame::from_fields(&JsFields(v))
}

/// Reads `key` of a JSON text with the browser's parser (no serde code in the Wasm for it).
pub fn json_field(text: &str, path: &[&str]) -> Option<String> {
    let mut v = js_sys::JSON::parse(text).ok()?;
    for key in path {
        v = js_sys::Reflect::get(&v, &(*key).into()).ok()?;
    }
    v.as_string()
}

/// The `(code, message)` of an `{"error": {"code", "message"}}` body (`outpost_protocol::ApiError`).
pub fn api_error(text: &str) -> Option<(String, String)> {
    Some((
        json_field(text, &["error", "code"])?,
        json_field(text, &["error", "message"])?,
    ))
}

pub use crate::net::response_text;
