//! Attacks on the native server. Each file is its own process, and the tests of this one take
//! turns (`one_at_a_time`): a memory check must not see another test's allocations.

mod common;

use common::server::TestServer;

const NO_LIMITS: (u32, u32, u32) = (10_000, 1_000, 100_000);

/// Held for the whole of each test of this file.
async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    TURN.lock().await
}

/// Resident memory of this process (the server runs in it), in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    statm
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse::<u64>()
        .unwrap()
        * 4096
}

#[tokio::test(flavor = "multi_thread")]
async fn a_thousand_bad_tokens_are_all_refused_and_memory_does_not_grow() {
    let _turn = one_at_a_time().await;
    let s = TestServer::start(None, "", NO_LIMITS).await;
    // One round to warm allocator pools and caches, then measure three more.
    common::suite::a_thousand_bad_tokens_are_all_refused(&s.base).await;
    let before = rss();
    let mut sent = 0;
    for _ in 0..3 {
        sent += common::suite::a_thousand_bad_tokens_are_all_refused(&s.base).await;
    }
    let grown = rss().saturating_sub(before);
    assert!(sent >= 3000);
    assert!(
        grown < 8 << 20,
        "memory grew by {grown} bytes over {sent} bad tokens"
    );
}

/// Forged webhook deliveries for every channel are refused (401, nothing stored), and the
/// server's memory does not grow with them; a storm of redeliveries is processed once.
#[tokio::test(flavor = "multi_thread")]
async fn forged_webhooks_are_refused_and_a_redelivery_storm_is_processed_once() {
    let _turn = one_at_a_time().await;
    let stub = common::platform_stub::shared();
    let mut s = TestServer::start(Some(stub.llm_url()), "stub-channels", NO_LIMITS).await;
    s.channels = common::server::channels_config(&[
        ("OUTPOST_WHATSAPP_API_URL", &stub.graph_url()),
        ("OUTPOST_GITHUB_API_URL", &stub.base),
        ("OUTPOST_GITHUB_SYNC_INTERVAL_SECS", "0"),
    ]);
    s.restart().await;
    common::channels::forged_deliveries_are_refused(&s.base, 5).await;
    let before = rss();
    let sent = common::channels::forged_deliveries_are_refused(&s.base, 70).await;
    let grown = rss().saturating_sub(before);
    assert!(sent >= 1000, "{sent}");
    assert!(
        grown < 8 << 20,
        "memory grew by {grown} bytes over {sent} forged deliveries"
    );
    common::channels::a_storm_of_redeliveries_is_processed_once(&s.base, stub, 300).await;
}

/// Hostile model output (scripts, handlers, `javascript:`/`data:` URLs, raw HTML, a 20,000-
/// character line, 300 levels of quotes and 200 of lists, cut into 7-character pieces):
/// rendered to HTML that carries none of it, and the server goes on serving.
#[tokio::test(flavor = "multi_thread")]
async fn hostile_model_output_is_rendered_inert_and_nothing_panics() {
    let _turn = one_at_a_time().await;
    use common::server::{Client, acme_token, answer_text, is_end};
    use outpost_protocol::ServerFrame;
    let stub = common::openai_stub::start().await;
    let s = TestServer::start(Some(stub.base_url), "stub-hostile", NO_LIMITS).await;
    let t = acme_token("mallory");
    let session = s.create_session("acme", &t).await;
    let (mut c, _) = Client::join(&s.ws_url("acme", &session), &t, 0).await;
    for round in 0..2 {
        c.ask(&format!("q{round}"), "How do I rotate the signing key?")
            .await;
        let frames = c.until(is_end).await;
        let Some(ServerFrame::AnswerEnd { html, .. }) = frames.last() else {
            panic!("{:?}", frames.last());
        };
        assert!(
            answer_text(&frames).contains("alert(1)"),
            "the text streamed as text"
        );
        // Text '<' is escaped, so every '<' left opens a real tag: each must be harmless.
        for tag in html.split('<').skip(1) {
            let tag = tag.split('>').next().unwrap().to_ascii_lowercase();
            let name: String = tag
                .trim_start_matches('/')
                .chars()
                .take_while(char::is_ascii_alphanumeric)
                .collect();
            assert!(
                [
                    "p",
                    "a",
                    "em",
                    "strong",
                    "code",
                    "pre",
                    "ul",
                    "ol",
                    "li",
                    "blockquote",
                    "br",
                    "hr",
                    "del",
                    "h1",
                    "h2",
                    "h3",
                    "h4",
                    "h5",
                    "h6",
                    "sup",
                    "span"
                ]
                .contains(&name.as_str()),
                "tag <{}> in the rendered answer",
                &tag[..tag.len().min(60)]
            );
            for attr in tag.split_whitespace().skip(1) {
                let key = attr.split('=').next().unwrap();
                assert!(
                    [
                        "href",
                        "class",
                        "title",
                        "data-cite",
                        "rel",
                        "target",
                        "start"
                    ]
                    .contains(&key),
                    "attribute {key} on <{name}>"
                );
            }
            if let Some(href) = tag.split("href=\"").nth(1) {
                assert!(
                    href.starts_with("https://")
                        || href.starts_with("http://")
                        || href.starts_with("mailto:")
                        || href.starts_with("#cite-"),
                    "unsafe link: {}",
                    &href[..href.len().min(40)]
                );
            }
        }
        assert!(
            html.contains(&"x".repeat(20_000)),
            "the long line is kept, as text"
        );
    }
}

