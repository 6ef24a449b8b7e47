// Outpost loader: draws the chat bubble, and creates the widget iframe when the chat opens.
// A template: %name% placeholders are filled by outpost-embed from outpost-protocol.
// No inline styles or <style> elements (strict host CSPs forbid them): styles are CSSOM writes
// and a constructed stylesheet inside a shadow root, out of reach of host CSS.
(function () {
  var script = document.currentScript;
  if (!script || window.Outpost) return;
  var ORIGIN = new URL(script.src).origin;
  var data = script.dataset;
  var project = data.project || "";
  var token = data.token || null;
  var left = data.position === "left";
  // The bubble's colour: data-color, else the project's accent as the widget last said it on
  // this site (no request before the chat opens, so nothing for a strict CSP to refuse).
  var ACCENT = "outpost:" + project + ":accent";
  // Without data-token, a public project's server hands this page an anonymous visitor token;
  // it is kept here with its expiry, so that the next pages keep the visitor and their
  // conversation, and renewed before it ends.
  var ANON = "outpost:" + project + ":visitor";
  var stored = null, saved = [];
  try {
    stored = localStorage.getItem(ACCENT);
    saved = (localStorage.getItem(ANON) || "").split(" ");
  } catch (e) {}
  var color = data.color || stored || "#3b5bdb";
  // Distances from the corner, in px (default 20).
  function px(v) { v = parseInt(v, 10); return (isNaN(v) || v < 0 ? 20 : v) + "px"; }
  var ox = px(data.offsetX), oy = px(data.offsetY);
  var side = left ? "left" : "right";
  var CHANNEL = "%channel%";
  var KEY = "outpost:" + project + ":open";
  var listeners = {};
  var frame = null;
  var ready = false;
  var isOpen = false;
  var anon = !token, configured = false, proof, renew = 0;

  function emit(name, detail) {
    (listeners[name] || []).forEach(function (fn) {
      try { fn(detail); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function post(msg) {
    if (frame && ready) {
      msg.channel = CHANNEL;
      frame.contentWindow.postMessage(msg, ORIGIN);
    }
  }
  function give(t, error) {
    token = t;
    if (!ready) return;
    if (configured) post({ type: "%identify%", token: t });
    else {
      configured = true;
      post({ type: "%config%", project: project, token: t, error: error });
    }
  }
  // Renews the token five minutes before it ends.
  function later(ms) {
    clearTimeout(renew);
    renew = setTimeout(mint, Math.max(ms, 30000));
  }
  // text/plain (the default for a string body): no preflight.
  function mint() {
    fetch(ORIGIN + "/v1/projects/" + project + "/visitor_token", {
      method: "POST",
      body: JSON.stringify({ previous: saved[0], challenge: proof })
    }).then(function (r) {
      return r.json().then(function (b) { if (!r.ok) throw b.error; return b; });
    }).then(function (b) {
      proof = null;
      saved = [b.token, Date.now() + b.expires_in * 1000];
      try { localStorage.setItem(ANON, saved.join(" ")); } catch (e) {}
      later(b.expires_in * 1000 - 300000);
      give(b.token);
    }, function (e) {
      if (!e || !e.code) e = { code: "%unavailable%" };
      // The widget page renders the challenge and answers with a `challenge` frame.
      if (e.code === "%challenge_required%") post({ type: "%challenge%" });
      // Not public: the site identifies its visitor later (Outpost.identify).
      else if (e.code === "%not_public%") give(null);
      else if (!configured) {
        emit("error", e);
        give(null, e.message);
      }
    });
  }
  function css(el, props) {
    for (var k in props) el.style.setProperty(k, props[k], "important");
  }

  var host = document.createElement("outpost-launcher");
  css(host, { all: "initial", position: "fixed", bottom: "0", width: "0", height: "0", "z-index": "2147483000" });
  css(host, left ? { left: "0" } : { right: "0" });
  var root = host.attachShadow({ mode: "open" });
  var sheet = new CSSStyleSheet();
  sheet.replaceSync(
    "button{position:fixed;bottom:" + oy + ";" + side + ":" + ox + ";width:56px;height:56px;border:0;border-radius:50%;" +
    "cursor:pointer;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center;padding:0;transition:background .2s}" +
    "button:focus-visible{outline:3px solid #fff;outline-offset:-6px}svg{width:28px;height:28px;fill:#fff}" +
    ".badge{position:absolute;top:-2px;right:-2px;min-width:18px;height:18px;border-radius:9px;background:#e03131;color:#fff;" +
    "font:600 11px/18px system-ui,sans-serif;text-align:center;display:none}" +
    ".label{position:fixed;bottom:calc(" + oy + " + 14px);" + side + ":calc(" + ox + " + 66px);max-width:220px;padding:6px 12px;border-radius:14px;" +
    "background:#fff;color:#1f2328;box-shadow:0 2px 10px rgba(0,0,0,.2);font:500 13px/16px system-ui,sans-serif;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;cursor:pointer}" +
    "iframe{position:fixed;bottom:calc(" + oy + " + 68px);" + side + ":" + ox + ";width:360px;height:480px;max-height:calc(100vh - " + oy + " - 88px);" +
    "border:0;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.3);background:#fff;display:none;opacity:0;transform:translateY(12px);" +
    "transition:opacity .18s ease-out,transform .18s ease-out}" +
    "iframe.open{opacity:1;transform:none}" +
    "@media (max-width:480px){iframe{inset:0;width:100%;height:100%;max-height:none;border-radius:0;transform:none}.label{display:none}}" +
    "@media (prefers-reduced-motion:reduce){iframe,button{transition:none}}"
  );
  root.adoptedStyleSheets = [sheet];

  var bubble = document.createElement("button");
  bubble.type = "button";
  bubble.setAttribute("aria-label", "Open chat");
  bubble.setAttribute("aria-expanded", "false");
  bubble.setAttribute("data-testid", "outpost-bubble");
  css(bubble, { background: color });
  var icon = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  var path = document.createElementNS("http://www.w3.org/2000/svg", "path");
  var CHAT = "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2z";
  var CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  path.setAttribute("d", CHAT);
  icon.appendChild(path);
  var badge = document.createElement("span");
  badge.className = "badge";
  badge.setAttribute("aria-hidden", "true");
  bubble.appendChild(icon);
  bubble.appendChild(badge);
  root.appendChild(bubble);
  // A label beside the bubble, when the site gives one; it opens the chat too.
  var label = null;
  if (data.label) {
    label = document.createElement("span");
    label.className = "label";
    label.textContent = data.label;
    label.setAttribute("aria-hidden", "true");
    label.addEventListener("click", function () { setOpen(true); });
    root.appendChild(label);
    bubble.setAttribute("title", data.label);
  }

  function unread(n) {
    badge.textContent = n > 9 ? "9+" : n;
    css(badge, { display: n > 0 && !isOpen ? "block" : "none" });
    bubble.setAttribute("aria-label", n > 0 && !isOpen ? "Open chat, " + n + " unread" : isOpen ? "Close chat" : "Open chat");
  }

  function createFrame() {
    frame = document.createElement("iframe");
    // The visitor's language: the tag's, else the page's, else the browser's.
    var lang = data.lang || document.documentElement.lang || navigator.language || "";
    frame.src = ORIGIN + "/widget/" + project + "?lang=" + encodeURIComponent(lang);
    frame.title = "Chat assistant";
    frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms allow-popups allow-popups-to-escape-sandbox");
    frame.setAttribute("allow", "clipboard-write");
    frame.setAttribute("data-testid", "outpost-frame");
    // A frame the browser refuses (this page's origin is not among the project's allowed
    // origins, so the widget page's frame-ancestors forbids it) still fires `load`, showing the
    // browser's error page; the widget in it never says `ready`. Tell the host page.
    frame.addEventListener("load", function () {
      setTimeout(function () {
        if (!ready) emit("error", { code: "%frame_refused%", message: "The chat did not start: is " + location.origin + " among project " + project + "'s origins?" });
      }, 8000);
    });
    root.appendChild(frame);
  }

  // On a small screen the panel is full screen; when the on-screen keyboard opens, the visual
  // viewport shrinks (the layout viewport does not), so the frame follows the visual one and
  // the composer stays above the keyboard.
  var vv = window.visualViewport;
  function fit() {
    if (!frame) return;
    if (isOpen && vv && innerWidth <= 480) {
      css(frame, { top: vv.offsetTop + "px", height: vv.height + "px" });
    } else {
      frame.style.removeProperty("top");
      frame.style.removeProperty("height");
    }
  }
  if (vv) {
    vv.addEventListener("resize", fit);
    vv.addEventListener("scroll", fit);
  }

  var hiding = 0;
  function motion() {
    return !matchMedia("(prefers-reduced-motion: reduce)").matches;
  }

  function setOpen(open, fromWidget) {
    if (open === isOpen) return;
    isOpen = open;
    if (open && !frame) createFrame();
    // Opening and closing animate (opacity and transform; none under reduced motion).
    clearTimeout(hiding);
    if (open) {
      css(frame, { display: "block" });
      frame.getBoundingClientRect();
      frame.classList.add("open");
    } else {
      frame.classList.remove("open");
      var f = frame;
      hiding = setTimeout(function () { if (!isOpen) css(f, { display: "none" }); }, motion() ? 200 : 0);
    }
    if (label) css(label, { display: open ? "none" : "" });
    fit();
    path.setAttribute("d", open ? CLOSE : CHAT);
    bubble.setAttribute("aria-expanded", open);
    unread(0);
    try { sessionStorage.setItem(KEY, open ? "1" : ""); } catch (e) {}
    if (!fromWidget) post({ type: "%toggle%", open: open });
    if (!open) bubble.focus();
    emit(open ? "open" : "close");
  }

  bubble.addEventListener("click", function () { setOpen(!isOpen); });

  window.addEventListener("message", function (e) {
    if (!frame || e.origin !== ORIGIN || e.source !== frame.contentWindow) return;
    var d = e.data;
    if (!d || d.channel !== CHANNEL) return;
    if (d.type === "%ready%") {
      ready = true;
      var ms = saved[1] - Date.now() - 300000;
      if (!anon) give(token);
      else if (ms > 0) {
        give(saved[0]);
        later(ms);
      } else mint();
      post({ type: "%toggle%", open: isOpen });
      emit("ready");
    } else if (d.type === "%challenge%") {
      proof = d.token;
      mint();
    } else if (d.type === "%toggle%") {
      setOpen(!!d.open, true);
    } else if (d.type === "%unread%") {
      unread(d.count | 0);
      emit("unread", d.count | 0);
    } else if (d.type === "%accent%") {
      if (!data.color && typeof d.accent === "string" && window.CSS && CSS.supports("color", d.accent)) {
        css(bubble, { background: d.accent });
        try { localStorage.setItem(ACCENT, d.accent); } catch (e) {}
      }
    } else if (d.type === "%error%") {
      if (anon && d.code === "%token_expired%") mint();
      emit("error", { code: d.code, message: d.message });
    }
  });

  window.Outpost = {
    open: function () { setOpen(true); },
    close: function () { setOpen(false); },
    identify: function (t) { anon = false; clearTimeout(renew); give(t); },
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); }
  };

  function mount() {
    document.body.appendChild(host);
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(KEY) === "1"; } catch (e) {}
    if (wasOpen) setOpen(true);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
