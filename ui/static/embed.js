/*
 * policy-qa embed script.
 *
 *   <script src="https://assistant.example.gov.cn/embed.js" defer></script>
 *
 * adds a floating chat button to the page; it opens the assistant (served by the same
 * host as this script) in an iframe panel. Keyboard: the button is a real <button>
 * (Tab, Enter/Space); Esc closes the panel and gives focus back to the button.
 * Optional attributes on the script tag: data-label (button text), data-title
 * (panel title), data-position="left" (bottom-left instead of bottom-right).
 * No external resources: everything is inline, so the portal's CSP only needs to allow
 * this script and framing of the assistant's origin.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || !script.src || window.__policyQaEmbed) return;
  window.__policyQaEmbed = true;

  var origin = new URL(script.src, document.baseURI).origin;
  var label = script.getAttribute("data-label") || "政策问答";
  var title = script.getAttribute("data-title") || "政策问答助手";
  var side = script.getAttribute("data-position") === "left" ? "left" : "right";

  var css =
    ".pqa-btn{position:fixed;bottom:24px;" + side + ":24px;z-index:2147483000;display:flex;" +
    "align-items:center;gap:8px;padding:12px 18px;border:0;border-radius:999px;background:#1f5fbf;" +
    "color:#fff;font:600 15px/1.2 system-ui,sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.25);cursor:pointer}" +
    ".pqa-btn:hover{background:#174a96}" +
    ".pqa-btn:focus-visible,.pqa-close:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".pqa-panel{position:fixed;bottom:88px;" + side + ":24px;z-index:2147483001;width:min(420px,calc(100vw - 32px));" +
    "height:min(640px,calc(100vh - 120px));display:none;flex-direction:column;background:#fff;" +
    "border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.3);overflow:hidden}" +
    ".pqa-panel[data-open]{display:flex}" +
    ".pqa-head{display:flex;align-items:center;justify-content:space-between;padding:8px 12px;" +
    "background:#1f5fbf;color:#fff;font:600 15px system-ui,sans-serif}" +
    ".pqa-close{border:0;background:transparent;color:#fff;font-size:22px;line-height:1;cursor:pointer;" +
    "padding:4px 8px;border-radius:6px}" +
    ".pqa-frame{flex:1;border:0;width:100%}" +
    "@media (prefers-reduced-motion:no-preference){.pqa-panel{transition:opacity .15s}}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var button = document.createElement("button");
  button.type = "button";
  button.className = "pqa-btn";
  button.setAttribute("aria-label", "打开" + title);
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("aria-controls", "pqa-panel");
  button.textContent = "💬 " + label;

  var panel = document.createElement("div");
  panel.id = "pqa-panel";
  panel.className = "pqa-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);

  var head = document.createElement("div");
  head.className = "pqa-head";
  var heading = document.createElement("span");
  heading.textContent = title;
  var close = document.createElement("button");
  close.type = "button";
  close.className = "pqa-close";
  close.setAttribute("aria-label", "关闭" + title);
  close.textContent = "×";
  head.appendChild(heading);
  head.appendChild(close);
  panel.appendChild(head);

  var frame = null; // created on first open: the portal page loads nothing until asked

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.className = "pqa-frame";
      frame.title = title;
      frame.src = origin + "/";
      frame.setAttribute("allow", "clipboard-write");
      panel.appendChild(frame);
    }
    panel.setAttribute("data-open", "");
    button.setAttribute("aria-expanded", "true");
    close.focus();
  }

  function shut() {
    if (!panel.hasAttribute("data-open")) return;
    panel.removeAttribute("data-open");
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }

  button.addEventListener("click", function () {
    panel.hasAttribute("data-open") ? shut() : open();
  });
  close.addEventListener("click", shut);
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") shut();
  });
  // Esc pressed inside the iframe never reaches this page; the assistant may post
  // {type: "policy-qa:close"} to ask the parent to close the panel.
  window.addEventListener("message", function (e) {
    if (e.origin === origin && e.data && e.data.type === "policy-qa:close") shut();
  });

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(button);
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
