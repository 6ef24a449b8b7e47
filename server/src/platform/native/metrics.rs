//! Operational metrics of the native server, served at `GET /metrics` in Prometheus' text
//! format (by `prometheus-client`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// A per-project label.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ProjectLabel {
    /// The project id.
    pub project: String,
}

impl ProjectLabel {
    /// The label for `project`.
    pub fn of(project: &str) -> Self {
        ProjectLabel {
            project: project.to_owned(),
        }
    }
}

/// The server's metrics.
pub struct Metrics {
    registry: Registry,
    /// WebSockets open now.
    pub open_sockets: Gauge,
    /// Session actors running now.
    pub active_sessions: Gauge,
    /// Seconds from a question's arrival to its answer's first piece (the model's own latency
    /// included).
    pub first_token_seconds: Histogram,
    /// Seconds spent retrieving passages for a question.
    pub retrieval_seconds: Histogram,
    /// Questions asked, per project.
    pub questions: Family<ProjectLabel, Counter>,
    /// Answer pieces streamed (about one token each), per project: what a project uses.
    pub answer_pieces: Family<ProjectLabel, Counter>,
    /// Answers that failed in the provider, per project.
    pub provider_errors: Family<ProjectLabel, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("outpost");
        let m = Metrics {
            open_sockets: Gauge::default(),
            active_sessions: Gauge::default(),
            // 1 ms to ~16 s.
            first_token_seconds: Histogram::new(exponential_buckets(0.001, 2.0, 15)),
            // 0.1 ms to ~0.8 s.
            retrieval_seconds: Histogram::new(exponential_buckets(0.0001, 2.0, 14)),
            questions: Family::default(),
            answer_pieces: Family::default(),
            provider_errors: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "open_sockets",
            "WebSockets open now",
            m.open_sockets.clone(),
        );
        registry.register(
            "active_sessions",
            "Session actors running now",
            m.active_sessions.clone(),
        );
        registry.register(
            "first_token_seconds",
            "Seconds from a question to its answer's first piece",
            m.first_token_seconds.clone(),
        );
        registry.register(
            "retrieval_seconds",
            "Seconds spent retrieving passages",
            m.retrieval_seconds.clone(),
        );
        registry.register("questions", "Questions asked", m.questions.clone());
        registry.register(
            "answer_pieces",
            "Answer pieces (about one token each) streamed",
            m.answer_pieces.clone(),
        );
        registry.register(
            "provider_errors",
            "Answers that failed in the provider",
            m.provider_errors.clone(),
        );
        Metrics { registry, ..m }
    }
}

impl Metrics {
    /// The metrics in Prometheus' text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_render_in_prometheus_format() {
        let m = Metrics::default();
        m.open_sockets.inc();
        m.answer_pieces
            .get_or_create(&ProjectLabel::of("acme"))
            .inc_by(5);
        m.first_token_seconds.observe(0.003);
        let text = m.render();
        assert!(text.contains("outpost_open_sockets 1"), "{text}");
        assert!(
            text.contains("outpost_answer_pieces_total{project=\"acme\"} 5"),
            "{text}"
        );
        assert!(
            text.contains("outpost_first_token_seconds_count 1"),
            "{text}"
        );
        assert!(text.ends_with("# EOF\n"));
    }
}
