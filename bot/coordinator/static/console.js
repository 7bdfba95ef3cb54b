/* The coordinator console's pages: small vanilla JS over the console's JSON API.
   Text from patients is only ever put into the page with textContent. */
(function () {
  "use strict";
  var csrf = (document.querySelector("meta[name=csrf-token]") || {}).content || "";
  var L = (document.getElementById("labels") || { dataset: {} }).dataset;
  var page = document.body.dataset.page;

  function api(method, url, body) {
    var options = { method: method, headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" };
    if (body !== undefined) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (response.status === 401 && page !== "login") { location.href = "/login?next=" + encodeURIComponent(location.pathname); }
        return { status: response.status, ok: response.ok, data: data };
      });
    });
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = text; }
    return node;
  }

  function minutes(seconds) {
    if (seconds < 60) { return seconds + " s"; }
    if (seconds < 3600) { return Math.floor(seconds / 60) + " min"; }
    return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
  }

  function time(iso) {
    if (!iso) { return ""; }
    var d = new Date(iso);
    return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  /* ---- live updates (Server-Sent Events) ---- */
  function live(handlers) {
    var indicator = document.getElementById("live");
    var source = new EventSource("/api/events");
    source.addEventListener("hello", function () {
      if (indicator) { indicator.textContent = "● " + indicator.dataset.live; indicator.className = "live on"; }
      if (handlers.reset) { handlers.reset(); }
    });
    source.onerror = function () {
      if (indicator) { indicator.textContent = "○ " + indicator.dataset.offline; indicator.className = "live"; }
    };
    ["ticket", "message", "hold", "outbox", "reset"].forEach(function (type) {
      source.addEventListener(type, function (event) {
        var data = {};
        try { data = JSON.parse(event.data); } catch (e) { /* keep {} */ }
        window.__lastEvent = { type: type, data: data, at: Date.now() };
        if (handlers[type]) { handlers[type](data); }
        if (type === "reset" && handlers.reset) { handlers.reset(); }
      });
    });
    return source;
  }

  /* ---- sound and notification for a new handoff ---- */
  var audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var oscillator = audio.createOscillator();
      var gain = audio.createGain();
      oscillator.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start();
      oscillator.stop(audio.currentTime + 0.4);
    } catch (e) { /* no audio on this device */ }
  }
  function notify(text) {
    window.__alerts = (window.__alerts || 0) + 1;
    beep();
    if (window.Notification && Notification.permission === "granted") {
      try { new Notification(text); } catch (e) { /* some phones only allow it from a service worker */ }
    }
  }

  /* ---- pages ---- */
  function loginPage() {
    var form = document.getElementById("login-form");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/login", {
        username: document.getElementById("username").value,
        password: document.getElementById("password").value
      }).then(function (result) {
        var error = document.getElementById("login-error");
        if (result.ok) {
          var next = new URLSearchParams(location.search).get("next") || "/queue";
          if (next.charAt(0) !== "/" || next.charAt(1) === "/") { next = "/queue"; }
          location.href = result.data.user.must_change_password ? "/account" : next;
        } else {
          error.textContent = result.status === 429 ? L.tooMany : L.loginFailed;
        }
      });
    });
  }

  function kindLabel(kind) { return L["kind" + kind.charAt(0).toUpperCase() + kind.slice(1)] || kind; }

  function queuePage() {
    var list = document.getElementById("queue");
    var empty = document.getElementById("queue-empty");
    var known = null;
    function load() {
      api("GET", "/api/tickets").then(function (result) {
        if (!result.ok) { return; }
        var tickets = result.data.tickets;
        if (known !== null && tickets.some(function (t) { return !known[t.id]; })) { notify(L.newHandoff); }
        known = {};
        list.textContent = "";
        tickets.forEach(function (t) {
          known[t.id] = true;
          var item = el("li", "ticket kind-" + t.kind);
          item.dataset.ticket = t.id;
          var link = el("a", "ticket-link");
          link.href = "/conversations/" + encodeURIComponent(t.conversation_id);
          link.appendChild(el("strong", "kind", kindLabel(t.kind)));
          link.appendChild(el("span", "ref", t.reference));
          item.appendChild(link);
          var meta = el("p", "meta");
          meta.appendChild(el("span", "", L.language + ": " + (t.language || "?")));
          meta.appendChild(el("span", "", L.channel + ": " + t.channel));
          meta.appendChild(el("span", "waiting", L.waiting + ": " + minutes(t.waiting_seconds)));
          if (t.assignee) { meta.appendChild(el("span", "assignee", L.heldBy + ": " + t.assignee)); }
          item.appendChild(meta);
          list.appendChild(item);
        });
        empty.hidden = tickets.length > 0;
      });
    }
    document.getElementById("enable-alerts").addEventListener("click", function () {
      beep();
      if (window.Notification && Notification.permission === "default") { Notification.requestPermission(); }
    });
    live({ ticket: load, hold: load, reset: load });
    load();
    setInterval(load, 60000);
  }

  function conversationPage() {
    var id = document.body.dataset.conversation;
    var base = "/api/conversations/" + encodeURIComponent(id);
    var transcript = document.getElementById("transcript");
    var errorBox = document.getElementById("send-error");
    var state = null;
    var windowTimer = null;
    var pendingLoad = null;

    function showError(result) {
      var data = result.data || {};
      if (data.error === "could_not_deliver") { errorBox.textContent = L.couldNotDeliver; }
      else if (data.error === "window_closed") { errorBox.textContent = L.windowClosed; }
      else { errorBox.textContent = L.error + " " + (data.error || result.status); }
    }

    function renderTurn(turn) {
      var item = el("li", "turn from-" + turn.role);
      var who = turn.role === "patient" ? L.patient : turn.role === "bot" ? L.assistant : (turn.name || turn.role);
      var head = el("p", "who", who + " · " + time(turn.time) + (turn.language ? " · " + turn.language : ""));
      item.appendChild(head);
      var text = el("p", "text", turn.text);
      if (turn.language) { text.lang = turn.language; text.dir = "auto"; }
      item.appendChild(text);
      if (turn.buttons && turn.buttons.length) { item.appendChild(el("p", "buttons", "[" + turn.buttons.join("] [") + "]")); }
      if (turn.topic) { item.appendChild(el("p", "topic", L.topic + ": " + turn.topic)); }
      if (turn.translation) { item.appendChild(el("p", "translation", L.inYourLanguage + ": " + turn.translation)); }
      if (turn.machine_translation) { item.appendChild(el("p", "translation", L.machineTranslation + ": " + turn.machine_translation)); }
      return item;
    }

    function renderWindow(w) {
      var box = document.getElementById("window");
      var templateForm = document.getElementById("template-form");
      var free = [document.getElementById("message-form"), document.getElementById("reply-form")];
      clearInterval(windowTimer);
      if (!w.applies) { box.textContent = ""; templateForm.hidden = true; free.forEach(function (f) { f.hidden = false; }); return; }
      templateForm.hidden = false;
      var closesAt = w.closes_at ? new Date(w.closes_at).getTime() : 0;
      function tick() {
        var left = Math.max(0, Math.floor((closesAt - Date.now()) / 1000));
        var open = left > 0;
        box.className = "window " + (open ? "open" : "closed");
        box.textContent = open ? L.windowOpen + " " + minutes(left) : L.windowClosed;
        free.forEach(function (form) {
          Array.prototype.forEach.call(form.elements, function (control) { control.disabled = !open; });
        });
      }
      tick();
      windowTimer = setInterval(tick, 1000);
    }

    function render(data) {
      state = data;
      document.getElementById("conv-meta").textContent = "· " + (data.channel || "?") + " · " + (data.language || "?");
      document.getElementById("hold-state").textContent = data.paused
        ? L.botPaused + (data.held_by ? " " + L.heldBy + ": " + data.held_by : "")
        : L.botActive;
      // a colleague's conversation can be taken over too (the hold passes, audited)
      document.getElementById("takeover").hidden = data.paused && data.held_by === document.body.dataset.user;
      document.getElementById("handback").hidden = !data.paused;
      transcript.textContent = "";
      data.turns.forEach(function (turn) { transcript.appendChild(renderTurn(turn)); });
      data.pending.forEach(function (message) {
        var item = el("li", "turn from-coordinator pending");
        item.appendChild(el("p", "who", (message.from || L.assistant) + " · " + (message.status === "failed" ? L.failed : L.pending)));
        item.appendChild(el("p", "text", message.text || message.kind));
        if (message.status !== "failed") { item.appendChild(el("p", "error", L.couldNotDeliver)); }
        transcript.appendChild(item);
      });
      transcript.scrollTop = transcript.scrollHeight;
      var replies = document.getElementById("reply-select");
      if (!replies.options.length) {
        data.replies.forEach(function (r) { var o = el("option", "", r.label); o.value = r.id; replies.appendChild(o); });
      }
      var templates = document.getElementById("template-select");
      if (!templates.options.length) {
        data.templates.forEach(function (tpl) { var o = el("option", "", tpl.name); o.value = tpl.name; o.dataset.description = tpl.description; templates.appendChild(o); });
        var describe = function () { var o = templates.selectedOptions[0]; document.getElementById("template-description").textContent = o ? o.dataset.description : ""; };
        templates.addEventListener("change", describe);
        describe();
      }
      var tickets = document.getElementById("tickets");
      tickets.textContent = "";
      data.tickets.forEach(function (t) {
        var box = el("div", "card ticket kind-" + t.kind);
        box.appendChild(el("h3", "", kindLabel(t.kind) + " · " + t.reference + (t.status === "closed" ? " · " + L.closed : "")));
        var answers = t.form_data || {};
        var keys = Object.keys(answers);
        if (keys.length) {
          box.appendChild(el("p", "label", L.bookingAnswers));
          var dl = el("dl");
          keys.forEach(function (key) { dl.appendChild(el("dt", "", key)); dl.appendChild(el("dd", "", String(answers[key]))); });
          box.appendChild(dl);
        }
        if (t.consent_at) { box.appendChild(el("p", "", L.consentAt + ": " + new Date(t.consent_at).toLocaleString())); }
        tickets.appendChild(box);
      });
      var attachments = document.getElementById("attachments");
      attachments.textContent = "";
      data.attachments.forEach(function (a) {
        var item = el("li");
        var link = el("a", "", a.filename + " (" + Math.round(a.size / 1024) + " KB)");
        link.href = a.url;
        item.appendChild(link);
        attachments.appendChild(item);
      });
      document.getElementById("close-form").hidden = !data.tickets.some(function (t) { return t.status !== "closed"; });
      renderWindow(data.window);
    }

    function load() {
      if (pendingLoad) { return pendingLoad; }
      pendingLoad = api("GET", base).then(function (result) {
        pendingLoad = null;
        if (result.ok) { render(result.data); } else { showError(result); }
      });
      return pendingLoad;
    }

    function post(path, body) {
      errorBox.textContent = "";
      return api("POST", base + path, body).then(function (result) {
        if (!result.ok) { showError(result); }
        return load().then(function () { return result; });
      });
    }

    document.getElementById("takeover").addEventListener("click", function () { post("/takeover"); });
    document.getElementById("handback").addEventListener("click", function () { post("/handback"); });
    document.getElementById("message-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var box = document.getElementById("message-text");
      if (!box.value.trim()) { return; }
      post("/messages", { text: box.value }).then(function (result) { if (result.ok || result.status === 502) { box.value = ""; } });
    });
    document.getElementById("reply-form").addEventListener("submit", function (event) {
      event.preventDefault();
      post("/messages", { reply: document.getElementById("reply-select").value });
    });
    document.getElementById("template-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var raw = document.getElementById("template-parameters").value;
      var parameters = raw.trim() ? raw.split(",").map(function (p) { return p.trim(); }) : [];
      post("/messages", { template: document.getElementById("template-select").value, parameters: parameters });
    });
    document.getElementById("close-form").addEventListener("submit", function (event) {
      event.preventDefault();
      var open = (state ? state.tickets : []).filter(function (t) { return t.status !== "closed"; });
      var outcome = document.getElementById("close-outcome").value;
      Promise.all(open.map(function (t) { return api("POST", "/api/tickets/" + t.id + "/close", { outcome: outcome }); })).then(load);
    });
    function mine(data) { if (data.conversation_id === id) { load(); } }
    live({ message: mine, hold: mine, outbox: mine, ticket: mine, reset: load });
    load();
  }

  function accountPage() {
    var result = document.getElementById("account-result");
    document.getElementById("password-form").addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/account", {
        current_password: document.getElementById("current-password").value,
        new_password: document.getElementById("new-password").value
      }).then(function (r) {
        if (r.ok) { location.href = "/login"; } else { result.textContent = L.error + " " + (r.data.error || r.status); }
      });
    });
    document.getElementById("language-form").addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/account", { language: document.getElementById("ui-language").value }).then(function (r) {
        if (r.ok) { location.reload(); } else { result.textContent = L.error + " " + (r.data.error || r.status); }
      });
    });
  }

  function usersPage() {
    var result = document.getElementById("user-result");
    document.getElementById("user-form").addEventListener("submit", function (event) {
      event.preventDefault();
      api("POST", "/api/users", {
        username: document.getElementById("new-username").value,
        display_name: document.getElementById("new-display-name").value,
        role: document.getElementById("new-role").value,
        language: document.getElementById("new-language").value
      }).then(function (r) {
        result.textContent = r.ok ? L.oneTimePassword + " " + r.data.one_time_password : L.error + " " + (r.data.error || r.status);
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".user-toggle"), function (button) {
      button.addEventListener("click", function () {
        api("POST", "/api/users/" + encodeURIComponent(button.dataset.username), { active: button.dataset.active === "true" }).then(function () { location.reload(); });
      });
    });
    Array.prototype.forEach.call(document.querySelectorAll(".user-reset"), function (button) {
      button.addEventListener("click", function () {
        api("POST", "/api/users/" + encodeURIComponent(button.dataset.username), { reset_password: true }).then(function (r) {
          result.textContent = r.ok ? button.dataset.username + ": " + L.oneTimePassword + " " + r.data.one_time_password : L.error + " " + (r.data.error || r.status);
        });
      });
    });
  }

  function privacyPage() {
    var input = document.getElementById("privacy-id");
    var result = document.getElementById("privacy-result");
    document.getElementById("privacy-form").addEventListener("submit", function (event) {
      event.preventDefault();
      location.href = "/api/privacy/" + encodeURIComponent(input.value.trim()) + "/export";
    });
    document.getElementById("privacy-delete").addEventListener("click", function () {
      if (!input.value.trim() || !window.confirm(L.deleteConfirm)) { return; }
      api("POST", "/api/privacy/" + encodeURIComponent(input.value.trim()) + "/delete", {}).then(function (r) {
        result.textContent = r.ok ? L.deleted : L.error + " " + (r.data.error || r.status);
      });
    });
  }

  var logout = document.getElementById("logout");
  if (logout) {
    logout.addEventListener("click", function () {
      api("POST", "/api/logout", {}).then(function () { location.href = "/login"; });
    });
  }
  var pages = { login: loginPage, queue: queuePage, conversation: conversationPage, account: accountPage, users: usersPage, privacy: privacyPage };
  if (pages[page]) { pages[page](); }
})();
