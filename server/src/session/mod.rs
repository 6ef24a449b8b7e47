//! The chat session as logic without I/O: a state machine that takes [`Input`]s and returns
//! [`Effect`]s. The native actor ([`crate::platform::native::hub`]) and, on Workers, the
//! `ChatSession` Durable Object both drive it; neither holds conversation logic of its own.
//!
//! Guarantees it gives its driver, provided the driver carries out effects in order:
//! - a frame is [`Effect::Persist`]ed before it is sent anywhere, so an acknowledged question is
//!   stored, and whatever a client saw survives a restart;
//! - every conversation frame has the next sequence number; a socket that joins with `after = n`
//!   gets exactly the frames after `n` (earlier whole answers compacted), then the live ones;
//! - a question resent with the same `client_id` is stored and answered once.
//!
//! # Layout
//! - [`store`]: sessions and their frames in SQL.

pub mod ids;
pub mod store;

use std::collections::{HashMap, VecDeque};

use outpost_protocol::{Author, Citation, MAX_QUESTION_CHARS, ServerFrame, codes};

use crate::providers::{Message, Role};

/// A socket's id within its session's driver.
pub type ConnId = u64;

/// The longest `client_id` accepted.
pub const MAX_CLIENT_ID_CHARS: usize = 64;

/// What happens to a session. Serializable: on Workers, inputs travel from the Worker to the
/// session's Durable Object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Input {
    /// A socket joins, having seen frames up to `after`.
    Join {
        /// The socket.
        conn: ConnId,
        /// The last sequence number it has seen.
        after: u64,
    },
    /// A visitor asks.
    Ask {
        /// The socket it came from (`None` for the HTTP fallback).
        conn: Option<ConnId>,
        /// The client's message id.
        client_id: String,
        /// The question.
        text: String,
    },
    /// A visitor asks for the last failed answer again.
    Retry {
        /// The socket it came from.
        conn: Option<ConnId>,
    },
    /// The model produced the next piece of an answer.
    Token {
        /// The answer.
        answer_id: String,
        /// The piece.
        text: String,
        /// When this piece completes Markdown blocks: the text so far up to their end,
        /// rendered, and that end (bytes).
        rendered: Option<(String, u64)>,
    },
    /// The model finished an answer.
    Finished {
        /// The answer.
        answer_id: String,
        /// The whole answer rendered to sanitized HTML.
        html: String,
        /// Its sources.
        citations: Vec<Citation>,
    },
    /// The model failed.
    Failed {
        /// The answer.
        answer_id: String,
        /// Machine-readable cause.
        code: String,
        /// A sentence for the visitor.
        message: String,
    },
    /// The visitor asks for a person.
    Handoff {
        /// The socket it came from (`None` for the HTTP fallback).
        conn: Option<ConnId>,
    },
    /// A person of the team answers (from the communicator's console).
    Operator {
        /// The reply's id in the communicator: a reply delivered twice is shown once.
        id: String,
        /// The reply.
        text: String,
    },
}

/// A message of the conversation handed to the team.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HandoffMessage {
    /// Its id in the session (stable: handing it over twice stores it once).
    pub id: String,
    /// Who wrote it.
    pub author: Author,
    /// What it says.
    pub text: String,
}

/// What the driver must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Store the frame durably (before any later effect).
    Persist(ServerFrame),
    /// Send the frame to one socket.
    Send {
        /// The socket (`None`: the HTTP caller, which gets it in its response).
        conn: Option<ConnId>,
        /// The frame.
        frame: ServerFrame,
    },
    /// Send the frame to every socket of the session.
    Broadcast(ServerFrame),
    /// Hand these messages to the team's inbox (the whole conversation when the visitor asks
    /// for a person; each later question after that).
    Handoff {
        /// The messages, oldest first.
        messages: Vec<HandoffMessage>,
    },
    /// Start generating an answer (retrieve, prompt, stream); feed back `Token`, then
    /// `Finished` or `Failed`.
    Generate {
        /// The answer's id.
        answer_id: String,
        /// The question.
        question: String,
        /// The conversation before the question, oldest first.
        history: Vec<Message>,
    },
}

