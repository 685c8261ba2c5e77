/*
 * Website chat widget for the clinic's procedure preparation assistant.
 * Plain JavaScript, no build step, no dependencies. Served by Rasa at /webhooks/webchat/widget.js.
 *
 * Safety rules this file follows:
 * - Message text is only ever inserted with textContent / text nodes, never innerHTML.
 * - Links in bot messages become <a> elements only for http(s) URLs, with rel="noopener".
 * - The conversation is identified by a token the server issued (kept in sessionStorage, so it
 *   lasts for this browser tab's session); the page never chooses a conversation id.
 *
 * Embedding: see web/README.md. Attributes on the <script> tag:
 *   data-target="element-id"  render inside that element (otherwise a floating launcher button)
 *   data-title="..."          launcher and panel title (default: the KB's web.launcher_title)
 *   data-lang="es"            language of the widget's own texts (default: the page's lang, the
 *                             browser's languages, then the clinic's default language)
 *
 * Every sentence this widget shows is an approved KB text (data/kb/texts/<lang>/web.yml). The
 * server writes them, with the clinic's name and numbers, into WIDGET below when it serves this
 * file (bot/channels/webchat.py), so the widget can still say "call the clinic" when the
 * assistant cannot answer.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.src) {
    return;
  }
  var API = new URL(".", script.src).href; // ".../webhooks/webchat/"
  var TOKEN_KEY = "rwc-session:" + API;
  var MAX_LENGTH = 2000;
  var REQUEST_TIMEOUT_MS = 45000;
  var URL_PATTERN = /https?:\/\/[^\s<>"']+/g;
  var WIDGET = /*__WIDGET_DATA__*/ null; // {default_language, clinic, texts: {lang: {key: text}}}
  var config = (WIDGET && WIDGET.clinic) || { clinic_name: "", clinic_phone: "", emergency_number: "" };
  var language = pickLanguage();
  var memoryToken = null; // used when sessionStorage is unavailable
  var queue = Promise.resolve();
  var ui = {};

  // ---------------------------------------------------------------- texts
  function pickLanguage() {
    var texts = (WIDGET && WIDGET.texts) || {};
    var wanted = [script.getAttribute("data-lang"), document.documentElement.lang]
      .concat(navigator.languages || [navigator.language]);
    for (var i = 0; i < wanted.length; i += 1) {
      var code = String(wanted[i] || "").toLowerCase().split("-")[0];
      if (code && texts[code]) {
        return code;
      }
    }
    return (WIDGET && WIDGET.default_language) || "en";
  }

  /* The KB text for `key` in the widget's language (else the clinic's default), filled. */
  function t(key, values) {
    var texts = (WIDGET && WIDGET.texts) || {};
    var own = texts[language] || {};
    var fallback = texts[(WIDGET && WIDGET.default_language) || "en"] || {};
    var text = own[key] !== undefined ? own[key] : fallback[key];
    if (text === undefined) {
      return "";
    }
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  // ---------------------------------------------------------------- small DOM helpers
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  function hiddenLabel(text) {
    return el("span", "rwc-visually-hidden", text);
  }

  /* Append text to a node, turning http(s) URLs into safe links. Never parses HTML. */
  function appendRichText(parent, text) {
    var value = String(text);
    var last = 0;
    value.replace(URL_PATTERN, function (match, offset) {
      var url = match.replace(/[.,;:!?)\]]+$/, "");
      parent.appendChild(document.createTextNode(value.slice(last, offset)));
      var link = safeLink(url);
      parent.appendChild(link || document.createTextNode(url));
      last = offset + url.length;
      return match;
    });
    parent.appendChild(document.createTextNode(value.slice(last)));
  }

  function safeLink(url) {
    var parsed;
    try {
      parsed = new URL(url);
    } catch (error) {
      return null;
    }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
      return null;
    }
    var link = el("a", "rwc-link", url);
    link.href = parsed.href;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  // ---------------------------------------------------------------- session storage
  function readToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (error) {
      return memoryToken;
    }
  }

  function writeToken(token) {
    memoryToken = token;
    try {
      if (token) {
        window.sessionStorage.setItem(TOKEN_KEY, token);
      } else {
        window.sessionStorage.removeItem(TOKEN_KEY);
      }
    } catch (error) {
      /* private mode: keep the token in memory only */
    }
  }

  // ---------------------------------------------------------------- HTTP
  function request(method, path, body) {
    var headers = { Accept: "application/json" };
    var token = readToken();
    if (token) {
      headers.Authorization = "Bearer " + token;
    }
    var options = { method: method, headers: headers, credentials: "omit", cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    var controller = window.AbortController ? new AbortController() : null;
    if (controller) {
      options.signal = controller.signal;
      setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    }
    return fetch(API + path, options).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        return { status: response.status, data: data };
      });
    });
  }

  function newSession() {
    writeToken(null);
    return request("POST", "session").then(function (result) {
      if (result.status !== 200 || !result.data.token) {
        throw new Error("session");
      }
      writeToken(result.data.token);
    });
  }

  function ensureSession() {
    return readToken() ? Promise.resolve() : newSession();
  }

  // ---------------------------------------------------------------- rendering
  function scrollToEnd() {
    ui.log.scrollTop = ui.log.scrollHeight;
  }

  function clearQuickReplies() {
    var groups = ui.log.querySelectorAll(".rwc-quick");
    for (var i = 0; i < groups.length; i += 1) {
      groups[i].parentNode.removeChild(groups[i]);
    }
  }

  function addMessage(role, text) {
    var row = el("div", "rwc-msg rwc-msg--" + role);
    var bubble = el("p", "rwc-bubble");
    bubble.appendChild(hiddenLabel((role === "user" ? t("web.you_said") : t("web.assistant_said")) + " "));
    appendRichText(bubble, text);
    row.appendChild(bubble);
    ui.log.appendChild(row);
    scrollToEnd();
    return row;
  }

  function addQuickReplies(buttons) {
    var group = el("div", "rwc-quick");
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", t("web.suggested"));
    buttons.forEach(function (button) {
      var choice = el("button", "rwc-quick-button", button.title);
      choice.type = "button";
      choice.addEventListener("click", function () {
        clearQuickReplies();
        ui.input.focus();
        send(button.payload, button.title);
      });
      group.appendChild(choice);
    });
    ui.log.appendChild(group);
    scrollToEnd();
  }

  function addBotMessages(messages) {
    (messages || []).forEach(function (message) {
      if (message.text) {
        addMessage("bot", message.text);
      }
      if (message.image) {
        addMessage("bot", message.image);
      }
      if (message.buttons && message.buttons.length) {
        addQuickReplies(message.buttons);
      }
    });
  }

  function setTyping(on) {
    ui.typing.hidden = !on;
    ui.typingText.textContent = on ? t("web.typing") : "";
    if (on) {
      scrollToEnd();
    }
  }

  function showError(text) {
    ui.error.textContent = text || "";
    ui.error.hidden = !text;
  }

  function fallbackText() {
    return t("web.cannot_answer");
  }

  // ---------------------------------------------------------------- conversation
  function postMessage(text, retried) {
    return ensureSession()
      .then(function () { return request("POST", "message", { message: text }); })
      .then(function (result) {
        if (result.status === 401 && !retried) {
          return newSession().then(function () {
            addMessage("bot", t("web.session_ended"));
            return postMessage(text, true);
          });
        }
        return result;
      });
  }

  function send(text, displayText) {
    var trimmed = String(text || "").trim();
    if (!trimmed) {
      showError(t("web.empty_message"));
      return;
    }
    if (trimmed.length > MAX_LENGTH) {
      showError(t("web.too_long", { max_length: MAX_LENGTH }));
      return;
    }
    showError("");
    clearQuickReplies();
    addMessage("user", displayText || trimmed);
    queue = queue.then(function () {
      setTyping(true);
      return postMessage(trimmed, false)
        .then(function (result) {
          setTyping(false);
          if (result.status === 200) {
            switchLanguage(result.data.language);
            addBotMessages(result.data.messages);
          } else if (result.status >= 400 && result.status < 500 && result.data.message) {
            showError(errorText(result.data));
          } else {
            addMessage("bot", fallbackText());
          }
        })
        .catch(function () {
          setTyping(false);
          addMessage("bot", fallbackText());
        });
    });
  }

  /* A 4xx in the widget's language: the codes the server sends (bot/channels/webchat.py). */
  function errorText(data) {
    var keys = {
      empty_message: "web.empty_message",
      message_too_long: "web.too_long",
      invalid_message: "web.empty_message"
    };
    var key = keys[data.error];
    if (key) {
      return t(key, { max_length: MAX_LENGTH });
    }
    return data.message || fallbackText();
  }

  function loadHistory() {
    if (!readToken()) {
      return newSession();
    }
    return request("GET", "history").then(function (result) {
      if (result.status === 401) {
        return newSession();
      }
      (result.data.messages || []).forEach(function (message) {
        if (message.role === "user") {
          addMessage("user", message.text);
        } else {
          addBotMessages([message]);
        }
      });
    });
  }

  // ---------------------------------------------------------------- building the widget
  /* Set a node's text (or attribute) from a KB key, and remember it for a language switch. */
  function labelled(node, key, attribute) {
    ui.labels = ui.labels || [];
    ui.labels.push({ node: node, key: key, attribute: attribute });
    if (attribute) {
      node.setAttribute(attribute, t(key));
    } else {
      node.textContent = t(key);
    }
    return node;
  }

  /* The patient writes in another language the widget has texts for: its labels follow. */
  function switchLanguage(code) {
    var texts = (WIDGET && WIDGET.texts) || {};
    if (!code || code === language || !texts[code]) {
      return;
    }
    language = code;
    ui.container.setAttribute("lang", language);
    (ui.labels || []).forEach(function (item) {
      if (item.attribute) {
        item.node.setAttribute(item.attribute, t(item.key));
      } else {
        item.node.textContent = t(item.key);
      }
    });
    buildEmergency(ui.container);
  }

  function buildEmergency(container) {
    if (!config.emergency_number) {
      return;
    }
    var note = container.querySelector(".rwc-emergency");
    if (note) {
      while (note.firstChild) {
        note.removeChild(note.firstChild);
      }
    } else {
      note = el("p", "rwc-emergency");
      var header = container.querySelector(".rwc-header");
      container.insertBefore(note, header ? header.nextSibling : container.firstChild);
    }
    var strong = el("strong");
    var banner = t("web.emergency_banner");
    var at = banner.indexOf(config.emergency_number);
    var tel = el("a", null, config.emergency_number);
    tel.href = "tel:" + config.emergency_number.replace(/[^0-9+]/g, "");
    if (at < 0) {
      strong.appendChild(document.createTextNode(banner + " "));
      strong.appendChild(tel);
    } else {
      strong.appendChild(document.createTextNode(banner.slice(0, at)));
      strong.appendChild(tel);
      strong.appendChild(document.createTextNode(banner.slice(at + config.emergency_number.length)));
    }
    note.appendChild(strong);
    note.appendChild(document.createTextNode(" " + t("web.not_watched")));
  }

  function buildChat(container) {
    ui.log = el("div", "rwc-log");
    ui.log.setAttribute("role", "log");
    ui.log.setAttribute("aria-live", "polite");
    ui.log.setAttribute("aria-relevant", "additions");
    labelled(ui.log, "web.log_label", "aria-label");
    ui.log.tabIndex = 0; // scrollable region must be reachable by keyboard

    ui.typing = el("div", "rwc-typing");
    ui.typing.setAttribute("role", "status");
    ui.typingText = hiddenLabel("");
    ui.typing.appendChild(ui.typingText);
    for (var i = 0; i < 3; i += 1) {
      var dot = el("span", "rwc-dot");
      dot.setAttribute("aria-hidden", "true");
      ui.typing.appendChild(dot);
    }
    ui.typing.hidden = true;

    ui.error = el("p", "rwc-error");
    ui.error.setAttribute("role", "alert");
    ui.error.hidden = true;

    var form = el("form", "rwc-form");
    form.noValidate = true;
    var label = labelled(el("label", "rwc-label"), "web.input_label");
    label.htmlFor = "rwc-input";
    ui.input = el("textarea", "rwc-input");
    ui.input.id = "rwc-input";
    ui.input.rows = 1;
    ui.input.maxLength = MAX_LENGTH;
    ui.input.setAttribute("aria-describedby", "rwc-hint");
    ui.input.setAttribute("autocomplete", "off");
    var sendButton = labelled(el("button", "rwc-send"), "web.send");
    sendButton.type = "submit";
    var hint = labelled(el("p", "rwc-hint"), "web.hint");
    hint.id = "rwc-hint";
    var row = el("div", "rwc-input-row");
    row.appendChild(ui.input);
    row.appendChild(sendButton);
    form.appendChild(label);
    form.appendChild(row);
    form.appendChild(hint);

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var text = ui.input.value;
      if (!text.trim()) {
        showError(t("web.empty_message"));
        ui.input.focus();
        return;
      }
      ui.input.value = "";
      send(text);
    });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
      }
    });

    container.appendChild(ui.log);
    container.appendChild(ui.typing);
    container.appendChild(ui.error);
    container.appendChild(form);
  }

  function buildLauncher() {
    var title = script.getAttribute("data-title");
    var launcher = el("button", "rwc-launcher", title || t("web.launcher_title"));
    if (!title) {
      labelled(launcher, "web.launcher_title");
    }
    launcher.type = "button";
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-controls", "rwc-panel");
    var panel = el("section", "rwc rwc--panel");
    panel.id = "rwc-panel";
    panel.hidden = true;
    panel.setAttribute("aria-labelledby", "rwc-panel-title");
    var header = el("header", "rwc-header");
    var heading = el("h2", "rwc-title", title || t("web.launcher_title"));
    if (!title) {
      labelled(heading, "web.launcher_title");
    }
    heading.id = "rwc-panel-title";
    var close = labelled(el("button", "rwc-close"), "web.close");
    close.type = "button";
    header.appendChild(heading);
    header.appendChild(close);
    panel.appendChild(header);

    function toggle(open) {
      panel.hidden = !open;
      launcher.setAttribute("aria-expanded", open ? "true" : "false");
      if (open) {
        ui.input.focus();
      } else {
        launcher.focus();
      }
    }
    launcher.addEventListener("click", function () { toggle(panel.hidden); });
    close.addEventListener("click", function () { toggle(false); });
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        toggle(false);
      }
    });
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    return panel;
  }

  function start() {
    var targetId = script.getAttribute("data-target");
    var container = targetId ? document.getElementById(targetId) : buildLauncher();
    if (!container) {
      return;
    }
    if (!targetId) {
      var link = document.createElement("link");
      link.rel = "stylesheet";
      link.href = API + "widget.css";
      document.head.appendChild(link);
    }
    ui.container = container;
    container.setAttribute("lang", language);
    buildChat(container);
    buildEmergency(container);
    addMessage("bot", t("web.welcome"));
    queue = loadHistory().catch(function () {
      showError(t("web.cannot_start"));
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
