//! What the widget and the console share of the browser's `fetch`.

use wasm_bindgen_futures::JsFuture;

/// A response's body as text (empty on failure).
pub async fn response_text(resp: &web_sys::Response) -> String {
    match resp.text() {
        Ok(p) => JsFuture::from(p)
            .await
            .ok()
            .and_then(|v| v.as_string())
            .unwrap_or_default(),
        Err(_) => String::new(),
    }
}