#[derive(Debug, Clone)]
struct InFlight {
    answer_id: String,
    question: String,
    text: String,
}

/// One chat session's state.
#[derive(Debug)]
pub struct Session {
    id: String,
    log: Vec<ServerFrame>,
    client_ids: HashMap<String, usize>,
    history: Vec<Message>,
    in_flight: Option<InFlight>,
    queue: VecDeque<String>,
    last_failed: Option<String>,
    /// Whether the visitor asked for a person (questions then go to the team).
    handed_off: bool,
}

/// The most messages a handoff carries (the latest).
pub const MAX_HANDOFF_MESSAGES: usize = 200;

/// The longest reply an operator may send.
pub const MAX_OPERATOR_CHARS: usize = 20_000;

fn error(code: &str, message: &str) -> ServerFrame {
    ServerFrame::Error {
        code: code.into(),
        message: message.into(),
        retry_after: None,
    }
}

impl Session {
    /// A new, empty session.
    pub fn new(id: impl Into<String>) -> Self {
        Session {
            id: id.into(),
            log: Vec::new(),
            client_ids: HashMap::new(),
            history: Vec::new(),
            in_flight: None,
            queue: VecDeque::new(),
            last_failed: None,
            handed_off: false,
        }
    }

    /// Whether the visitor asked for a person.
    pub fn is_handed_off(&self) -> bool {
        self.handed_off
    }

    /// Rebuilds a session from its stored frames (in `seq` order). An answer that was still
    /// streaming when the process stopped is closed with an `interrupted` error, returned as
    /// effects to carry out.
    pub fn restore(id: impl Into<String>, frames: Vec<ServerFrame>) -> (Self, Vec<Effect>) {
        let mut s = Session::new(id);
        for f in frames {
            s.absorb(&f);
            s.log.push(f);
        }
        let mut effects = Vec::new();
        if let Some(f) = s.in_flight.take() {
            let frame = ServerFrame::AnswerError {
                seq: s.next_seq(),
                id: f.answer_id,
                code: codes::INTERRUPTED.into(),
                message: "The answer was interrupted. You can ask again.".into(),
            };
            s.last_failed = Some(f.question);
            s.push(frame, &mut effects);
        }
        // Questions stored but not yet started when the process stopped.
        s.start_next(&mut effects);
        (s, effects)
    }

