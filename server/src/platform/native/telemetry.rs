//! What operators see of the native server: logs on stderr (`OUTPOST_LOG` filters them,
//! default `warn`; `OUTPOST_LOG_FORMAT=json` writes one JSON object per line with the request
//! span, its method, path and request id), and traces exported over OTLP/HTTP when
//! `OUTPOST_OTLP_ENDPOINT` names a collector (`OUTPOST_TRACE` filters the spans, default
//! `info`). The Prometheus metrics are in [`super::metrics`].

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The exporter's HTTP client: the server's reqwest, run on the server's tokio runtime (the
/// batch exporter sends from a thread of its own, where reqwest would find no runtime).
#[derive(Debug, Clone)]
struct OtlpHttp {
    client: reqwest::Client,
    runtime: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for OtlpHttp {
    async fn send_bytes(
        &self,
        request: http::Request<bytes::Bytes>,
    ) -> Result<http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let client = self.client.clone();
        self.runtime
            .spawn(async move {
                let (parts, body) = request.into_parts();
                let resp = client
                    .request(parts.method, parts.uri.to_string())
                    .headers(parts.headers)
                    .body(body)
                    .send()
                    .await?;
                let mut out = http::Response::builder().status(resp.status());
                if let Some(h) = out.headers_mut() {
                    *h = resp.headers().clone();
                }
                Ok(out.body(resp.bytes().await?)?)
            })
            .await?
    }
}

/// Flushes and stops trace export when dropped (at the end of `main`).
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take()
            && let Err(e) = p.shutdown()
        {
            eprintln!("warning: traces not flushed: {e}");
        }
    }
}

/// Sets up logs and (when configured) trace export; call once, inside the tokio runtime.
///
/// # Errors
/// A message when `OUTPOST_OTLP_ENDPOINT` is not a usable URL.
pub fn init(config: &crate::config::Telemetry) -> Result<Telemetry, String> {
    let filter = directives(crate::config::keys::LOG, config.log.as_deref(), "warn")?;
    // Colours only for a terminal: a log file or a pipe gets plain text.
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    let fmt = if config.json {
        fmt.json()
            .with_current_span(true)
            .with_span_list(false)
            .with_filter(filter)
            .boxed()
    } else {
        fmt.with_filter(filter).boxed()
    };
    let Some(endpoint) = config.otlp_endpoint.clone() else {
        tracing_subscriber::registry().with(fmt).init();
        return Ok(Telemetry { provider: None });
    };
    if !endpoint.starts_with("http://") && !endpoint.starts_with("https://") {
        return Err(format!(
            "OUTPOST_OTLP_ENDPOINT: {endpoint:?} is not an http(s) URL (for example http://127.0.0.1:4318)"
        ));
    }
    let http = OtlpHttp {
        client: reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?,
        runtime: tokio::runtime::Handle::try_current()
            .map_err(|_| "trace export needs the tokio runtime".to_owned())?,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_http_client(http)
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
        .build()
        .map_err(|e| format!("OUTPOST_OTLP_ENDPOINT: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name("outpost")
                .with_attribute(opentelemetry::KeyValue::new(
                    "service.version",
                    env!("CARGO_PKG_VERSION"),
                ))
                .build(),
        )
        .build();
    let spans = directives(crate::config::keys::TRACE, config.trace.as_deref(), "info")?;
    let otel = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("outpost"))
        .with_filter(spans);
    tracing_subscriber::registry().with(fmt).with(otel).init();
    Ok(Telemetry {
        provider: Some(provider),
    })
}

/// A filter from `tracing` directives, or `default` when there are none or they do not parse.
/// The filter `given` in `key` (`tracing` directives), or `default`.
fn directives(key: &str, given: Option<&str>, default: &str) -> Result<EnvFilter, String> {
    match given {
        None => Ok(EnvFilter::new(default)),
        Some(d) => {
            let bad = |why: String| {
                format!(
                    "{key}: {d:?} {why}; use a level (error, warn, info, debug, trace, off) or target=level, e.g. outpost=debug"
                )
            };
            // A bare word that is not a level parses as a target (`verbose`: every level of a
            // target that does not exist), which logs nothing: refused rather than ignored.
            const LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];
            if let Some(word) = d.split(',').map(str::trim).find(|w| {
                !w.is_empty()
                    && !w.contains('=')
                    && !w.contains("::")
                    && !w.starts_with("outpost")
                    && !LEVELS.contains(&w.to_ascii_lowercase().as_str())
            }) {
                return Err(bad(format!("has {word:?}, which is not a level")));
            }
            EnvFilter::builder()
                .parse(d)
                .map_err(|e| bad(format!("is not a filter ({e})")))
        }
    }
}
