// Website chat widget for the hemifacial spasm assistant. Plain JavaScript, no build step.
//
// The bot server serves this file inside /widget/widget.js, together with the socket.io
// client, widget.css and labels.json (see bot/channels/widget_assets.py), and calls
// startHfsWidget(io, scriptTag, css, labels). A clinic embeds it with one tag:
//
//   <script src="https://bot.example/widget/widget.js" data-language="ar" defer></script>
//
// It speaks Rasa's socket.io protocol (session_request/session_confirm,
// user_uttered/bot_uttered) and adds to it only through metadata: `language` when the
// visitor picked one, `message_id` so that a message resent after a network drop is
// processed once. Bot text is rendered as text; only **bold**, [links](https://…) and bare
// https:// links become markup. A `bot_uttered` whose `metadata.from` is "coordinator" is a
// person of the clinic's team writing (sent by the coordinator console): shown with their
// name and the team label above the bubble, in its own style, and kept in the history.

/* exported startHfsWidget */
function startHfsWidget(io, script, css, LABELS) {
  "use strict";

  const LANGUAGES = ["en", "ar", "tr", "ru", "de", "fr"];
  const LANGUAGE_NAMES = {
    en: "English", ar: "العربية", tr: "Türkçe", ru: "Русский", de: "Deutsch", fr: "Français",
  };
  const RTL_LANGUAGES = ["ar"];
  const HUMAN_PAYLOAD = "/request_human";
  const HOST_ID = "hfs-chat-widget";
  const MAX_HISTORY = 200;
  const MAX_SEEN_IDS = 50;
  const MAX_MESSAGE_LENGTH = 1000;
  const MAX_NAME_LENGTH = 80;
  const TYPING_TIMEOUT_MS = 60000;
  const LINK_PROTOCOLS = ["http:", "https:", "mailto:", "tel:"];
  const LANGUAGE_PAYLOAD = /^\/change_language\{\s*"language"\s*:\s*"([a-z]{2})"\s*\}$/;
  const INLINE_MARKUP =
    /\[([^\]\n]{1,300})\]\(([^()\s]{1,2000})\)|\*\*([^*\n]{1,500})\*\*|(https?:\/\/[^\s<>"]*[^\s<>".,;:!?)\]'])/g;

  if (!script || document.getElementById(HOST_ID)) return; // included twice: one widget

  // ---- configuration: data- attributes of the script tag ----------------------------

  function supportedLanguage(value) {
    const code = String(value || "").trim().toLowerCase().replace("_", "-").split("-")[0];
    return LANGUAGES.indexOf(code) >= 0 ? code : null;
  }

  function browserLanguage() {
    const preferred = navigator.languages && navigator.languages.length
      ? navigator.languages : [navigator.language];
    for (const value of preferred) {
      const code = supportedLanguage(value);
      if (code) return code;
    }
    return null;
  }

  function safeUrl(value, protocols) {
    if (!value) return null;
    try {
      const url = new URL(value, location.href);
      return protocols.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function absoluteUrl(value) { // links in bot messages: absolute only, safe schemes only
    try {
      const url = new URL(value);
      return LINK_PROTOCOLS.indexOf(url.protocol) >= 0 ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function validColor(value) {
    return value && window.CSS && CSS.supports("color", value) ? value : null;
  }

  function readConfig(tag) {
    const data = tag.dataset;
    const server = new URL(data.serverUrl || tag.src, location.href);
    return {
      serverUrl: server.origin,
      socketPath: data.socketPath || "/socket.io/",
      language: supportedLanguage(data.language),
      title: data.title || "",
      primaryColor: validColor(data.primaryColor),
      primaryTextColor: validColor(data.primaryTextColor),
      privacyUrl: safeUrl(data.privacyUrl, ["http:", "https:"]),
      storageKey: "hfs-widget:" + server.origin,
    };
  }

  const config = readConfig(script);

  // ---- state kept in localStorage: survives reloads and navigation ------------------

  function loadState() {
    let saved = {};
    try {
      saved = JSON.parse(localStorage.getItem(config.storageKey) || "{}") || {};
    } catch (error) {
      saved = {}; // storage disabled or corrupt: start afresh
    }
    return {
      sessionId: typeof saved.sessionId === "string" ? saved.sessionId : null,
      history: Array.isArray(saved.history) ? saved.history.filter(isStoredMessage) : [],
      outbox: Array.isArray(saved.outbox) ? saved.outbox.filter(isOutboxItem) : [],
      pickedLanguage: supportedLanguage(saved.pickedLanguage),
      hint: supportedLanguage(saved.hint),
      open: saved.open === true,
    };
  }

  function isStoredMessage(m) {
    if (m && m.from === "coordinator") return typeof m.name === "string" && m.name.length > 0;
    return m && (m.from === "user" || m.from === "bot");
  }

  function isOutboxItem(item) {
    return item && typeof item.id === "string" && typeof item.message === "string";
  }

  function saveState() {
    try {
      state.history = state.history.slice(-MAX_HISTORY);
      localStorage.setItem(config.storageKey, JSON.stringify(state));
    } catch (error) {
      // storage full or disabled: the conversation still works, it just won't survive a reload
    }
  }

  const state = loadState();
  let language = state.pickedLanguage || config.language || browserLanguage() || "en";
  if (!state.sessionId && !state.history.length && (state.pickedLanguage || config.language)) {
    state.hint = language; // a language chosen on purpose travels with the first message
  }

  // ---- DOM helpers: text is always a Text node, never HTML -----------------------------

  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children || []) node.append(child);
    return node;
  }

  function label(key) {
    return (LABELS[language] && LABELS[language][key]) || LABELS.en[key] || "";
  }

  function link(text, href) {
    return el("a", { href: href, target: "_blank", rel: "noopener noreferrer nofollow" }, [text]);
  }

  function renderLine(line, parent) {
    let last = 0;
    INLINE_MARKUP.lastIndex = 0;
    for (let match = INLINE_MARKUP.exec(line); match; match = INLINE_MARKUP.exec(line)) {
      parent.append(line.slice(last, match.index));
      if (match[1] !== undefined) {
        const href = absoluteUrl(match[2]);
        parent.append(href ? link(match[1], href) : match[0]);
      } else if (match[3] !== undefined) {
        parent.append(el("strong", {}, [match[3]]));
      } else {
        const href = absoluteUrl(match[4]);
        parent.append(href ? link(match[4], href) : match[4]);
      }
      last = INLINE_MARKUP.lastIndex;
    }
    parent.append(line.slice(last));
  }

  function renderText(text, parent) {
    text.split("\n").forEach(function (line, index) {
      if (index) parent.append(el("br"));
      renderLine(line, parent);
    });
  }

  // ---- messages ----------------------------------------------------------------------

  function choicesOf(list) {
    if (!Array.isArray(list)) return [];
    return list
      .filter(function (b) { return b && typeof b.title === "string" && b.title.trim(); })
      .slice(0, 12)
      .map(function (b) {
        return {
          title: b.title,
          payload: typeof b.payload === "string" ? b.payload : "",
          url: b.type === "web_url" ? absoluteUrl(b.url) : null,
        };
      })
      .filter(function (b) { return b.payload || b.url; });
  }

  function coordinatorName(metadata) {
    if (!metadata || typeof metadata !== "object" || metadata.from !== "coordinator") return null;
    const name = typeof metadata.name === "string" ? metadata.name.trim() : "";
    return name ? name.slice(0, MAX_NAME_LENGTH) : null;
  }

  function botMessage(payload) {
    if (!payload || typeof payload !== "object") return null;
    const message = { from: "bot" };
    const name = coordinatorName(payload.metadata);
    if (name) {
      message.from = "coordinator";
      message.name = name;
    }
    const id = payload.metadata && payload.metadata.message_id;
    if (typeof id === "string" && /^[A-Za-z0-9_-]{1,64}$/.test(id)) message.id = id;
    if (typeof payload.text === "string" && payload.text.trim()) message.text = payload.text;
    const attachment = payload.attachment;
    let image = typeof payload.image === "string" ? payload.image : null;
    if (attachment && attachment.type === "image" && attachment.payload) {
      image = attachment.payload.src || attachment.payload.url || null;
    }
    image = image && safeUrl(image, ["http:", "https:"]);
    if (image) message.image = image;
    const buttons = choicesOf(payload.buttons);
    if (buttons.length) message.buttons = buttons;
    const quickReplies = choicesOf(payload.quick_replies);
    if (quickReplies.length) message.quickReplies = quickReplies;
    return message.text || message.image || message.buttons || message.quickReplies ? message : null;
  }

  function choiceGroup(choices, className) {
    const group = el("div", { class: className, role: "group" });
    for (const choice of choices) {
      if (choice.url) {
        group.append(el("a", {
          class: "hfs-choice", href: choice.url, target: "_blank", rel: "noopener noreferrer",
        }, [choice.title]));
        continue;
      }
      const button = el("button", { type: "button", class: "hfs-choice", dir: "auto" }, [choice.title]);
      button.addEventListener("click", function () {
        const picked = LANGUAGE_PAYLOAD.exec(choice.payload);
        if (picked && supportedLanguage(picked[1])) pickLanguage(picked[1], false);
        send(choice.title, choice.payload);
      });
      group.append(button);
    }
    return group;
  }

  function senderLine(name) {
    // "Ayşe · clinic team": the name in a <bdi>, so a Latin name reads right in Arabic
    const line = el("p", { class: "hfs-sender" });
    const parts = label("coordinator").split("{name}");
    parts.forEach(function (part, i) {
      if (i > 0) line.append(el("bdi", {}, [name]));
      if (part) line.append(document.createTextNode(part));
    });
    return line;
  }

  function messageElement(message, isLast) {
    const person = message.from === "coordinator";
    const bubble = el("div", {
      class: "hfs-message " + (person ? "hfs-from-bot hfs-from-coordinator" : "hfs-from-" + message.from),
    });
    if (person) bubble.append(senderLine(message.name));
    if (message.text) {
      const text = el("p", { class: "hfs-text", dir: "auto" });
      renderText(message.text, text);
      bubble.append(text);
    }
    if (message.image) {
      bubble.append(el("img", {
        class: "hfs-image", src: message.image, alt: label("image"), loading: "lazy",
        referrerpolicy: "no-referrer",
      }));
    }
    if (message.buttons) bubble.append(choiceGroup(message.buttons, "hfs-buttons"));
    if (message.quickReplies && isLast) {
      bubble.append(choiceGroup(message.quickReplies, "hfs-quick-replies"));
    }
    return bubble;
  }

  // ---- the widget's elements, in a shadow root (the clinic's CSS can't break them) -------

  const host = el("div", { id: HOST_ID });
  const shadow = host.attachShadow({ mode: "open" });
  if (shadow.adoptedStyleSheets !== undefined && window.CSSStyleSheet) {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css); // not an inline <style>: works under a strict style-src policy
    shadow.adoptedStyleSheets = [sheet];
  } else {
    shadow.append(el("style", {}, [css]));
  }

  const root = el("div", { class: "hfs-root" });
  if (config.primaryColor) root.style.setProperty("--hfs-primary", config.primaryColor);
  if (config.primaryTextColor) root.style.setProperty("--hfs-on-primary", config.primaryTextColor);

  const launcherBadge = el("span", { class: "hfs-badge", hidden: true, "aria-hidden": "true" });
  const launcher = el("button", {
    type: "button", class: "hfs-launcher", "aria-expanded": "false", "aria-controls": "hfs-panel",
  }, [chatIcon(), closeIcon(), launcherBadge]);
  const title = el("h2", { class: "hfs-title", id: "hfs-title" });
  const languageLabel = el("label", { class: "hfs-visually-hidden", for: "hfs-language" });
  const picker = el("select", { class: "hfs-language", id: "hfs-language" },
    LANGUAGES.map(function (code) {
      return el("option", { value: code, lang: code }, [LANGUAGE_NAMES[code]]);
    }));
  const restartButton = el("button", { type: "button", class: "hfs-restart" }, [restartIcon()]);
  const closeButton = el("button", { type: "button", class: "hfs-close" }, ["×"]);
  const status = el("div", { class: "hfs-status", role: "status", hidden: true });
  const log = el("div", {
    class: "hfs-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    tabindex: "0",
  });
  const notice = el("p", { class: "hfs-notice" });
  const welcome = el("div", { class: "hfs-message hfs-from-bot hfs-welcome" });
  const messages = el("div", { class: "hfs-messages" });
  const typingText = el("span", { class: "hfs-visually-hidden" });
  const typing = el("div", { class: "hfs-typing", hidden: true, role: "status" }, [
    el("span", { class: "hfs-dot", "aria-hidden": "true" }),
    el("span", { class: "hfs-dot", "aria-hidden": "true" }),
    el("span", { class: "hfs-dot", "aria-hidden": "true" }),
    typingText,
  ]);
  const humanButton = el("button", { type: "button", class: "hfs-human" });
  const inputLabel = el("label", { class: "hfs-visually-hidden", for: "hfs-input" });
  const input = el("input", {
    type: "text", id: "hfs-input", class: "hfs-input", autocomplete: "off", dir: "auto",
    maxlength: String(MAX_MESSAGE_LENGTH), enterkeyhint: "send",
  });
  const sendButton = el("button", { type: "submit", class: "hfs-send" }, [sendIcon()]);
  const composer = el("form", { class: "hfs-composer" }, [inputLabel, input, sendButton]);
  const panel = el("section", {
    class: "hfs-panel", id: "hfs-panel", role: "dialog", "aria-labelledby": "hfs-title", hidden: true,
  }, [
    el("header", { class: "hfs-header" }, [title, languageLabel, picker, restartButton, closeButton]),
    status,
    log,
    typing,
    el("div", { class: "hfs-actions" }, [humanButton]),
    composer,
  ]);
  log.append(notice, welcome, messages);
  root.append(panel, launcher);
  shadow.append(root);

  function svg(path) {
    const ns = "http://www.w3.org/2000/svg";
    const icon = document.createElementNS(ns, "svg");
    icon.setAttribute("viewBox", "0 0 24 24");
    icon.setAttribute("aria-hidden", "true");
    icon.setAttribute("focusable", "false");
    const shape = document.createElementNS(ns, "path");
    shape.setAttribute("d", path);
    icon.append(shape);
    return icon;
  }

  function chatIcon() {
    const icon = svg("M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
    icon.setAttribute("class", "hfs-icon-chat");
    return icon;
  }

  function closeIcon() {
    const icon = svg("M6 8.6 7.4 7.2 12 11.8l4.6-4.6L18 8.6l-6 6z");
    icon.setAttribute("class", "hfs-icon-close");
    return icon;
  }

  function restartIcon() {
    return svg("M12 5V2L7 6l5 4V7a5 5 0 1 1-5 5H5a7 7 0 1 0 7-7z");
  }

  function sendIcon() {
    return svg("M3 20.5 21 12 3 3.5 3 10l12 2-12 2z");
  }

  // ---- labels and direction follow the chosen language -------------------------------

  function applyLanguage() {
    const rtl = RTL_LANGUAGES.indexOf(language) >= 0;
    root.setAttribute("dir", rtl ? "rtl" : "ltr");
    root.setAttribute("lang", language);
    picker.value = language;
    title.textContent = config.title || label("title");
    languageLabel.textContent = label("language");
    picker.setAttribute("aria-label", label("language"));
    restartButton.setAttribute("aria-label", label("restart"));
    restartButton.setAttribute("title", label("restart"));
    closeButton.setAttribute("aria-label", label("close"));
    closeButton.setAttribute("title", label("close"));
    log.setAttribute("aria-label", label("conversation"));
    typingText.textContent = label("typing");
    humanButton.textContent = label("human");
    inputLabel.textContent = label("message");
    input.setAttribute("placeholder", label("placeholder"));
    sendButton.setAttribute("aria-label", label("send"));
    sendButton.setAttribute("title", label("send"));
    notice.replaceChildren(label("notice"));
    if (config.privacyUrl) notice.append(" ", link(label("privacy"), config.privacyUrl));
    welcome.replaceChildren(el("p", { class: "hfs-text", dir: "auto" }, [label("welcome")]));
    updateLauncher();
    if (statusKey) status.textContent = label(statusKey);
  }

  function updateLauncher() {
    const open = !panel.hidden;
    const unread = !launcherBadge.hidden;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label",
      (open ? label("close") : label("open")) + (unread ? " (" + label("new_message") + ")" : ""));
  }

  let statusKey = null;
  function setStatus(key) {
    statusKey = key;
    status.hidden = !key;
    status.textContent = key ? label(key) : "";
  }

  // ---- conversation view ---------------------------------------------------------------

  function renderHistory() {
    const last = state.history.length - 1;
    messages.replaceChildren.apply(messages, state.history.map(function (m, i) {
      return messageElement(m, i === last);
    }));
    scrollToEnd();
  }

  function appendMessage(message) {
    state.history.push(message);
    saveState();
    for (const group of messages.querySelectorAll(".hfs-quick-replies")) group.remove();
    messages.append(messageElement(message, true));
    scrollToEnd();
  }

  function scrollToEnd() {
    log.scrollTop = log.scrollHeight;
  }

  let typingTimer = null;
  function showTyping(visible) {
    clearTimeout(typingTimer);
    typing.hidden = !visible;
    if (visible) typingTimer = setTimeout(function () { typing.hidden = true; }, TYPING_TIMEOUT_MS);
    scrollToEnd();
  }

  // ---- sending: an outbox that survives drops and reloads; the server dedupes by id ------

  let socket = null;
  let ready = false; // connected and session confirmed
  let everConnected = false;
  const inFlight = new Set();

  function newId() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function send(display, payload) {
    const message = String(payload || display || "").trim().slice(0, MAX_MESSAGE_LENGTH);
    if (!message) return;
    const metadata = { message_id: newId() };
    if (state.hint) metadata.language = state.hint;
    state.hint = null;
    state.outbox.push({ id: metadata.message_id, message: message, metadata: metadata });
    appendMessage({ from: "user", text: String(display).slice(0, MAX_MESSAGE_LENGTH) });
    showTyping(true);
    connect();
    flush();
  }

  function flush() {
    if (!ready) return;
    for (const item of state.outbox) {
      if (inFlight.has(item.id)) continue;
      inFlight.add(item.id);
      socket.emit("user_uttered",
        { message: item.message, session_id: state.sessionId, metadata: item.metadata },
        function () { delivered(item.id); });
    }
  }

  function delivered(id) { // acknowledged after the bot's replies to it were sent
    inFlight.delete(id);
    state.outbox = state.outbox.filter(function (item) { return item.id !== id; });
    saveState();
    if (!state.outbox.length) showTyping(false);
  }

  // ---- connection ------------------------------------------------------------------------

  function seenMessageIds() {
    return state.history
      .filter(function (m) { return typeof m.id === "string"; })
      .map(function (m) { return m.id; })
      .slice(-MAX_SEEN_IDS);
  }

  function connect() {
    if (socket) return;
    socket = io(config.serverUrl, {
      path: config.socketPath,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
      reconnectionDelay: 1000,
      reconnectionDelayMax: 5000,
    });
    socket.on("connect", function () {
      everConnected = true;
      setStatus(null);
      // `seen`: the console-sent messages this page has shown; the server resends those
      // written while the page was closed (ignored by servers that do not know it)
      socket.emit("session_request", { session_id: state.sessionId, seen: seenMessageIds() });
    });
    socket.on("session_confirm", function (data) {
      const sessionId = typeof data === "string" ? data : data && data.session_id;
      if (typeof sessionId !== "string") return;
      state.sessionId = sessionId;
      saveState();
      ready = true;
      flush();
    });
    socket.on("bot_uttered", function (payload) {
      const message = botMessage(payload);
      if (!message || (message.id && seenMessageIds().indexOf(message.id) !== -1)) return;
      appendMessage(message);
      if (panel.hidden) {
        launcherBadge.hidden = false;
        updateLauncher();
      }
    });
    socket.on("disconnect", function (reason) {
      ready = false;
      inFlight.clear(); // unacknowledged messages are resent, with the same id, after reconnecting
      if (reason !== "io client disconnect") setStatus("reconnecting");
    });
    socket.on("connect_error", function () {
      ready = false;
      setStatus(everConnected && socket.active ? "reconnecting" : "unavailable");
    });
  }

  // ---- opening and closing; keyboard ----------------------------------------------------

  function setOpen(open, focus) {
    panel.hidden = !open;
    root.classList.toggle("hfs-open", open);
    state.open = open;
    saveState();
    if (open) {
      launcherBadge.hidden = true;
      connect();
      scrollToEnd();
      if (focus) input.focus();
    } else if (focus) {
      launcher.focus();
    }
    updateLauncher();
  }

  function restart() { // forget this conversation here and start a new one on the server
    state.history = [];
    state.outbox = [];
    state.sessionId = null;
    state.hint = state.pickedLanguage || config.language;
    inFlight.clear();
    saveState();
    renderHistory();
    showTyping(false);
    if (socket) {
      socket.disconnect();
      socket = null;
      ready = false;
      connect();
    }
    input.focus();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  restartButton.addEventListener("click", restart);
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") {
      event.preventDefault();
      setOpen(false, true);
    }
  });
  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
  humanButton.addEventListener("click", function () { send(label("human"), HUMAN_PAYLOAD); });
  function pickLanguage(code, hint) {
    language = code;
    state.pickedLanguage = code;
    if (hint) state.hint = code; // travels to the bot with the next message
    saveState();
    applyLanguage();
  }

  picker.addEventListener("change", function () {
    pickLanguage(supportedLanguage(picker.value) || "en", true);
  });
  window.addEventListener("storage", function (event) { // another tab of the same site
    if (event.key !== config.storageKey) return;
    const other = loadState();
    state.history = other.history;
    state.sessionId = state.sessionId || other.sessionId;
    renderHistory();
  });

  // ---- start -------------------------------------------------------------------------

  function mount() {
    document.body.append(host);
    applyLanguage();
    renderHistory();
    if (state.open) setOpen(true, false);
    if (state.sessionId || state.outbox.length) connect(); // coordinator replies may arrive
  }

  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
}
