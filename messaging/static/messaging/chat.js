/* The chat page: live messages, composer (idempotent retries by client_id), typing,
 * presence, read state and receipts. The server's sanitised body_html is the only HTML
 * inserted; everything else goes in as text. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, a) => f.replace("%s", a[0]));
  const ngettext = window.ngettext || ((one, many, n) => (n === 1 ? one : many));
  const Lyceum = window.Lyceum;
  const state = JSON.parse(document.getElementById("chat-state").textContent);
  const me = state.me.id;
  const rt = Lyceum.realtime;
  const api = (url, options) => {
    const opts = Object.assign({credentials: "same-origin", headers: {}}, options || {});
    if (opts.json !== undefined) {
      opts.body = JSON.stringify(opts.json);
      opts.headers["Content-Type"] = "application/json";
    }
    if (opts.method && opts.method !== "GET") opts.headers["X-CSRFToken"] = Lyceum.shell.csrfToken();
    return fetch(url, opts).then((r) => r.json().then((d) => { if (!r.ok) throw d; return d; }));
  };
  const uuid = () => (crypto.randomUUID ? crypto.randomUUID() :
    "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));

  // -- conversation list badges (counts owned by nav.js) ----------------------------------
  function bindBadges() {
    if (!Lyceum.chatNav) return;
    Lyceum.chatNav.onChange((counts) => {
      document.querySelectorAll("[data-unread]").forEach((el) => {
        const n = counts[el.dataset.unread] || 0;
        el.textContent = String(n);
        el.hidden = n <= 0;
      });
    });
  }
  if (Lyceum.chatNav) bindBadges(); else document.addEventListener("DOMContentLoaded", bindBadges);

  const receipts = document.getElementById("receipts-setting");
  if (receipts) receipts.addEventListener("change", () => {
    api("/api/v1/chat/settings/", {method: "PATCH", json: {read_receipts: receipts.checked}}).catch(() => {});
  });

  const newForm = document.getElementById("new-conversation");
  if (newForm) newForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const members = Array.from(document.getElementById("new-members").selectedOptions).map((o) => Number(o.value));
    const title = document.getElementById("new-title").value.trim();
    const kind = members.length === 1 && !title ? "direct" : "group";
    api("/api/v1/conversations/", {method: "POST", json: {kind: kind, title: title, members: members}})
      .then((c) => { location.href = "/chat/" + c.id + "/"; })
      .catch((e) => Lyceum.toast((e.error && e.error.message) || gettext("Could not start the conversation.")));
  });

  // -- browsing the conversation list --------------------------------------------------
  const filterInput = document.getElementById("conversation-filter");
  const kindButtons = Array.from(document.querySelectorAll(".kind-filter button"));
  let kinds = [];
  function applyFilter() {
    const words = filterInput.value.trim().toLowerCase();
    let shown = 0;
    document.querySelectorAll("#conversation-list li[data-kind]").forEach((li) => {
      const name = (li.querySelector(".name") || li).textContent.toLowerCase();
      const visible = (!words || name.includes(words)) && (!kinds.length || kinds.includes(li.dataset.kind));
      li.hidden = !visible;
      if (visible) shown += 1;
    });
    document.getElementById("conversation-none").hidden = shown > 0;
  }
  if (filterInput) {
    filterInput.addEventListener("input", applyFilter);
    kindButtons.forEach((button) => button.addEventListener("click", () => {
      kinds = button.dataset.kind ? button.dataset.kind.split(" ") : [];
      kindButtons.forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      applyFilter();
    }));
  }

  // -- the Threads list: followed threads and their unread replies, live ----------------
  const threads = new Map();  // root id -> list item payload
  (state.threads || []).forEach((t) => threads.set(t.root, t));
  const threadList = document.getElementById("thread-list");
  function renderThreads() {
    if (!threadList) return;
    threadList.textContent = "";
    let total = 0;
    const items = Array.from(threads.values()).filter((t) => t.state === "following");
    items.sort((a, b) => String(b.last_reply_at || "").localeCompare(String(a.last_reply_at || "")));
    for (const t of items) {
      total += t.unread || 0;
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = "/chat/" + t.conversation + "/?thread=" + t.root;
      a.dataset.thread = t.root;
      a.setAttribute("data-testid", "thread-item");
      const excerpt = document.createElement("span");
      excerpt.className = "excerpt";
      excerpt.textContent = (t.root_sender ? t.root_sender + ": " : "") + (t.excerpt || gettext("deleted message"));
      const badge = document.createElement("span");
      badge.className = "unread";
      badge.setAttribute("data-testid", "thread-unread");
      badge.textContent = String(t.unread || 0);
      badge.hidden = !t.unread;
      const where = document.createElement("span");
      where.className = "where";
      where.textContent = interpolate(ngettext("%s reply", "%s replies", t.reply_count), [t.reply_count]) +
        (t.conversation_title ? " · " + t.conversation_title : "");
      a.append(excerpt, badge, where);
      a.addEventListener("click", (event) => {
        if (Lyceum.chat && Lyceum.chat.conversation === t.conversation) {
          event.preventDefault();
          Lyceum.chat.openThread(t.root);
        }
      });
      li.appendChild(a);
      threadList.appendChild(li);
    }
    const none = document.getElementById("thread-none");
    if (none) none.hidden = items.length > 0;
    const totalBadge = document.getElementById("threads-unread");
    if (totalBadge) { totalBadge.textContent = String(total); totalBadge.hidden = total <= 0; }
  }
  // Where the person stands in a thread (followed, read, unread), from any tab or the server.
  function threadState(d) {
    const known = threads.get(d.root) || {};
    threads.set(d.root, Object.assign({}, known, d));
    renderThreads();
    if (Lyceum.chat && Lyceum.chat.onThreadState) Lyceum.chat.onThreadState(d);
  }
  rt.on("hub.user." + me, "messaging.thread", (d) => {
    if (!threads.has(d.root) && d.state === "following") {
      // A thread followed in another conversation: its line needs its root's excerpt.
      api("/api/v1/chat/threads/").then((r) => { r.results.forEach((t) => threads.set(t.root, t)); threadState(d); }).catch(() => threadState(d));
      return;
    }
    threadState(d);
  });
  renderThreads();

  const current = state.current;
  if (!current) return;

  // -- messages ---------------------------------------------------------------------------
  const topic = current.topic;
  const list = document.getElementById("messages");
  const byId = new Map();        // message id -> payload
  const pending = new Map();     // client_id -> {body, li}
  const readStates = Object.assign({}, current.read_states || {});
  let lastReadSent = current.last_read_id;
  let firstUnread = current.first_unread_id;

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function time(iso) {
    return Lyceum.formatDate(iso, "time");
  }

  // -- message menus, mentions ---------------------------------------------------------
  let openActions = null;
  function openMenu(button, menu) {
    closeMenu();
    menu.hidden = false;
    button.setAttribute("aria-expanded", "true");
    openActions = {button: button, menu: menu};
    const first = menu.querySelector("[role=menuitem]");
    if (first) first.focus();
  }
  function closeMenu(refocus) {
    if (!openActions) return;
    openActions.menu.hidden = true;
    openActions.button.setAttribute("aria-expanded", "false");
    if (refocus) openActions.button.focus();
    openActions = null;
  }
  document.addEventListener("click", (event) => {
    if (openActions && !openActions.menu.contains(event.target) && event.target.closest(".menu-button") !== openActions.button) closeMenu();
  });
  document.addEventListener("keydown", (event) => {
    if (!openActions) return;
    if (event.key === "Escape") { event.preventDefault(); closeMenu(true); return; }
    if (event.key !== "ArrowDown" && event.key !== "ArrowUp") return;
    const items = Array.from(openActions.menu.querySelectorAll("[role=menuitem]"));
    const at = items.indexOf(document.activeElement);
    const next = (at + (event.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
    event.preventDefault();
    items[next].focus();
  });
  // A touch held still for half a second opens the menu (as a long press does in apps).
  function bindLongPress(target, open) {
    let timer = null;
    const cancel = () => { clearTimeout(timer); timer = null; };
    target.addEventListener("pointerdown", (event) => {
      if (event.pointerType !== "touch" || event.target.closest("a, button")) return;
      timer = setTimeout(() => { timer = null; open(); }, 500);
    });
    for (const type of ["pointerup", "pointercancel", "pointermove", "pointerleave"]) target.addEventListener(type, cancel);
    target.addEventListener("contextmenu", (event) => {
      if (event.target.closest("a")) return;  // a link keeps the browser's own menu
      event.preventDefault();
      cancel();
      open();
    });
  }
  // "@name" in a message's text (not in code or links) is shown as a mention.
  const MENTION = /(^|[^\w@])(@[\w.+-]+)/g;
  function highlightMentions(root) {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT, {
      acceptNode: (node) => (node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
    });
    const texts = [];
    while (walker.nextNode()) if (walker.currentNode.nodeValue.includes("@")) texts.push(walker.currentNode);
    for (const node of texts) {
      const parts = node.nodeValue.split(MENTION);
      if (parts.length === 1) continue;
      const fragment = document.createDocumentFragment();
      parts.forEach((part, i) => {
        if (!part) return;
        if (i % 3 === 2) fragment.appendChild(el("span", "mention", part));
        else fragment.appendChild(document.createTextNode(part));
      });
      node.replaceWith(fragment);
    }
  }

  function render(m) {
    const li = el("li", "message" + (m.deleted ? " deleted" : ""));
    li.id = "m" + m.id;
    li.dataset.id = m.id;
    li.dataset.testid = "message";
    li.setAttribute("data-testid", "message");
    if (m.id === firstUnread) li.classList.add("first-unread");
    const meta = el("div", "meta");
    meta.appendChild(el("strong", "", m.sender.name));
    meta.appendChild(el("time", "", time(m.created_at)));
    if (m.edited_at && !m.deleted) meta.appendChild(el("span", "", gettext("(edited)")));
    li.appendChild(meta);
    if (m.reply_to) {
      li.appendChild(el("div", "reply-to", m.reply_to.sender + ": " +
        (m.reply_to.deleted ? gettext("deleted message") : m.reply_to.excerpt)));
    }
    const body = el("div", "body");
    if (m.deleted) body.textContent = gettext("This message was deleted.");
    else {
      body.innerHTML = m.body_html;  // sanitised by hub/sanitize.py on the server
      highlightMentions(body);
    }
    li.appendChild(body);
    if (!m.deleted && m.mentions && m.mentions.includes(me) && m.sender.id !== me) {
      li.classList.add("mentions-me");
    }
    if (!m.deleted) {
      for (const a of m.attachments) {
        const link = el("a", "attachment", "📎 " + a.name);
        link.href = Lyceum.shell.safeUrl(a.url) || "#";
        link.rel = "noopener";
        link.target = "_blank";
        li.appendChild(link);
      }
      const reactions = el("div", "reactions");
      for (const r of m.reactions) {
        const b = el("button", "", r.emoji + " " + r.users.length);
        b.type = "button";
        b.setAttribute("aria-pressed", String(r.users.includes(me)));
        b.addEventListener("click", () => act("react", {message: m.id, emoji: r.emoji, add: !r.users.includes(me)}));
        reactions.appendChild(b);
      }
      li.appendChild(reactions);
      if (!m.in_thread && m.thread && m.thread.reply_count) {
        const summary = el("button", "thread-summary");
        summary.type = "button";
        summary.setAttribute("data-testid", "thread-summary");
        summary.append(el("span", "", interpolate(ngettext("%s reply", "%s replies", m.thread.reply_count), [m.thread.reply_count])));
        if (m.thread.last_reply_at) summary.append(el("time", "", interpolate(gettext("last %s"), [time(m.thread.last_reply_at)])));
        summary.addEventListener("click", () => openThread(m.id));
        li.appendChild(summary);
      }
      // The message's actions live in a menu, opened by its button (shown on hover or
      // keyboard focus), by a long press on touch screens, or by the context-menu key.
      const menuButton = el("button", "menu-button");
      menuButton.type = "button";
      menuButton.setAttribute("aria-haspopup", "menu");
      menuButton.setAttribute("aria-expanded", "false");
      menuButton.setAttribute("data-testid", "message-menu");
      menuButton.append(el("span", "", "⋯"));
      menuButton.lastChild.setAttribute("aria-hidden", "true");
      menuButton.append(el("span", "sr-only", interpolate(gettext("Actions on the message of %s"), [m.sender.name])));
      const actions = el("div", "actions");
      actions.setAttribute("role", "menu");
      actions.hidden = true;
      const add = (label, fn) => {
        const b = el("button", "", label);
        b.type = "button";
        b.setAttribute("role", "menuitem");
        b.addEventListener("click", () => { closeMenu(); fn(); });
        actions.appendChild(b);
      };
      menuButton.addEventListener("click", () => (actions.hidden ? openMenu(menuButton, actions) : closeMenu()));
      bindLongPress(li, () => openMenu(menuButton, actions));
      add(gettext("Reply"), () => setReply(m));
      add(gettext("Reply in thread"), () => openThread(m.in_thread ? m.thread.root : m.id));
      add("👍 " + gettext("Like"), () => act("react", {message: m.id, emoji: "👍", add: true}));
      if (m.sender.id === me) {
        const age = (Date.now() - new Date(m.created_at).getTime()) / 1000;
        if (age < state.edit_window) add(gettext("Edit"), () => {
          const text = prompt(gettext("Edit message"), m.body);
          if (text !== null && text.trim()) act("edit", {message: m.id, body: text});
        });
        add(gettext("Delete"), () => { if (confirm(gettext("Delete this message for everyone?"))) act("delete", {message: m.id}); });
      } else {
        add(gettext("Report"), () => {
          const reason = prompt(gettext("Why are you reporting this message?"), "");
          if (reason !== null) api("/api/v1/conversations/" + current.id + "/messages/" + m.id + "/report/",
            {method: "POST", json: {reason: reason}}).then(() => Lyceum.toast(gettext("Reported to the moderators.")));
        });
      }
      li.appendChild(menuButton);
      li.appendChild(actions);
    }
    const receipt = el("div", "receipt");
    receipt.setAttribute("data-testid", "receipt");
    li.appendChild(receipt);
    return li;
  }

  function upsert(m) {
    byId.set(m.id, m);
    if (m.client_id && pending.has(m.client_id)) {
      pending.get(m.client_id).li.remove();
      pending.delete(m.client_id);
    }
    const node = render(m);
    const existing = document.getElementById("m" + m.id);
    if (existing) { existing.replaceWith(node); }
    else {
      // Keep id order (backlog, live and "load earlier" can interleave).
      let after = null;
      for (const child of list.querySelectorAll("li.message[data-id]")) {
        if (Number(child.dataset.id) > m.id) { after = child; break; }
      }
      list.insertBefore(node, after || list.querySelector("li.pending"));
    }
    updateReceipts();
  }

  function updateReceipts() {
    if (!current.receipts) return;
    const mine = Array.from(byId.values()).filter((m) => m.sender.id === me && !m.deleted);
    const last = mine.length ? mine[mine.length - 1] : null;
    list.querySelectorAll(".receipt").forEach((r) => { r.textContent = ""; });
    if (!last) return;
    const readers = current.members.filter((p) => p.id !== me && (readStates[String(p.id)] || 0) >= last.id);
    const node = document.querySelector("#m" + last.id + " .receipt");
    if (node && readers.length) {
      node.textContent = current.kind === "direct" ? gettext("Seen") :
        interpolate(gettext("Seen by %s"), [readers.map((p) => p.name).join(", ")]);
    }
  }

  function act(action, data) {
    return rt.act(topic, action, data).catch((e) => { showError(e); throw e; });
  }
  const errorBox = document.getElementById("composer-error");
  function showError(e) {
    errorBox.textContent = e && e.code === "rate_limited" ? gettext("Slow down a little.") :
      e && e.code === "forbidden" ? gettext("You cannot post here.") :
      e && e.code === "invalid" ? gettext("This message cannot be sent (too long?).") :
      (e && e.message) || gettext("Something went wrong.");
  }

  // -- reading ----------------------------------------------------------------------------
  let readTimer = null;
  function markRead() {
    if (document.visibilityState !== "visible") return;
    const ids = Array.from(byId.keys());
    const top = Math.max(current.last_event_id || 0, ids.length ? Math.max(...ids) : 0);
    if (top <= lastReadSent) return;
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      lastReadSent = Math.max(lastReadSent, top);
      rt.act(topic, "read", {last_read_id: top}).catch(() => {});
      if (Lyceum.chatNav) Lyceum.chatNav.set(current.id, 0);
    }, 300);
  }
  document.addEventListener("visibilitychange", () => {
    const status = document.visibilityState === "visible" ? "online" : "away";
    rt.act(topic, "status", {status: status}).catch(() => {});
    if (Lyceum.chatNav) Lyceum.chatNav.viewing = status === "online" ? current.id : null;
    markRead();
  });

  // -- live -------------------------------------------------------------------------------
  for (const type of ["message.created", "message.edited", "message.deleted", "message.reacted"]) {
    rt.on(topic, type, (m, frame) => {
      if (frame.id > current.last_event_id) current.last_event_id = frame.id;
      if (m.in_thread) { threadEvent(m); return; }
      upsert(m);
      if (openRoot === m.id) showThreadRoot(m);
      if (type === "message.created") { typing.delete(m.sender.id); showTyping(); markRead(); }
    });
  }
  rt.on(topic, "read.updated", (d) => {
    readStates[String(d.user)] = Math.max(readStates[String(d.user)] || 0, d.last_read_id);
    updateReceipts();
  });
  rt.on(topic, "member.updated", (d) => {
    if (d.id === me && d.state !== "active") {
      composerBody.disabled = true;
      errorBox.textContent = gettext("You can no longer post in this conversation.");
    }
  });

  // Presence: online (subscribed), away (tab hidden), offline.
  function setPresence(id, status) {
    const li = document.querySelector('[data-member="' + id + '"]');
    if (!li) return;
    li.className = status;
    li.querySelector(".status").textContent = gettext(status);
  }
  rt.on(topic, "presence.joined", (p) => setPresence(p.id, "online"));
  rt.on(topic, "presence.left", (p) => setPresence(p.id, "offline"));
  rt.on(topic, "presence.status", (p) => setPresence(p.id, p.status));

  // Typing: shown for 15 s unless renewed; "stop" or a message clears it.
  const typing = new Map();
  const typingBox = document.getElementById("typing");
  function showTyping() {
    const now = Date.now();
    const names = [];
    for (const [id, t] of typing) { if (t.until < now) typing.delete(id); else names.push(t.name); }
    typingBox.textContent = names.length ? interpolate(gettext("%s is typing…"), [names.join(", ")]) : "";
  }
  setInterval(showTyping, 2000);
  rt.on(topic, "typing", (d) => {
    if (d.user === me) return;
    if (d.state === "stop") typing.delete(d.user);
    else typing.set(d.user, {name: d.name, until: Date.now() + 15000});
    showTyping();
  });

  // -- composer ---------------------------------------------------------------------------
  const composer = document.getElementById("composer");
  const composerBody = document.getElementById("composer-body");
  const fileInput = document.getElementById("composer-file");
  let replyTo = null;
  const replying = document.getElementById("replying");
  function setReply(m) {
    replyTo = m ? m.id : null;
    replying.hidden = !m;
    if (m) replying.querySelector("span").textContent = interpolate(gettext("Replying to %s"), [m.sender.name]);
    composerBody.focus();
  }
  document.getElementById("cancel-reply").addEventListener("click", () => setReply(null));

  let typingSentAt = 0;
  let idleTimer = null;
  composerBody.addEventListener("input", () => {
    const now = Date.now();
    if (now - typingSentAt > 10000) {
      typingSentAt = now;
      rt.act(topic, "typing", {state: "start"}).catch(() => {});
    }
    clearTimeout(idleTimer);
    idleTimer = setTimeout(() => {
      typingSentAt = 0;
      rt.act(topic, "typing", {state: "stop"}).catch(() => {});
    }, 5000);
  });
  composerBody.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      composer.requestSubmit();
    }
  });

  // Attachments: the file input, or a file dropped on the conversation or pasted into the
  // composer; the chosen file is shown with a way to take it back.
  const fileChip = document.getElementById("composer-attachment");
  function showFile() {
    const file = fileInput.files[0];
    fileChip.hidden = !file;
    if (file) fileChip.querySelector(".name").textContent = file.name;
  }
  function takeFile(files) {
    if (!files || !files.length) return false;
    const transfer = new DataTransfer();
    transfer.items.add(files[0]);
    fileInput.files = transfer.files;
    showFile();
    return true;
  }
  fileInput.addEventListener("change", showFile);
  fileChip.querySelector("button").addEventListener("click", () => { fileInput.value = ""; showFile(); composerBody.focus(); });
  composerBody.addEventListener("paste", (event) => {
    if (event.clipboardData && takeFile(event.clipboardData.files)) event.preventDefault();
  });
  const pane = document.querySelector(".chat-pane");
  pane.addEventListener("dragover", (event) => {
    if (!event.dataTransfer || !Array.from(event.dataTransfer.types).includes("Files")) return;
    event.preventDefault();
    pane.classList.add("dropping");
  });
  pane.addEventListener("dragleave", (event) => { if (!pane.contains(event.relatedTarget)) pane.classList.remove("dropping"); });
  pane.addEventListener("drop", (event) => {
    pane.classList.remove("dropping");
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    event.preventDefault();
    takeFile(event.dataTransfer.files);
    composerBody.focus();
  });

  // Send with a client_id; a retry (after a lost connection) reuses it: never two messages.
  function deliver(item, attempt) {
    rt.act(topic, "send", item.data).then((m) => { upsert(m); markRead(); }).catch((e) => {
      if ((e.code === "offline" || e.code === "timeout") && attempt < 8) {
        setTimeout(() => deliver(item, attempt + 1), Math.min(8000, 500 * Math.pow(2, attempt)));
      } else {
        item.li.remove();
        pending.delete(item.data.client_id);
        showError(e);
      }
    });
  }
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    errorBox.textContent = "";
    const body = composerBody.value;
    const file = fileInput.files[0];
    if (!body.trim() && !file) return;
    const data = {body: body, client_id: uuid(), reply_to: replyTo, attachments: []};
    if (file) {
      const form = new FormData();
      form.append("file", file);
      try {
        const a = await api("/api/v1/conversations/" + current.id + "/attachments/", {method: "POST", body: form});
        data.attachments.push(a.id);
      } catch (e) {
        errorBox.textContent = (e.error && e.error.details && e.error.details.file) || gettext("This file cannot be attached.");
        return;
      }
      fileInput.value = "";
      showFile();
    }
    const li = el("li", "message pending");
    li.appendChild(el("div", "body", body));
    list.appendChild(li);
    const item = {data: data, li: li};
    pending.set(data.client_id, item);
    composerBody.value = "";
    setReply(null);
    clearTimeout(idleTimer);
    typingSentAt = 0;
    deliver(item, 0);
  });

  // -- the thread pane ---------------------------------------------------------------------
  const chatBox = document.getElementById("chat");
  const threadPane = document.getElementById("thread-pane");
  const threadRootBox = document.getElementById("thread-root");
  const threadReplies = document.getElementById("thread-replies");
  const threadCount = document.getElementById("thread-count");
  const threadBody = document.getElementById("thread-body");
  const threadComposer = document.getElementById("thread-composer");
  const threadError = document.getElementById("thread-error");
  const followButtons = Array.from(threadPane.querySelectorAll("[data-follow]"));
  const threadById = new Map();
  let openRoot = null;
  let threadFollow = "none";
  let threadReadSent = 0;

  function showFollow(stateName) {
    threadFollow = stateName;
    followButtons.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.follow === stateName)));
  }
  function showCount(summary) {
    const n = summary ? summary.reply_count : 0;
    threadCount.textContent = n ? interpolate(ngettext("%s reply", "%s replies", n), [n]) : gettext("No replies yet.");
  }
  function showThreadRoot(m) {
    const node = render(m);
    node.id = "t" + m.id;
    const summary = node.querySelector(".thread-summary");
    if (summary) summary.remove();
    threadRootBox.textContent = "";
    threadRootBox.appendChild(node);
    showCount(m.thread);
  }
  function upsertThread(m) {
    threadById.set(m.id, m);
    const node = render(m);
    node.id = "t" + m.id;
    const existing = document.getElementById("t" + m.id);
    if (existing && existing.parentNode === threadReplies) { existing.replaceWith(node); return; }
    let after = null;
    for (const child of threadReplies.querySelectorAll("li.message[data-id]")) {
      if (Number(child.dataset.id) > m.id) { after = child; break; }
    }
    threadReplies.insertBefore(node, after);
  }
  // A reply (created, edited, deleted, reacted) reached the conversation's topic.
  function threadEvent(m) {
    const listed = threads.get(m.thread.root);
    if (listed && m.thread.reply_count > (listed.reply_count || 0)) {
      threadState({root: m.thread.root, reply_count: m.thread.reply_count, last_reply_at: m.thread.last_reply_at});
    }
    const root = byId.get(m.thread.root);
    if (root) {
      const known = root.thread ? root.thread.reply_count : 0;
      if (m.thread.reply_count >= known) { root.thread = m.thread; upsert(root); }
    }
    if (openRoot === m.thread.root) {
      upsertThread(m);
      showCount(m.thread);
      markThreadRead();
    }
  }
  function markThreadRead() {
    if (!openRoot || document.visibilityState !== "visible") return;
    const ids = Array.from(threadById.keys());
    const top = ids.length ? Math.max(...ids) : 0;
    if (!top || top <= threadReadSent) return;
    threadReadSent = top;
    rt.act(topic, "thread_read", {thread: openRoot, last_read_id: top}).catch(() => {});
  }
  function openThread(rootId) {
    openRoot = rootId;
    threadById.clear();
    threadReadSent = 0;
    threadReplies.textContent = "";
    threadRootBox.textContent = "";
    threadError.textContent = "";
    threadPane.hidden = false;
    chatBox.classList.add("thread-open");
    api("/api/v1/conversations/" + current.id + "/messages/" + rootId + "/thread/?limit=200").then((d) => {
      if (openRoot !== rootId) return;
      openRoot = d.root.id;
      showThreadRoot(d.root);
      d.results.forEach(upsertThread);
      showFollow(d.follow.state);
      markThreadRead();
      threadBody.focus();
    }).catch(() => { threadError.textContent = gettext("This thread cannot be shown."); });
  }
  function closeThread() {
    openRoot = null;
    threadPane.hidden = true;
    chatBox.classList.remove("thread-open");
  }
  document.getElementById("thread-close").addEventListener("click", closeThread);
  threadPane.addEventListener("keydown", (event) => { if (event.key === "Escape" && !openActions) closeThread(); });
  followButtons.forEach((button) => button.addEventListener("click", () => {
    if (!openRoot) return;
    const wanted = button.dataset.follow === threadFollow ?
      (threadFollow === "muted" ? "following" : "none") : button.dataset.follow;
    rt.act(topic, "thread_follow", {thread: openRoot, state: wanted})
      .then((d) => showFollow(d.state)).catch((e) => { threadError.textContent = (e && e.message) || gettext("Something went wrong."); });
  }));
  threadBody.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      threadComposer.requestSubmit();
    }
  });
  function deliverThread(data, attempt) {
    rt.act(topic, "send", data).then((m) => {
      if (openRoot === m.thread.root) { upsertThread(m); showCount(m.thread); markThreadRead(); }
      const root = byId.get(m.thread.root);
      if (root) { root.thread = m.thread; upsert(root); }
      if (threadFollow !== "muted") showFollow("following");
    }).catch((e) => {
      if ((e.code === "offline" || e.code === "timeout") && attempt < 8) {
        setTimeout(() => deliverThread(data, attempt + 1), Math.min(8000, 500 * Math.pow(2, attempt)));
      } else {
        threadError.textContent = e && e.code === "rate_limited" ? gettext("Slow down a little.") :
          (e && e.message) || gettext("Something went wrong.");
      }
    });
  }
  threadComposer.addEventListener("submit", (event) => {
    event.preventDefault();
    threadError.textContent = "";
    const body = threadBody.value;
    if (!body.trim() || !openRoot) return;
    threadBody.value = "";
    // The same client_id on every retry: one reply however often it is sent.
    deliverThread({body: body, client_id: uuid(), thread: openRoot, attachments: []}, 0);
  });
  Lyceum.chat = {
    conversation: current.id,
    openThread: openThread,
    onThreadState(d) { if (d.root === openRoot && d.state) showFollow(d.state); },
  };
  document.addEventListener("visibilitychange", markThreadRead);

  // -- history ----------------------------------------------------------------------------
  document.getElementById("load-older").addEventListener("click", () => {
    const ids = Array.from(byId.keys());
    const oldest = ids.length ? Math.min(...ids) : null;
    const url = "/api/v1/conversations/" + current.id + "/messages/" + (oldest ? "?before=" + oldest : "");
    api(url).then((d) => {
      d.results.forEach(upsert);
      if (!d.has_more) document.getElementById("load-older").hidden = true;
    });
  });

  state.messages.forEach(upsert);
  if (state.messages.length < 10) document.getElementById("load-older").hidden = true;
  const jump = firstUnread && document.getElementById("m" + firstUnread);
  if (jump) jump.scrollIntoView({block: "center"}); else list.lastElementChild && list.lastElementChild.scrollIntoView();
  if (Lyceum.chatNav) Lyceum.chatNav.viewing = current.id;

  rt.onStatus("resumed", (t, data) => {
    if (t !== topic || !data || !data.present) return;
    current.members.forEach((p) => setPresence(p.id, "offline"));
    data.present.forEach((p) => setPresence(p.id, "online"));
    if (data.truncated) location.reload();
  });
  rt.subscribe(topic, {since: current.last_event_id}).then(markRead).catch(() => {});
  if (state.open_thread) openThread(state.open_thread);
})();
