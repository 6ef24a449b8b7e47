//! The session hub over `ChatSession` Durable Objects: every call is a request to the
//! session's object (named by the session id), made from the Worker after it has checked the
//! visitor's token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use futures::StreamExt;
use outpost_protocol::ServerFrame;
use worker::send::{SendFuture, SendWrapper};
use worker::{Env, Headers, Method, Request, RequestInit, WebSocket, WebsocketEvent};

use super::calls::{CALL_HEADER, SessionCall};
use crate::chat::{HubError, SessionHub, Subscription};
use crate::session::store::SessionOwner;
use crate::session::{ConnId, Input};

/// The binding of the `ChatSession` namespace.
pub const BINDING: &str = "CHAT_SESSION";
/// The header naming the session on internal calls.
pub const SESSION_HEADER: &str = "x-outpost-session";

/// Whether `id` looks like a session id (32 hex digits): anything else never reaches an
/// object, so junk ids cannot create objects.
pub fn is_session_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Sessions as Durable Objects.
pub struct DoHub {
    env: SendWrapper<Env>,
    subscriptions: Mutex<HashMap<ConnId, SendWrapper<WebSocket>>>,
    next: AtomicU64,
}

impl DoHub {
    /// The hub over the Worker's `CHAT_SESSION` binding.
    pub fn new(env: Env) -> Self {
        DoHub {
            env: SendWrapper(env),
            subscriptions: Mutex::new(HashMap::new()),
            next: AtomicU64::new(1),
        }
    }
}

fn storage(e: impl std::fmt::Display) -> HubError {
    HubError::Storage(e.to_string())
}

/// Makes `call` on `session`'s object.
///
/// # Errors
/// [`HubError`] when the object cannot be reached or answers 404.
pub async fn call(
    env: &Env,
    session: &str,
    call: &SessionCall,
) -> Result<worker::Response, HubError> {
    if !is_session_id(session) {
        return Err(HubError::NotFound);
    }
    let stub = env
        .durable_object(BINDING)
        .and_then(|ns| ns.get_by_name(session))
        .map_err(storage)?;
    let json = serde_json::to_string(call).map_err(storage)?;
    let h = Headers::new();
    h.set(SESSION_HEADER, session).map_err(storage)?;
    let mut init = RequestInit::new();
    if call.upgrades() {
        h.set("upgrade", "websocket").map_err(storage)?;
        h.set(CALL_HEADER, &json).map_err(storage)?;
        init.with_method(Method::Get);
    } else {
        init.with_method(Method::Post).with_body(Some(json.into()));
    }
    init.with_headers(h);
    let req = Request::new_with_init("https://session/", &init).map_err(storage)?;
    let resp = stub.fetch_with_request(req).await.map_err(storage)?;
    match resp.status_code() {
        404 => Err(HubError::NotFound),
        s if s >= 400 => Err(HubError::Storage(format!("session object answered {s}"))),
        _ => Ok(resp),
    }
}

async fn json<T: serde::de::DeserializeOwned>(
    r: Result<worker::Response, HubError>,
) -> Result<T, HubError> {
    r?.json().await.map_err(storage)
}

#[async_trait]
impl SessionHub for DoHub {
    async fn create(&self, id: &str, owner: SessionOwner) -> Result<(), HubError> {
        SendFuture::new(async {
            call(&self.env, id, &SessionCall::Create { owner }).await?;
            Ok(())
        })
        .await
    }

    async fn owner(&self, session: &str) -> Result<Option<SessionOwner>, HubError> {
        if !is_session_id(session) {
            return Ok(None);
        }
        SendFuture::new(async { json(call(&self.env, session, &SessionCall::Owner).await).await })
            .await
    }

    async fn join(&self, session: &str, after: u64) -> Result<Subscription, HubError> {
        SendFuture::new(async {
            let resp = call(&self.env, session, &SessionCall::Subscribe { after }).await?;
            let ws = resp
                .websocket()
                .ok_or_else(|| HubError::Storage("the session object did not upgrade".into()))?;
            ws.accept().map_err(storage)?;
            let (tx, frames) = crate::chat::queue::queue(crate::chat::queue::SOCKET_QUEUE_BYTES);
            let conn = self.next.fetch_add(1, Ordering::Relaxed);
            self.subscriptions
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(conn, SendWrapper(ws.clone()));
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(mut events) = ws.events() {
                    while let Some(ev) = events.next().await {
                        match ev {
                            Ok(WebsocketEvent::Message(m)) => {
                                let Some(text) = m.text() else { continue };
                                let Ok(frame) = serde_json::from_str::<ServerFrame>(&text) else {
                                    continue;
                                };
                                // A reader too far behind is let go; it resumes by seq.
                                if !tx.try_send(&frame) {
                                    break;
                                }
                            }
                            Ok(WebsocketEvent::Close(_)) | Err(_) => break,
                        }
                    }
                }
                let _ = ws.close(Some(1000), Some("done"));
            });
            Ok(Subscription { conn, frames })
        })
        .await
    }

    async fn input(&self, session: &str, input: Input) -> Result<Vec<ServerFrame>, HubError> {
        SendFuture::new(async {
            json(call(&self.env, session, &SessionCall::Input { input }).await).await
        })
        .await
    }

    fn leave(&self, _session: &str, conn: ConnId) {
        if let Some(ws) = self
            .subscriptions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&conn)
        {
            let _ = ws.close(Some(1000), Some("left"));
        }
    }

    async fn feedback(
        &self,
        session: &str,
        feedback: outpost_protocol::Feedback,
    ) -> Result<(), HubError> {
        SendFuture::new(async {
            call(&self.env, session, &SessionCall::Feedback { feedback }).await?;
            Ok(())
        })
        .await
    }

    async fn history(&self, session: &str) -> Result<Vec<ServerFrame>, HubError> {
        SendFuture::new(async { json(call(&self.env, session, &SessionCall::History).await).await })
            .await
    }
}
