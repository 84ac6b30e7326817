// Loa operator page: one tap confirms; a confirmation is kept on the phone with its
// Idempotency-Key until the server has it, so nothing is lost offline and nothing is doubled.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("op-config").textContent);
  var QUEUE = "loa-op-queue";
  var sending = false;

  function load() { try { return JSON.parse(localStorage.getItem(QUEUE) || "[]"); } catch (e) { return []; } }
  function save(q) { localStorage.setItem(QUEUE, JSON.stringify(q)); }
  function newKey() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16); crypto.getRandomValues(b);
    return Array.prototype.map.call(b, function (x) { return ("0" + x.toString(16)).slice(-2); }).join("");
  }
  function card(id) { return document.getElementById("a-" + id); }

  function show(list, items) {
    var ul = document.getElementById(list + "-list");
    ul.textContent = "";
    items.forEach(function (text) { var li = document.createElement("li"); li.textContent = text; ul.appendChild(li); });
    document.getElementById(list).hidden = items.length === 0;
  }

  function render() {
    var q = load();
    document.getElementById("pending-count").textContent = q.length;
    show("pending", q.map(function (i) { return i.label + " — " + config.labels[i.outcome] + " (" + config.labels.waiting + ")"; }));
    q.forEach(function (i) {
      var c = card(i.airing_id);
      if (c) { c.classList.add("waiting"); mark(c, config.labels[i.outcome] + " (" + config.labels.waiting + ")"); }
    });
    document.getElementById("net").hidden = navigator.onLine;
  }

  function mark(c, text) {
    var badge = c.querySelector(".badge");
    if (!c.dataset.badge) c.dataset.badge = badge.textContent;
    c.querySelectorAll(".actions, form.more").forEach(function (e) { e.hidden = true; });
    badge.textContent = text;
  }

  function unmark(c) {  // refused: the airing is as it was, its buttons back
    c.classList.remove("waiting");
    var actions = c.querySelector(".actions");
    if (actions) actions.hidden = false;
    if (c.dataset.badge) c.querySelector(".badge").textContent = c.dataset.badge;
  }

  function refused(item, text) {
    var q = JSON.parse(sessionStorage.getItem("loa-op-refused") || "[]");
    q.push(item.label + ": " + text);
    sessionStorage.setItem("loa-op-refused", JSON.stringify(q));
    show("refused", q);
  }

  function flush() {
    if (sending) return;
    var q = load();
    if (!q.length) return;
    sending = true;
    var item = q[0];
    fetch("/op/confirm", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": config.csrf },
      body: JSON.stringify(item)
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) { return [r, body]; });
    }).then(function (pair) {
      var r = pair[0], body = pair[1];
      sending = false;
      if (r.status === 401 || r.status === 403) { refused(item, config.labels.signin); return; }
      if (r.status >= 500) { setTimeout(flush, 5000); return; }  // the API is down: keep it, try again
      drop(item);
      var c = card(item.airing_id);
      if (r.ok) {
        if (c) { c.classList.remove("waiting", "status-scheduled"); c.classList.add("status-" + body.airing.status); mark(c, config.labels[body.airing.status] || body.airing.status); }
      } else {
        refused(item, (body.title || r.status) + (body.detail ? ": " + body.detail : ""));
        if (c) unmark(c);
      }
      render();
      flush();
    }).catch(function () { sending = false; render(); });  // no connection: it waits on the phone
  }

  function drop(item) { save(load().filter(function (i) { return i.key !== item.key; })); }

  function confirm(c, outcome, extra) {
    if (load().some(function (i) { return i.airing_id === c.dataset.airing; })) return;
    var item = { airing_id: c.dataset.airing, outcome: outcome, key: "op-" + newKey(),
                 label: c.dataset.start + " " + c.dataset.title };
    Object.keys(extra || {}).forEach(function (k) { item[k] = extra[k]; });
    var q = load(); q.push(item); save(q);
    render();
    flush();
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-outcome], button[data-show]");
    if (!b) return;
    var c = b.closest("article.airing");
    if (b.dataset.outcome) { confirm(c, b.dataset.outcome); return; }
    c.querySelectorAll("form.more").forEach(function (f) { f.hidden = f.dataset.outcome !== b.dataset.show; });
  });

  document.addEventListener("submit", function (e) {
    var f = e.target.closest("form.more");
    if (!f) return;
    e.preventDefault();
    var c = f.closest("article.airing"), day = c.dataset.date;
    if (f.dataset.outcome === "partial") {
      confirm(c, "partial", { actual_start: day + "T" + f.actual_start.value, actual_end: day + "T" + f.actual_end.value });
    } else {
      var chosen = f.querySelector("input[name=reason]:checked");
      var reason = (chosen && chosen.value) || f.other.value.trim();
      if (!reason) { f.other.focus(); return; }
      confirm(c, "missed", { reason: reason });
    }
  });

  window.addEventListener("online", function () { render(); flush(); });
  window.addEventListener("offline", render);
  setInterval(flush, 15000);
  if ("serviceWorker" in navigator) navigator.serviceWorker.register("/op/sw.js", { scope: "/op/" });
  show("refused", JSON.parse(sessionStorage.getItem("loa-op-refused") || "[]"));
  render();
  flush();
})();