/// A client whose requests come from `127.0.0.{last}` (all of 127/8 is loopback): another
/// address, as the server sees it.
fn from(last: u8) -> reqwest::Client {
    let ip = std::net::Ipv4Addr::new(127, 0, 0, last);
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(ip))
        .build()
        .unwrap()
}

async fn sign_in(c: &reqwest::Client, base: &str, name: &str) -> reqwest::Response {
    c.post(format!("{base}/v1/console/login"))
        .json(&serde_json::json!({"name": name, "password": "a wrong but long passphrase"}))
        .send()
        .await
        .unwrap()
}

/// Argon2id runs off the async runtime: during a flood of sign-ins `/health` answers in less
/// than half the time one sign-in takes. One address hammering sign-ins is refused (429 with a
/// wait) while another address still gets its answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_flood_hashes_off_the_runtime_and_is_limited_per_address() {
    let _turn = one_at_a_time().await;
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let base = s.base.clone();
    let started = std::time::Instant::now();
    assert_eq!(sign_in(&from(2), &base, "solo").await.status(), 401);
    let one = started.elapsed();

    let mut flood = tokio::task::JoinSet::new();
    for addr in 10..13u8 {
        for i in 0..12 {
            let base = base.clone();
            flood.spawn(async move {
                sign_in(&from(addr), &base, &format!("flood{i}"))
                    .await
                    .status()
            });
        }
    }
    let health = from(200);
    let mut slowest = std::time::Duration::ZERO;
    let mut probes = 0;
    while !flood.is_empty() {
        let t = std::time::Instant::now();
        let r = health.get(format!("{base}/health")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        slowest = slowest.max(t.elapsed());
        probes += 1;
        while let Some(done) = flood.try_join_next() {
            assert_eq!(done.unwrap(), 401);
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(probes >= 3, "the flood outlasted {probes} probes");
    assert!(
        slowest * 2 < one,
        "/health took up to {slowest:?} during the flood; one sign-in takes {one:?}"
    );

    let hammer = from(3);
    let mut refused = None;
    for i in 0..30 {
        let r = sign_in(&hammer, &base, &format!("guess{i}")).await;
        if r.status() == 429 {
            refused = Some(r);
            break;
        }
        assert_eq!(r.status(), 401);
    }
    let r = refused.expect("one address is limited");
    assert!(r.headers().get("retry-after").is_some());
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limited");
    assert_eq!(
        sign_in(&from(4), &base, "guess0").await.status(),
        401,
        "another address is still answered"
    );
}

/// Opens a chat socket from `127.0.0.{last}`: the socket, or the HTTP status it was refused with.
async fn socket_from(
    last: u8,
    url: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    socket_via(last, None, url).await
}

/// Like [`socket_from`], with an `X-Forwarded-For` header, as a reverse proxy sends.
async fn socket_via(
    last: u8,
    forwarded_for: Option<&str>,
    url: &str,
) -> Result<
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    u16,
> {
    let host: std::net::SocketAddr = url
        .trim_start_matches("ws://")
        .split('/')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket
        .bind((std::net::Ipv4Addr::new(127, 0, 0, last), 0).into())
        .unwrap();
    let tcp = socket.connect(host).await.unwrap();
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .unwrap();
    if let Some(f) = forwarded_for {
        request
            .headers_mut()
            .insert("x-forwarded-for", f.parse().unwrap());
    }
    match tokio_tungstenite::client_async(request, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
        .await
    {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            let body = String::from_utf8_lossy(r.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("too_many_sockets"), "{body}");
            Err(r.status().as_u16())
        }
        Err(e) => panic!("{e}"),
    }
}

/// One address holds at most its share of sockets (the rest get 429), others still connect,
/// and a closed socket frees its place; the server holds at most its total.
#[tokio::test(flavor = "multi_thread")]
async fn open_sockets_are_capped_per_address_and_in_all() {
    let _turn = one_at_a_time().await;
    let mut s = TestServer::start(None, "", NO_LIMITS).await;
    s.socket_caps = (3, 5);
    s.restart().await;
    let t = common::server::acme_token("many-sockets");
    let session = s.create_session("acme", &t).await;
    let url = s.ws_url("acme", &session);
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(socket_from(20, &url).await.expect("within the share"));
    }
    assert_eq!(socket_from(20, &url).await.err(), Some(429));
    let other = socket_from(21, &url)
        .await
        .expect("another address connects");
    let _last = socket_from(22, &url).await.expect("the fifth in all");
    assert_eq!(
        socket_from(23, &url).await.err(),
        Some(429),
        "the total is held"
    );
    drop(other);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let _again = socket_from(23, &url)
        .await
        .expect("a closed socket frees its place");
}

/// A GitHub delivery that declares more than GitHub's 25 MB is refused from its headers, before
/// a byte of its body is read (the client sends none here, and still gets its answer).
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_github_delivery_is_refused_before_its_body_is_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _turn = one_at_a_time().await;
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /v1/github/acme HTTP/1.1\r\nHost: {addr}\r\ncontent-type: application/json\r\n\
         x-github-event: push\r\nx-hub-signature-256: sha256={}\r\ncontent-length: 30000000\r\n\r\n",
        "0".repeat(64)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read(&mut answer))
        .await
        .expect("answered without the body")
        .unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 413"), "{text}");
    assert!(text.contains("too_large"), "{text}");
}

