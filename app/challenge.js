// The widget page of a project that wants a Cloudflare Turnstile challenge before a new visitor
// gets a token (loaded only there, with Turnstile's api.js). When the loader on the host page
// asks (a `challenge` frame without a token), renders the challenge; its answer goes back to
// the loader (a `challenge` frame with the token), which sends it when it asks for the token.
(function () {
  var key = document.querySelector('meta[name="outpost-turnstile"]');
  var box, id;
  addEventListener("message", function (e) {
    var d = e.data;
    if (!key || e.source !== parent || !d || d.channel !== "outpost" || d.type !== "challenge" || d.token) return;
    (function draw() {
      // api.js loads asynchronously.
      if (!window.turnstile) return void setTimeout(draw, 100);
      if (box) {
        box.style.removeProperty("display");
        return turnstile.reset(id);
      }
      box = document.createElement("div");
      // Above the composer, centred (CSSOM writes: the page's CSP forbids inline styles).
      var s = box.style;
      s.setProperty("position", "fixed");
      s.setProperty("inset", "auto 0 72px 0");
      s.setProperty("display", "flex");
      s.setProperty("justify-content", "center");
      s.setProperty("z-index", "9");
      document.body.appendChild(box);
      id = turnstile.render(box, {
        sitekey: key.content,
        action: "visitor-token",
        callback: function (token) {
          parent.postMessage({ channel: "outpost", type: "challenge", token: token }, e.origin);
          setTimeout(function () { s.setProperty("display", "none"); }, 1500);
        }
      });
    })();
  });
})();
