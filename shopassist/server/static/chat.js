// The customer chat page. Untrusted text (the customer's, the bot's, staff's) is only ever
// set with textContent, never parsed as HTML. No build step, no dependencies.
"use strict";

(() => {
  const main = document.querySelector("main.chat");
  const log = document.getElementById("log");
  const form = document.getElementById("composer");
  const input = document.getElementById("message");
  const button = document.getElementById("send");
  const handoff = document.getElementById("handoff");
  const errorLine = document.getElementById("error");
  const words = main.dataset;
  const labels = { customer: words.you, bot: words.bot, staff: words.staff };
  const sendLabel = button.textContent;
  const api = (path) => new URL(path, document.baseURI).toString();

  const storageKey = "shopassist.session";
  let session = null;
  try { session = sessionStorage.getItem(storageKey); } catch (e) { session = null; }
  if (!session || !/^[A-Za-z0-9_-]{16,128}$/.test(session)) {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    session = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    try { sessionStorage.setItem(storageKey, session); } catch (e) { /* private mode */ }
  }

  const shown = new Set();   // event ids already on the page
  let cursor = 0;            // the highest event id the long poll has seen
  let sending = null;        // the promise of the message in flight
  let polling = false;

  // C0/C1 controls (terminal escapes, bells) have no business on a page; the server strips
  // whole escape sequences from what it stores, this is the page's own guard.
  const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;
  const clean = (text) => String(text).replace(CONTROLS, "");

  function addMessage(author, text, id) {
    if (id != null) {
      if (shown.has(id)) return null;
      shown.add(id);
    }
    const item = document.createElement("li");
    item.className = "msg " + author;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = labels[author] || author;
    const body = document.createElement("p");
    body.className = "body";
    body.textContent = clean(text);
    item.append(who, body);
    log.append(item);
    log.scrollTop = log.scrollHeight;
    return item;
  }

  function showError(text) {
    errorLine.textContent = text || "";
    errorLine.hidden = !text;
  }

  function showHandoff(on) {
    if (on) handoff.hidden = false;
  }

  // Server-sent events over fetch (EventSource cannot POST): "token" chunks of verified
  // text, then "done" with the stored reply, or "error".
  async function sendStreaming(text, mine) {
    const response = await fetch(api("api/messages/stream"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ session, text }),
    });
    if (!response.ok) {
      let detail = response.statusText;
      try { detail = (await response.json()).detail || detail; } catch (e) { /* not JSON */ }
      throw new Error(detail);
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let bubble = null;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let event = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          else if (line.startsWith("data: ")) data += line.slice(6);
        }
        const payload = data ? JSON.parse(data) : {};
        if (event === "token") {
          if (!bubble) {
            bubble = addMessage("bot", "", null);
            bubble.classList.add("streaming");
          }
          bubble.querySelector(".body").textContent += clean(payload.text);
          log.scrollTop = log.scrollHeight;
        } else if (event === "done") {
          finishReply(payload, bubble, mine);
          return;
        } else if (event === "error") {
          if (bubble) bubble.remove();
          throw new Error(payload.detail || payload.error);
        }
      }
    }
    if (bubble) bubble.remove();
    throw new Error("the connection closed before the reply was complete");
  }

  function finishReply(payload, bubble, mine) {
    if (payload.events && payload.events.customer != null) shown.add(payload.events.customer);
    // Show the message as the server understood it (escape sequences removed).
    if (mine && payload.text) mine.querySelector(".body").textContent = clean(payload.text);
    if (payload.reply != null) {
      if (!bubble) bubble = addMessage("bot", "", null);
      bubble.classList.remove("streaming");
      bubble.querySelector(".body").textContent = clean(payload.reply);  // the stored reply wins
      if (payload.events.reply != null) shown.add(payload.events.reply);
    } else if (bubble) {
      bubble.remove();
    }
    showHandoff(payload.handoff || payload.pending);
  }

  async function poll() {
    if (polling) return;
    polling = true;
    let delay = 0;
    for (;;) {
      try {
        if (delay) await new Promise((r) => setTimeout(r, delay));
        const url = api(`api/sessions/${encodeURIComponent(session)}/events?after=${cursor}&wait=20`);
        const response = await fetch(url, { cache: "no-store" });
        if (!response.ok) throw new Error(String(response.status));
        const data = await response.json();
        if (sending) await sending.catch(() => {});  // its reply's id must be known first
        for (const event of data.events) {
          cursor = Math.max(cursor, event.id);
          addMessage(event.author, event.text, event.id);
        }
        showHandoff(data.handoff || data.awaiting_person);
        if (errorLine.textContent === words.offline) showError("");
        delay = 0;
      } catch (e) {
        showError(words.offline);
        delay = Math.min((delay || 500) * 2, 8000);
      }
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text || sending) return;
    showError("");
    const mine = addMessage("customer", text, null);
    input.value = "";
    button.disabled = true;
    button.textContent = words.sending;
    sending = sendStreaming(text, mine);
    try {
      await sending;
    } catch (e) {
      mine.classList.add("failed");
      showError(`${words.failed} ${e.message}`);
      input.value = text;
    } finally {
      sending = null;
      button.disabled = false;
      button.textContent = sendLabel;
      input.focus();
      poll();
    }
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });

  // A reload keeps the conversation: show what is stored, then wait for staff replies.
  main.dataset.session = session;
  poll();
})();