    /// The session's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The last sequence number (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.log.last().and_then(ServerFrame::seq).unwrap_or(0)
    }

    /// Whether an answer is being generated.
    pub fn is_answering(&self) -> bool {
        self.in_flight.is_some()
    }

    /// The conversation's messages, for the history call.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    fn next_seq(&self) -> u64 {
        self.last_seq() + 1
    }

    /// Updates the derived state (history, dedupe, in-flight answer) for a logged frame.
    fn absorb(&mut self, f: &ServerFrame) {
        match f {
            ServerFrame::Message {
                author,
                text,
                client_id,
                ..
            } => {
                if let Some(c) = client_id {
                    self.client_ids.insert(c.clone(), self.log.len());
                }
                let role = if *author == Author::User {
                    // After a handoff the team answers: the question joins the history.
                    Role::User
                } else {
                    Role::Assistant
                };
                if *author == Author::User && !self.handed_off {
                    self.queue.push_back(text.clone());
                } else {
                    self.history.push(Message {
                        role,
                        content: text.clone(),
                    });
                }
            }
            ServerFrame::AnswerStart { id, .. } => {
                let question = self.queue.pop_front().unwrap_or_default();
                self.history.push(Message {
                    role: Role::User,
                    content: question.clone(),
                });
                self.in_flight = Some(InFlight {
                    answer_id: id.clone(),
                    question,
                    text: String::new(),
                });
            }
            ServerFrame::Delta { text, .. } => {
                if let Some(f) = self.in_flight.as_mut() {
                    f.text.push_str(text);
                }
            }
            ServerFrame::AnswerEnd { .. } => {
                if let Some(f) = self.in_flight.take() {
                    self.history.push(Message {
                        role: Role::Assistant,
                        content: f.text,
                    });
                }
                self.last_failed = None;
            }
            ServerFrame::AnswerError { .. } => {
                if let Some(f) = self.in_flight.take() {
                    if !f.text.is_empty() {
                        self.history.push(Message {
                            role: Role::Assistant,
                            content: f.text,
                        });
                    }
                    self.last_failed = Some(f.question);
                }
            }
            ServerFrame::Handoff { .. } => self.handed_off = true,
            ServerFrame::Rendered { .. }
            | ServerFrame::Ready { .. }
            | ServerFrame::Error { .. }
            | ServerFrame::Pong => {}
        }
    }

    /// The conversation as messages for the team, from the log (ids are the session's own, so
    /// the inbox stores each once): the visitor's questions, the assistant's answers (as far as
    /// they got), and the request itself; not the team's own replies. Every handoff carries the
    /// whole of it (the last [`MAX_HANDOFF_MESSAGES`]): deliveries may arrive in any order, and
    /// whichever comes first stores the conversation in order.
    fn transcript(&self) -> Vec<HandoffMessage> {
        let mut out = Vec::new();
        let mut answer: Option<(String, String)> = None;
        let close = |answer: &mut Option<(String, String)>, out: &mut Vec<HandoffMessage>| {
            if let Some((id, text)) = answer.take()
                && !text.is_empty()
            {
                out.push(HandoffMessage {
                    id,
                    author: Author::Assistant,
                    text,
                });
            }
        };
        for f in &self.log {
            match f {
                ServerFrame::Message {
                    id, author, text, ..
                } if *author != Author::Operator => out.push(HandoffMessage {
                    id: id.clone(),
                    author: *author,
                    text: text.clone(),
                }),
                ServerFrame::AnswerStart { id, .. } => {
                    close(&mut answer, &mut out);
                    answer = Some((id.clone(), String::new()));
                }
                ServerFrame::Delta { text, .. } => {
                    if let Some((_, t)) = answer.as_mut() {
                        t.push_str(text);
                    }
                }
                ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. } => {
                    close(&mut answer, &mut out);
                }
                ServerFrame::Handoff { seq } => out.push(HandoffMessage {
                    id: format!("handoff{seq}"),
                    author: Author::User,
                    text: "(The visitor asked to talk to a person.)".into(),
                }),
                _ => {}
            }
        }
        close(&mut answer, &mut out);
        let skip = out.len().saturating_sub(MAX_HANDOFF_MESSAGES);
        out.split_off(skip)
    }

    fn push(&mut self, frame: ServerFrame, effects: &mut Vec<Effect>) {
        self.absorb(&frame);
        effects.push(Effect::Persist(frame.clone()));
        effects.push(Effect::Broadcast(frame.clone()));
        self.log.push(frame);
    }

    /// Starts the next queued question, if none is being answered.
    fn start_next(&mut self, effects: &mut Vec<Effect>) {
        if self.in_flight.is_some() || self.queue.is_empty() {
            return;
        }
        let seq = self.next_seq();
        let answer_id = format!("a{seq}");
        let history = self.history.clone();
        self.push(
            ServerFrame::AnswerStart {
                seq,
                id: answer_id.clone(),
            },
            effects,
        );
        let question = self
            .in_flight
            .as_ref()
            .map(|f| f.question.clone())
            .unwrap_or_default();
        effects.push(Effect::Generate {
            answer_id,
            question,
            history,
        });
    }

    /// Whether `answer_id` is the answer being generated (inputs for any other are stale).
    fn is_current(&self, answer_id: &str) -> bool {
        self.in_flight
            .as_ref()
            .is_some_and(|f| f.answer_id == answer_id)
    }

    /// Logs the frame that ends the current answer and starts the next queued question.
    fn end_answer(&mut self, frame: ServerFrame, effects: &mut Vec<Effect>) {
        self.push(frame, effects);
        self.start_next(effects);
    }

    /// Applies an input; returns the effects to carry out, in order.
    pub fn apply(&mut self, input: Input) -> Vec<Effect> {
        let mut effects = Vec::new();
        match input {
            Input::Join { conn, after } => {
                effects.push(Effect::Send {
                    conn: Some(conn),
                    frame: ServerFrame::Ready {
                        session_id: self.id.clone(),
                        last_seq: self.last_seq(),
                    },
                });
                for frame in self.replay(after) {
                    effects.push(Effect::Send {
                        conn: Some(conn),
                        frame,
                    });
                }
            }
            Input::Ask {
                conn,
                client_id,
                text,
            } => {
                let text = text.trim().to_owned();
                if client_id.is_empty() || client_id.chars().count() > MAX_CLIENT_ID_CHARS {
                    effects.push(Effect::Send {
                        conn,
                        frame: error("bad_frame", "client_id must be 1 to 64 characters"),
                    });
                } else if text.is_empty() {
                    effects.push(Effect::Send {
                        conn,
                        frame: error(codes::EMPTY_QUESTION, "The question is empty."),
                    });
                } else if text.chars().count() > MAX_QUESTION_CHARS {
                    let msg = format!(
                        "The question is too long (at most {MAX_QUESTION_CHARS} characters)."
                    );
                    effects.push(Effect::Send {
                        conn,
                        frame: error(codes::TOO_LONG, &msg),
                    });
                } else if let Some(&i) = self.client_ids.get(&client_id) {
                    // Already stored: acknowledge again, store and answer nothing twice.
                    effects.push(Effect::Send {
                        conn,
                        frame: self.log[i].clone(),
                    });
                } else {
                    let seq = self.next_seq();
                    let frame = ServerFrame::Message {
                        seq,
                        id: format!("m{seq}"),
                        author: Author::User,
                        text,
                        html: None,
                        citations: vec![],
                        client_id: Some(client_id),
                    };
                    let handed_off = self.handed_off;
                    self.push(frame, &mut effects);
                    if handed_off {
                        effects.push(Effect::Handoff {
                            messages: self.transcript(),
                        });
                    } else {
                        self.start_next(&mut effects);
                    }
                }
            }
            Input::Handoff { conn } => {
                if self.handed_off {
                    effects.push(Effect::Send {
                        conn,
                        frame: error(
                            "already_handed_off",
                            "The team already has this conversation.",
                        ),
                    });
                } else {
                    let seq = self.next_seq();
                    self.push(ServerFrame::Handoff { seq }, &mut effects);
                    effects.push(Effect::Handoff {
                        messages: self.transcript(),
                    });
                }
            }
            Input::Operator { id, text } => {
                let key = format!("operator:{id}");
                let text = text.trim().to_owned();
                if let Some(&i) = self.client_ids.get(&key) {
                    effects.push(Effect::Send {
                        conn: None,
                        frame: self.log[i].clone(),
                    });
                } else if text.is_empty() || text.chars().count() > MAX_OPERATOR_CHARS {
                    effects.push(Effect::Send {
                        conn: None,
                        frame: error("bad_reply", "A reply has 1 to 20,000 characters."),
                    });
                } else {
                    let seq = self.next_seq();
                    let frame = ServerFrame::Message {
                        seq,
                        id: format!("o{seq}"),
                        author: Author::Operator,
                        text,
                        html: None,
                        citations: vec![],
                        client_id: Some(key),
                    };
                    self.push(frame.clone(), &mut effects);
                    effects.push(Effect::Send { conn: None, frame });
                }
            }
            Input::Retry { conn } => match self.last_failed.take() {
                Some(q) if self.in_flight.is_none() => {
                    self.queue.push_front(q);
                    self.start_next(&mut effects);
                }
                other => {
                    self.last_failed = other;
                    effects.push(Effect::Send {
                        conn,
                        frame: error(
                            codes::NOTHING_TO_RETRY,
                            "There is no failed answer to retry.",
                        ),
                    });
                }
            },
            Input::Token {
                answer_id,
                text,
                rendered,
            } => {
                if self.is_current(&answer_id) && !text.is_empty() {
                    let seq = self.next_seq();
                    self.push(
                        ServerFrame::Delta {
                            seq,
                            id: answer_id.clone(),
                            text,
                        },
                        &mut effects,
                    );
                    if let Some((html, upto)) = rendered {
                        let seq = self.next_seq();
                        self.push(
                            ServerFrame::Rendered {
                                seq,
                                id: answer_id,
                                html,
                                upto,
                            },
                            &mut effects,
                        );
                    }
                }
            }
            Input::Finished {
                answer_id,
                html,
                citations,
            } => {
                if self.is_current(&answer_id) {
                    let seq = self.next_seq();
                    self.end_answer(
                        ServerFrame::AnswerEnd {
                            seq,
                            id: answer_id,
                            html,
                            citations,
                        },
                        &mut effects,
                    );
                }
            }
            Input::Failed {
                answer_id,
                code,
                message,
            } => {
                if self.is_current(&answer_id) {
                    let seq = self.next_seq();
                    self.end_answer(
                        ServerFrame::AnswerError {
                            seq,
                            id: answer_id,
                            code,
                            message,
                        },
                        &mut effects,
                    );
                }
            }
        }
        effects
    }

    /// The frames after `after`, with every answer that lies wholly after it compacted to its
    /// start, one delta holding all its text, its latest rendering, and its end: the same text,
    /// in far fewer frames.
    pub fn replay(&self, after: u64) -> Vec<ServerFrame> {
        let mut out = Vec::new();
        let mut pending: Option<Pending> = None;
        for f in self
            .log
            .iter()
            .filter(|f| f.seq().is_some_and(|s| s > after))
        {
            match (f, pending.as_mut()) {
                (ServerFrame::AnswerStart { .. }, _) => {
                    pending = Some(Pending {
                        start: f.clone(),
                        text: String::new(),
                        last: 0,
                        rendered: None,
                    })
                }
                (ServerFrame::Delta { seq, text, .. }, Some(p)) => {
                    p.text.push_str(text);
                    p.last = *seq;
                }
                (ServerFrame::Rendered { .. }, Some(p)) => p.rendered = Some(f.clone()),
                (ServerFrame::AnswerEnd { .. } | ServerFrame::AnswerError { .. }, Some(_)) => {
                    if let Some(p) = pending.take() {
                        p.flush(&mut out);
                    }
                    out.push(f.clone());
                }
                _ => out.push(f.clone()),
            }
        }
        // An answer still streaming: what it has so far, then live deltas follow.
        if let Some(p) = pending.take() {
            p.flush(&mut out);
        }
        out
    }
}

