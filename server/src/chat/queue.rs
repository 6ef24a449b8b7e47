//! A socket's queue of frames, bounded by the bytes it holds rather than by a count: a model
//! may stream thousands of tiny deltas faster than a socket writes them (a burst a healthy
//! reader catches up with), while a socket that does not read at all must not hold memory
//! without bound. A send that would take the queue past its budget fails, and the session
//! drops that socket; it then resumes by seq.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use futures::Stream;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use outpost_protocol::ServerFrame;

/// The bytes of frames one socket may have waiting (about a long answer streamed at once).
pub const SOCKET_QUEUE_BYTES: usize = 1 << 20;

/// About what a frame costs in memory: its texts and a fixed part.
pub fn weight(frame: &ServerFrame) -> usize {
    let cites = |c: &[outpost_protocol::Citation]| {
        c.iter()
            .map(|c| 64 + c.path.len() + c.title.len() + c.heading.len())
            .sum::<usize>()
    };
    64 + match frame {
        ServerFrame::Ready { session_id, .. } => session_id.len(),
        ServerFrame::Message {
            id,
            text,
            html,
            citations,
            client_id,
            ..
        } => {
            id.len()
                + text.len()
                + html.as_ref().map_or(0, String::len)
                + cites(citations)
                + client_id.as_ref().map_or(0, String::len)
        }
        ServerFrame::AnswerStart { id, .. } => id.len(),
        ServerFrame::Delta { id, text, .. } => id.len() + text.len(),
        ServerFrame::Rendered { id, html, .. } => id.len() + html.len(),
        ServerFrame::AnswerEnd {
            id,
            html,
            citations,
            ..
        } => id.len() + html.len() + cites(citations),
        ServerFrame::AnswerError {
            id, code, message, ..
        } => id.len() + code.len() + message.len(),
        ServerFrame::Error { code, message, .. } => code.len() + message.len(),
        ServerFrame::Handoff { .. } | ServerFrame::Pong => 0,
    }
}

/// A queue of at most `budget` bytes of frames: its sending and receiving ends.
pub fn queue(budget: usize) -> (FrameSender, FrameReceiver) {
    let (tx, rx) = unbounded();
    let held = Arc::new(AtomicUsize::new(0));
    (
        FrameSender {
            tx,
            held: held.clone(),
            budget,
        },
        FrameReceiver { rx, held },
    )
}

/// The session's end of a socket's queue.
#[derive(Debug, Clone)]
pub struct FrameSender {
    tx: UnboundedSender<(ServerFrame, usize)>,
    held: Arc<AtomicUsize>,
    budget: usize,
}

impl FrameSender {
    /// Queues `frame`; `false` when the socket is gone or the queue would pass its budget
    /// (then the frame is not queued, and the caller drops this sender).
    pub fn try_send(&self, frame: &ServerFrame) -> bool {
        let w = weight(frame);
        if self.held.fetch_add(w, Ordering::Relaxed) + w > self.budget {
            self.held.fetch_sub(w, Ordering::Relaxed);
            return false;
        }
        self.tx.unbounded_send((frame.clone(), w)).is_ok()
    }
}

/// The socket's end: the frames in order; it ends once the sender is dropped and what was
/// queued has been read.
#[derive(Debug)]
pub struct FrameReceiver {
    rx: UnboundedReceiver<(ServerFrame, usize)>,
    held: Arc<AtomicUsize>,
}

impl Stream for FrameReceiver {
    type Item = ServerFrame;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<ServerFrame>> {
        Pin::new(&mut self.rx).poll_next(cx).map(|next| {
            next.map(|(frame, w)| {
                self.held.fetch_sub(w, Ordering::Relaxed);
                frame
            })
        })
    }
}

impl futures::stream::FusedStream for FrameReceiver {
    fn is_terminated(&self) -> bool {
        self.rx.is_terminated()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    fn delta(text: &str) -> ServerFrame {
        ServerFrame::Delta {
            seq: 1,
            id: "a1".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_reader_that_keeps_up_is_never_refused_and_one_that_does_not_is() {
        let (tx, mut rx) = queue(10_000);
        // A burst within the budget, read as it comes: never refused.
        for _ in 0..1000 {
            assert!(tx.try_send(&delta("0123456789")));
            assert!(futures::executor::block_on(rx.next()).is_some());
        }
        // Nobody reads: refused once the budget is held.
        let sent = (0..1000)
            .take_while(|_| tx.try_send(&delta("0123456789")))
            .count();
        assert_eq!(sent, 10_000 / weight(&delta("0123456789")));
        // Reading frees the budget again; the sender's end closes the stream.
        assert!(futures::executor::block_on(rx.next()).is_some());
        assert!(tx.try_send(&delta("0123456789")));
        drop(tx);
        let rest = futures::executor::block_on(rx.collect::<Vec<_>>());
        assert_eq!(rest.len(), sent);
    }
}