/// A client that sends its headers slowly (slowloris) is cut off after the header-read
/// timeout; the server keeps answering others meanwhile.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_too_slow_to_send_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _turn = one_at_a_time().await;
    let s = TestServer::start(None, "", NO_LIMITS).await;
    let addr = s.base.trim_start_matches("http://");
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let r = reqwest::get(format!("{}/health", s.base)).await.unwrap();
    assert_eq!(r.status(), 200, "others are served meanwhile");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(
        outpost::platform::native::server::HEADER_READ_TIMEOUT + std::time::Duration::from_secs(5),
        slow.read_to_end(&mut rest),
    )
    .await;
    assert!(closed.is_ok(), "still open after {:?}", started.elapsed());
    assert!(
        started.elapsed()
            >= outpost::platform::native::server::HEADER_READ_TIMEOUT
                - std::time::Duration::from_secs(1)
    );
}

/// Behind a reverse proxy named in `OUTPOST_TRUSTED_PROXIES`, each client it forwards has its
/// own share of sockets (the address the proxy saw, not what the client prepended); a client
/// that is not a trusted proxy cannot choose its address with the header.
#[tokio::test(flavor = "multi_thread")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_share() {
    let _turn = one_at_a_time().await;
    let mut s = TestServer::start(None, "", NO_LIMITS).await;
    s.socket_caps = (2, 100);
    s.trusted_proxies = vec!["127.0.0.40".parse().unwrap()];
    s.restart().await;
    let t = common::server::acme_token("behind-a-proxy");
    let session = s.create_session("acme", &t).await;
    let url = s.ws_url("acme", &session);
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(
            socket_via(40, Some("203.0.113.7"), &url)
                .await
                .expect("within .7's share"),
        );
    }
    assert_eq!(
        socket_via(40, Some("198.51.100.1, 203.0.113.7"), &url)
            .await
            .err(),
        Some(429),
        "what the client prepended is not believed"
    );
    held.push(
        socket_via(40, Some("203.0.113.8"), &url)
            .await
            .expect("another client behind the proxy has its own share"),
    );
    for i in 0..2 {
        held.push(
            socket_via(41, Some(&format!("203.0.113.{}", 20 + i)), &url)
                .await
                .expect("within the share"),
        );
    }
    assert_eq!(
        socket_via(41, Some("203.0.113.30"), &url).await.err(),
        Some(429),
        "an untrusted peer's header is ignored"
    );
}