/// An answer being compacted by [`Session::replay`].
struct Pending {
    start: ServerFrame,
    text: String,
    /// The sequence number of its last delta.
    last: u64,
    /// Its latest rendering.
    rendered: Option<ServerFrame>,
}

impl Pending {
    /// The start, then the text as one delta and the latest rendering, in sequence order.
    fn flush(self, out: &mut Vec<ServerFrame>) {
        let id = match &self.start {
            ServerFrame::AnswerStart { id, .. } => id.clone(),
            _ => String::new(),
        };
        out.push(self.start);
        let mut rest = Vec::new();
        if self.last > 0 {
            rest.push(ServerFrame::Delta {
                seq: self.last,
                id,
                text: self.text,
            });
        }
        rest.extend(self.rendered);
        rest.sort_by_key(ServerFrame::seq);
        out.extend(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(s: &mut Session, conn: ConnId, client_id: &str, text: &str) -> Vec<Effect> {
        s.apply(Input::Ask {
            conn: Some(conn),
            client_id: client_id.into(),
            text: text.into(),
        })
    }

    fn persisted(effects: &[Effect]) -> Vec<ServerFrame> {
        effects
            .iter()
            .filter_map(|e| {
                if let Effect::Persist(f) = e {
                    Some(f.clone())
                } else {
                    None
                }
            })
            .collect()
    }

    fn answer_id(effects: &[Effect]) -> String {
        effects
            .iter()
            .find_map(|e| {
                if let Effect::Generate { answer_id, .. } = e {
                    Some(answer_id.clone())
                } else {
                    None
                }
            })
            .expect("generates")
    }

    /// Replays frames into a client-side transcript: what a widget shows.
    fn transcript(frames: &[ServerFrame]) -> String {
        let mut out = String::new();
        for f in frames {
            match f {
                ServerFrame::Message { text, author, .. } => {
                    out.push_str(&format!("\n{author:?}: {text}"))
                }
                ServerFrame::AnswerStart { .. } => out.push_str("\nAssistant: "),
                ServerFrame::Delta { text, .. } => out.push_str(text),
                ServerFrame::AnswerError { code, .. } => out.push_str(&format!(" <{code}>")),
                _ => {}
            }
        }
        out
    }

    #[test]
    fn a_question_is_persisted_before_it_is_broadcast_then_answered() {
        let mut s = Session::new("s1");
        let e = ask(&mut s, 1, "c1", "  How?  ");
        assert!(
            matches!(&e[0], Effect::Persist(ServerFrame::Message { seq: 1, text, .. }) if text == "How?")
        );
        assert!(matches!(
            &e[1],
            Effect::Broadcast(ServerFrame::Message { seq: 1, .. })
        ));
        assert!(matches!(
            &e[2],
            Effect::Persist(ServerFrame::AnswerStart { seq: 2, .. })
        ));
        assert!(
            matches!(&e[4], Effect::Generate { question, history, .. } if question == "How?" && history.is_empty())
        );
        let id = answer_id(&e);
        let e = s.apply(Input::Token {
            answer_id: id.clone(),
            text: "It ".into(),
            rendered: None,
        });
        assert_eq!(
            persisted(&e),
            vec![ServerFrame::Delta {
                seq: 3,
                id: id.clone(),
                text: "It ".into()
            }]
        );
        s.apply(Input::Token {
            answer_id: id.clone(),
            text: "works.".into(),
            rendered: None,
        });
        let e = s.apply(Input::Finished {
            answer_id: id.clone(),
            html: "<p>It works.</p>".into(),
            citations: vec![],
        });
        assert!(matches!(
            &persisted(&e)[0],
            ServerFrame::AnswerEnd { seq: 5, .. }
        ));
        assert_eq!(
            s.history(),
            &[
                Message {
                    role: Role::User,
                    content: "How?".into()
                },
                Message {
                    role: Role::Assistant,
                    content: "It works.".into()
                },
            ]
        );
    }

    #[test]
    fn a_resent_question_is_stored_and_answered_once() {
        let mut s = Session::new("s1");
        ask(&mut s, 1, "c1", "q");
        let e = ask(&mut s, 2, "c1", "q");
        assert!(persisted(&e).is_empty());
        assert!(matches!(
            &e[..],
            [Effect::Send {
                conn: Some(2),
                frame: ServerFrame::Message { seq: 1, .. }
            }]
        ));
    }

    #[test]
    fn questions_asked_while_answering_wait_their_turn() {
        let mut s = Session::new("s1");
        let a1 = answer_id(&ask(&mut s, 1, "c1", "first"));
        let e = ask(&mut s, 1, "c2", "second");
        assert!(!e.iter().any(|e| matches!(e, Effect::Generate { .. })));
        let e = s.apply(Input::Finished {
            answer_id: a1,
            html: String::new(),
            citations: vec![],
        });
        let Some(Effect::Generate {
            question, history, ..
        }) = e.iter().find(|e| matches!(e, Effect::Generate { .. }))
        else {
            panic!("the second question starts")
        };
        assert_eq!(question, "second");
        assert_eq!(history.len(), 2);
    }

    #[test]
    fn bad_questions_get_errors_and_change_nothing() {
        let mut s = Session::new("s1");
        for (cid, text, code) in [
            ("c", "   ", "empty_question"),
            ("", "q", "bad_frame"),
            ("c", &"x".repeat(MAX_QUESTION_CHARS + 1), "too_long"),
        ] {
            let e = ask(&mut s, 1, cid, text);
            assert!(
                matches!(&e[..], [Effect::Send { frame: ServerFrame::Error { code: c, .. }, .. }] if c == code),
                "{code}"
            );
        }
        assert_eq!(s.last_seq(), 0);
    }

    #[test]
    fn joining_mid_answer_replays_exactly_what_was_missed() {
        let mut s = Session::new("s1");
        let id = answer_id(&ask(&mut s, 1, "c1", "q"));
        for piece in ["a", "b", "c", "d"] {
            s.apply(Input::Token {
                answer_id: id.clone(),
                text: piece.into(),
                rendered: None,
            });
        }
        // Seen up to the delta "b" (seq 4): c and d follow, compacted.
        let frames = s.replay(4);
        assert_eq!(
            frames,
            vec![
                ServerFrame::Delta {
                    seq: 5,
                    id: id.clone(),
                    text: "c".into()
                },
                ServerFrame::Delta {
                    seq: 6,
                    id: id.clone(),
                    text: "d".into()
                }
            ]
        );
        // A fresh client gets the whole conversation with the answer compacted.
        let all = s.replay(0);
        assert_eq!(all.len(), 3);
        assert_eq!(transcript(&all), "\nUser: q\nAssistant: abcd");
        assert_eq!(all.last().and_then(ServerFrame::seq), Some(6));
    }

    #[test]
    fn a_streaming_answer_replays_with_its_latest_rendering_after_its_text() {
        let mut s = Session::new("s1");
        let id = answer_id(&ask(&mut s, 1, "c1", "q"));
        let pieces = [
            (
                "One **a**.\n\n",
                Some(("<p>One <strong>a</strong>.</p>", 13)),
            ),
            ("Two", None),
            (" **b**.\n\n", Some(("<p>One …</p><p>Two …</p>", 26))),
            ("Thr", None),
        ];
        for (text, rendered) in pieces {
            s.apply(Input::Token {
                answer_id: id.clone(),
                text: text.into(),
                rendered: rendered.map(|(h, n)| (h.to_owned(), n)),
            });
        }
        // Live: delta, rendered, delta, delta, rendered, delta (seq 3 to 8).
        let all = s.replay(0);
        assert_eq!(
            transcript(&all),
            "\nUser: q\nAssistant: One **a**.\n\nTwo **b**.\n\nThr"
        );
        let seqs: Vec<u64> = all.iter().filter_map(ServerFrame::seq).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
        // In sequence order: the latest rendering (seq 7) comes before the compacted text
        // (whose last piece is seq 8); the client shows both once the text has arrived.
        let rendered: Vec<&ServerFrame> = all
            .iter()
            .filter(|f| matches!(f, ServerFrame::Rendered { .. }))
            .collect();
        assert_eq!(rendered.len(), 1, "only the latest rendering");
        assert!(matches!(
            rendered[0],
            ServerFrame::Rendered { upto: 26, .. }
        ));
        // Resuming after the first rendering gets the rest, rendering included.
        let rest = s.replay(4);
        assert!(
            rest.iter()
                .any(|f| matches!(f, ServerFrame::Rendered { upto: 26, .. }))
        );
    }

    #[test]
    fn any_resume_point_gives_the_same_transcript() {
        let mut s = Session::new("s1");
        let id = answer_id(&ask(&mut s, 1, "c1", "q1"));
        for p in ["x", "y", "z"] {
            s.apply(Input::Token {
                answer_id: id.clone(),
                text: p.into(),
                rendered: None,
            });
        }
        s.apply(Input::Finished {
            answer_id: id,
            html: String::new(),
            citations: vec![],
        });
        let id = answer_id(&ask(&mut s, 1, "c2", "q2"));
        s.apply(Input::Token {
            answer_id: id,
            text: "w".into(),
            rendered: None,
        });
        let full = transcript(&s.replay(0));
        for cut in 0..=s.last_seq() {
            let seen: Vec<ServerFrame> = s
                .log
                .iter()
                .filter(|f| f.seq().is_some_and(|x| x <= cut))
                .cloned()
                .collect();
            let mut frames = seen;
            frames.extend(s.replay(cut));
            assert_eq!(transcript(&frames), full, "resuming after {cut}");
        }
    }

    #[test]
    fn restore_closes_an_interrupted_answer_and_retry_answers_again() {
        let mut s = Session::new("s1");
        let id = answer_id(&ask(&mut s, 1, "c1", "q"));
        s.apply(Input::Token {
            answer_id: id,
            text: "part".into(),
            rendered: None,
        });
        let (mut restored, effects) = Session::restore("s1", s.log.clone());
        assert!(
            matches!(&persisted(&effects)[..], [ServerFrame::AnswerError { seq: 4, code, .. }] if code == "interrupted")
        );
        assert!(!restored.is_answering());
        let e = ask(&mut restored, 1, "c1", "q");
        assert!(persisted(&e).is_empty(), "still deduplicated after restore");
        let e = restored.apply(Input::Retry { conn: Some(1) });
        assert!(
            e.iter()
                .any(|e| matches!(e, Effect::Generate { question, .. } if question == "q"))
        );
        let e = restored.apply(Input::Retry { conn: Some(1) });
        assert!(
            matches!(&e[..], [Effect::Send { frame: ServerFrame::Error { code, .. }, .. }] if code == "nothing_to_retry")
        );
    }

    #[test]
    fn stale_tokens_for_other_answers_are_ignored() {
        let mut s = Session::new("s1");
        ask(&mut s, 1, "c1", "q");
        assert!(
            s.apply(Input::Token {
                answer_id: "nope".into(),
                text: "x".into(),
                rendered: None,
            })
            .is_empty()
        );
        assert!(
            s.apply(Input::Finished {
                answer_id: "nope".into(),
                html: String::new(),
                citations: vec![]
            })
            .is_empty()
        );
    }

    #[test]
    fn a_handoff_hands_the_conversation_to_the_team_and_their_replies_join_it() {
        let mut s = Session::new("s1");
        let e = ask(&mut s, 1, "c1", "Where is my order?");
        let a = answer_id(&e);
        s.apply(Input::Token {
            answer_id: a.clone(),
            text: "I cannot find that.".into(),
            rendered: None,
        });
        s.apply(Input::Finished {
            answer_id: a,
            html: "<p>I cannot find that.</p>".into(),
            citations: vec![],
        });
        let e = s.apply(Input::Handoff { conn: Some(1) });
        assert!(matches!(
            persisted(&e).as_slice(),
            [ServerFrame::Handoff { seq: 5 }]
        ));
        let Some(Effect::Handoff { messages }) =
            e.iter().find(|e| matches!(e, Effect::Handoff { .. }))
        else {
            panic!("no handoff effect: {e:?}");
        };
        let said: Vec<(Author, &str)> = messages
            .iter()
            .map(|m| (m.author, m.text.as_str()))
            .collect();
        assert_eq!(
            said,
            vec![
                (Author::User, "Where is my order?"),
                (Author::Assistant, "I cannot find that."),
                (Author::User, "(The visitor asked to talk to a person.)"),
            ]
        );
        // Asked twice: refused, nothing stored.
        let again = s.apply(Input::Handoff { conn: Some(1) });
        assert!(persisted(&again).is_empty());
        // A later question goes to the team, not to the model.
        let e = ask(&mut s, 1, "c2", "Hello?");
        assert!(
            !e.iter().any(|e| matches!(e, Effect::Generate { .. })),
            "{e:?}"
        );
        // Every handoff carries the conversation so far, in order (deliveries may race).
        let Some(Effect::Handoff { messages }) = e.last() else {
            panic!("{e:?}")
        };
        let ids: Vec<&str> = messages.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(ids, ["m1", "a2", "handoff5", "m6"]);
        assert_eq!(messages[3].text, "Hello?");
        // The team's reply is a message of the conversation, stored once however often sent.
        let reply = Input::Operator {
            id: "7-0".into(),
            text: "It ships today.".into(),
        };
        let e = s.apply(reply.clone());
        assert!(
            matches!(persisted(&e).as_slice(), [ServerFrame::Message { author: Author::Operator, text, .. }] if text == "It ships today.")
        );
        assert!(
            persisted(&s.apply(reply)).is_empty(),
            "delivered twice, shown once"
        );
        // A restart keeps the handoff: questions still go to the team.
        let (mut r, effects) = Session::restore("s1", s.replay(0));
        assert!(effects.is_empty());
        assert!(r.is_handed_off());
        let e = ask(&mut r, 2, "c3", "Still there?");
        assert!(matches!(e.last(), Some(Effect::Handoff { .. })));
    }
}
