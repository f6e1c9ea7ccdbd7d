/*
 * Atiende chat widget — embeddable loader.
 *
 *   <script src="https://help.example.com/widget/atiende.js"
 *           data-rasa-url="https://bot.example.com"
 *           data-handoff-url="https://help.example.com" defer></script>
 *
 * A classic script (not a module) so shops can paste one tag anywhere. It reads its own
 * data-* attributes, loads the vendored socket.io client once, then imports the widget
 * modules from the handoff API's /static/widget/ folder.
 */
(function () {
  "use strict";
  if (window.__atiendeWidgetLoaded) return; // pasted twice: keep a single widget
  window.__atiendeWidgetLoaded = true;

  var script = document.currentScript;
  var src = new URL(script.src, location.href);
  var data = script.dataset;
  var handoffUrl = (data.handoffUrl || src.origin).replace(/\/+$/, "");
  var staticUrl = (data.staticUrl || handoffUrl + "/static").replace(/\/+$/, "");
  var config = {
    rasaUrl: (data.rasaUrl || location.protocol + "//" + location.hostname + ":5005").replace(/\/+$/, ""),
    handoffUrl: handoffUrl,
    staticUrl: staticUrl,
    socketPath: data.socketPath || "/socket.io/",
    language: data.language || null, // forced language; otherwise navigator.language
    market: data.market || null, // the shop's market (policy file code): its withdrawal button
    title: data.title || null,
    open: data.open === "true",
    ackTimeoutMs: Number(data.ackTimeoutMs || 4000),
  };

  function loadSocketIo() {
    return new Promise(function (resolve, reject) {
      if (window.io) return resolve(window.io);
      var tag = document.createElement("script");
      tag.src = staticUrl + "/vendor/socket.io.min.js";
      tag.async = true;
      tag.onload = function () { resolve(window.io); };
      tag.onerror = function () { reject(new Error("socket.io client failed to load")); };
      document.head.appendChild(tag);
    });
  }

  function start() {
    loadSocketIo()
      .then(function () { return import(staticUrl + "/widget/app.js"); })
      .then(function (mod) { window.AtiendeWidget = mod.mount(config); })
      .catch(function (err) { console.error("[atiende] widget failed to start:", err); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
