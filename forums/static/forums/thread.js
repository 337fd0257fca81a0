/* A thread page, live (topic forums.thread.<id>): new posts, edits, reactions, hides and
 * restores appear without a reload; after a reconnect the client resumes from the last
 * event id it saw. "X is replying" is ephemeral. Post bodies are HTML already sanitised by
 * hub/sanitize.py on the server; everything else is set as text. */
(function () {
  "use strict";
  const gettext = window.gettext || ((s) => s);
  const Lyceum = window.Lyceum;
  const F = window.LyceumForums;
  const stateEl = document.getElementById("thread-state");
  if (!stateEl || !Lyceum || !F) return;
  const state = JSON.parse(stateEl.textContent);
  const topic = state.topic;
  const container = document.getElementById("posts");
  const posts = new Map(state.posts.map((p) => [p.id, p]));
  const REASONS = [["spam", gettext("Spam")], ["offensive", gettext("Offensive or abusive")],
    ["off_topic", gettext("Off topic")], ["other", gettext("Something else")]];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  function editable(p) {
    if (p.is_deleted) return false;
    if (state.moderator) return true;
    // A wiki post: its author, and members from the wiki trust level up, at any time.
    if (p.is_wiki && !p.is_hidden && !state.thread.is_locked &&
      (p.author.id === state.me || state.trust_level >= state.wiki_level)) return true;
    const age = (Date.now() - new Date(p.created_at).getTime()) / 60000;
    return p.author.id === state.me && !p.is_hidden && !state.thread.is_locked &&
      age <= state.edit_window_minutes;
  }

  function actions(p) {
    const bar = el("footer", {class: "post-actions"});
    const gone = p.is_hidden || p.is_deleted;
    if (!gone) {
      const reactions = el("span", {class: "reactions", role: "group", "aria-label": gettext("Reactions")});
      for (const [code, symbol] of Object.entries(state.emoji)) {
        const count = p.reactions[code] || 0;
        const mine = (p.mine || []).includes(code);
        if (!count && code !== "like" && !mine) continue;
        reactions.append(el("button", {
          type: "button", class: "reaction" + (mine ? " mine" : ""), "data-emoji": code,
          "aria-pressed": String(mine), title: code,
          onclick: () => react(p, code, !mine),
        }, symbol + (count ? " " + count : "")));
      }
      const more = el("select", {class: "more-reactions", "aria-label": gettext("Add a reaction"),
        onchange: (e) => { if (e.target.value) react(p, e.target.value, true); }},
        el("option", {value: "", text: "+"}),
        ...Object.entries(state.emoji).map(([c, s]) => el("option", {value: c, text: s})));
      reactions.append(more);
      bar.append(reactions);
      if (!state.thread.is_locked || state.moderator) {
        bar.append(el("button", {type: "button", class: "link-button", onclick: () => quote(p)}, gettext("Quote")));
      }
      if (editable(p)) {
        bar.append(el("button", {type: "button", class: "link-button", onclick: () => edit(p)}, gettext("Edit")));
      }
      if (p.author.id !== state.me) {
        bar.append(el("button", {type: "button", class: "link-button", onclick: () => flag(p, bar)}, gettext("Flag")));
      }
      if (state.thread.kind === "question" && (state.moderator || state.thread.author.id === state.me)) {
        const accepted = state.thread.accepted_post === p.id;
        bar.append(el("button", {type: "button", class: "link-button accept",
          onclick: () => F.api("/api/v1/forums/threads/" + state.thread.id + "/accept/", "POST",
            {post: accepted ? null : p.id}).catch((e) => F.toast(e.message))},
          accepted ? gettext("Unaccept") : gettext("Accept answer")));
      }
    }
    if (!p.is_deleted && (p.author.id === state.me || state.moderator)) {
      bar.append(el("button", {type: "button", class: "link-button", onclick: () => {
        if (window.confirm(gettext("Delete this post?"))) {
          F.api("/api/v1/forums/posts/" + p.id + "/", "DELETE").catch((e) => F.toast(e.message));
        }
      }}, gettext("Delete")));
    }
    if (state.moderator && !p.is_deleted) {
      const hide = !p.is_hidden;
      bar.append(el("button", {type: "button", class: "link-button moderate", "data-testid": hide ? "hide" : "restore",
        onclick: () => F.api("/api/v1/forums/posts/" + p.id + (hide ? "/hide/" : "/restore/"), "POST", {})
          .catch((e) => F.toast(e.message))}, hide ? gettext("Hide") : gettext("Restore")));
    }
    return bar;
  }

  function render(p) {
    const accepted = state.thread.accepted_post === p.id;
    const cls = "post" + (p.is_hidden ? " hidden-post" : "") + (p.is_deleted ? " deleted-post" : "") +
      (accepted ? " accepted" : "");
    const header = el("header", {}, el("strong", {class: "author", text: p.author.name}), " · ",
      el("time", {datetime: p.created_at, text: Lyceum.formatDate(p.created_at)}));
    if (p.edited_at) {
      header.append(" ", el("button", {type: "button", class: "link-button history",
        onclick: (e) => history(p, e.target)}, gettext("edited")));
    }
    if (p.is_wiki) header.append(" ", el("span", {class: "tag wiki-tag", "data-testid": "wiki-tag", text: gettext("Wiki")}));
    if (accepted) header.append(" ", el("span", {class: "tag accepted-tag", text: "✔ " + gettext("Accepted answer")}));
    const article = el("article", {class: cls, id: "post-" + p.id, "data-id": p.id,
      "data-author": p.author.id, "data-testid": "post"}, header);
    if (p.reply_to) {
      article.append(el("p", {class: "reply-to muted"}, "↪ ",
        el("a", {href: "#post-" + p.reply_to.id, text: gettext("in reply to") + " " + p.reply_to.author})));
    }
    if (p.is_hidden) {
      article.append(el("p", {class: "muted tombstone", text: p.hidden_by_flags
        ? gettext("This post was hidden after members flagged it; a moderator will decide.")
        : gettext("This post was hidden by a moderator.")}));
    } else if (p.is_deleted) {
      article.append(el("p", {class: "muted tombstone", text: gettext("This post was deleted.")}));
    } else {
      const body = el("div", {class: "post-body"});
      body.innerHTML = p.body_html;  // sanitised by hub/sanitize.py before it was stored
      article.append(body);
      if (p.attachments.length) {
        const ul = el("ul", {class: "attachments"});
        for (const a of p.attachments) {
          ul.append(el("li", {}, a.is_image ? el("img", {src: a.url, alt: a.name, loading: "lazy"})
            : el("a", {href: a.url, rel: "noopener", download: "", text: a.name})));
        }
        article.append(ul);
      }
    }
    article.append(actions(p));
    return article;
  }

  function upsert(p, append) {
    const previous = posts.get(p.id);
    if (previous && previous.mine && !p.mine) p.mine = previous.mine;
    posts.set(p.id, p);
    const existing = document.getElementById("post-" + p.id);
    if (existing) existing.replaceWith(render(p));
    else if (append && state.last_page) {
      const node = render(p);
      node.classList.add("fresh");
      container.append(node);
    } else if (append) {
      F.toast(gettext("New replies on the last page."));
    }
  }

  async function react(p, emoji, on) {
    try {
      const data = await Lyceum.realtime.act(topic, "react", {post: p.id, emoji: emoji, on: on});
      const mine = new Set(p.mine || []);
      if (on) mine.add(emoji); else mine.delete(emoji);
      upsert(Object.assign({}, posts.get(p.id), {reactions: data.reactions, mine: Array.from(mine)}));
    } catch (e) {
      F.toast(e.message);
    }
  }

  const form = document.getElementById("reply-form");
  const textarea = form.querySelector("textarea[name=body]");
  const replyTo = form.querySelector("input[name=reply_to]");
  const quoteNote = form.querySelector(".quote-note");
  const formError = form.querySelector(".form-error");

  function quote(p) {
    const text = (p.body || "").split("\n").map((line) => "> " + line).join("\n");
    textarea.value = "> **@" + p.author.name + "**:\n" + text + "\n\n" + textarea.value;
    replyTo.value = p.id;
    quoteNote.textContent = gettext("Replying to") + " " + p.author.name;
    quoteNote.hidden = false;
    textarea.focus();
  }

  function edit(p) {
    const article = document.getElementById("post-" + p.id);
    const box = el("textarea", {rows: "5", class: "edit-box", "aria-label": gettext("Edit your post")});
    box.value = p.body;
    const save = el("button", {type: "button", class: "primary", onclick: async () => {
      try {
        upsert(await F.api("/api/v1/forums/posts/" + p.id + "/", "PATCH", {body: box.value}));
      } catch (e) { F.toast(e.message); }
    }}, gettext("Save"));
    const cancel = el("button", {type: "button", class: "small-button", onclick: () => upsert(posts.get(p.id))}, gettext("Cancel"));
    const body = article.querySelector(".post-body");
    body.replaceWith(el("div", {class: "editing"}, box, el("p", {}, save, " ", cancel)));
    box.focus();
  }

  async function history(p, button) {
    const article = document.getElementById("post-" + p.id);
    const old = article.querySelector(".revisions");
    if (old) { old.remove(); return; }
    try {
      const revisions = await F.api("/api/v1/forums/posts/" + p.id + "/revisions/");
      const list = el("ol", {class: "revisions", "aria-label": gettext("Edit history")});
      for (const r of revisions) {
        const body = el("div", {class: "post-body"});
        body.innerHTML = r.body_html;  // sanitised server-side
        list.append(el("li", {}, el("small", {class: "muted", text: r.editor + " · " +
          Lyceum.formatDate(r.created_at)}), body));
      }
      button.closest("header").after(list);
    } catch (e) { F.toast(e.message); }
  }

  function flag(p, bar) {
    if (bar.querySelector(".flag-form")) return;
    const select = el("select", {name: "reason", "aria-label": gettext("Reason")},
      ...REASONS.map(([v, t]) => el("option", {value: v, text: t})));
    const note = el("input", {name: "note", maxlength: "500", placeholder: gettext("Note (optional)")});
    const formEl = el("form", {class: "flag-form inline-form", onsubmit: async (e) => {
      e.preventDefault();
      try {
        await F.api("/api/v1/forums/posts/" + p.id + "/flags/", "POST", {reason: select.value, note: note.value});
        formEl.replaceWith(el("span", {class: "muted", text: gettext("Thank you, the moderators will look at it.")}));
      } catch (err) { F.toast(err.message); }
    }}, select, note, el("button", {type: "submit", class: "small-button"}, gettext("Send")));
    bar.append(formEl);
  }

  form.addEventListener("submit", async (event) => {
    const files = form.querySelector("input[type=file]");
    if (files && files.files.length) return;       // attachments: the classic form post
    if (!Lyceum.realtime.connected) return;          // offline: the classic form post too
    event.preventDefault();
    formError.hidden = true;
    const submit = form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const p = await Lyceum.realtime.act(topic, "post", {
        body: textarea.value, reply_to: replyTo.value ? parseInt(replyTo.value, 10) : null,
      });
      textarea.value = "";
      replyTo.value = "";
      quoteNote.hidden = true;
      form.querySelector(".preview").hidden = true;
      upsert(p, true);
    } catch (e) {
      const details = e.details ? [].concat(...Object.values(e.details).map((v) => [].concat(v))) : [];
      formError.textContent = details.length ? details.join(" ") : e.message;
      formError.hidden = false;
    } finally {
      submit.disabled = false;
    }
  });

  let lastTyping = 0;
  textarea.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping < 5000 || !Lyceum.realtime.connected) return;
    lastTyping = now;
    Lyceum.realtime.act(topic, "typing", {}).catch(() => {});
  });

  const typingEl = document.getElementById("typing");
  const typers = new Map();
  function showTyping() {
    const names = Array.from(typers.keys());
    typingEl.textContent = names.length ? names.join(", ") + " " + gettext("is replying…") : "";
  }

  function setThread(t) {
    const before = state.thread.accepted_post;
    state.thread = t;
    document.querySelector(".locked-tag").hidden = !t.is_locked;
    document.querySelector(".pinned-tag").hidden = !t.is_pinned;
    document.querySelector(".locked-note").hidden = !t.is_locked;
    const lock = document.querySelector(".mod-lock");
    if (lock) lock.textContent = t.is_locked ? gettext("Unlock") : gettext("Lock");
    const pin = document.querySelector(".mod-pin");
    if (pin) pin.textContent = t.is_pinned ? gettext("Unpin") : gettext("Pin");
    for (const id of [before, t.accepted_post]) if (id && posts.has(id)) upsert(posts.get(id));
    for (const p of posts.values()) upsert(p);
  }

  const rt = Lyceum.realtime;
  rt.on(topic, "post.created", (p) => upsert(p, true));
  for (const type of ["post.updated", "post.hidden", "post.restored", "post.deleted"]) {
    rt.on(topic, type, (p) => upsert(p, false));
  }
  rt.on(topic, "reaction.changed", (d) => {
    const p = posts.get(d.id);
    if (p) upsert(Object.assign({}, p, {reactions: d.reactions}));
  });
  rt.on(topic, "thread.updated", setThread);
  rt.on(topic, "typing", (d) => {
    if (!d.user || d.user.id === state.me) return;
    clearTimeout(typers.get(d.user.name));
    typers.set(d.user.name, setTimeout(() => { typers.delete(d.user.name); showTyping(); }, 8000));
    showTyping();
  });

  const lock = document.querySelector(".mod-lock");
  if (lock) lock.addEventListener("click", () => F.api("/api/v1/forums/threads/" + state.thread.id + "/moderation/",
    "POST", {locked: !state.thread.is_locked}).catch((e) => F.toast(e.message)));
  const pin = document.querySelector(".mod-pin");
  if (pin) pin.addEventListener("click", () => F.api("/api/v1/forums/threads/" + state.thread.id + "/moderation/",
    "POST", {pinned: !state.thread.is_pinned}).catch((e) => F.toast(e.message)));

  // Read marks: the last post shown while the page is in view is read (a POST; the
  // page's GET marks nothing). Posts arriving live are read when seen, a second later.
  let reported = 0;
  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (document.visibilityState !== "visible") return;
      const last = Math.max(0, ...posts.keys());
      if (last <= reported) return;
      F.api("/api/v1/forums/threads/" + state.thread.id + "/read/", "POST", {post_id: last})
        .then((data) => { reported = Math.max(reported, data.post_id); })
        .catch(() => {});   // a read mark is worth no error message
    }, 1000);
  }
  rt.on(topic, "post.created", markRead);
  document.addEventListener("visibilitychange", markRead);

  // Server markup is the no-script fallback; from here on the client renders.
  for (const p of posts.values()) upsert(p);
  rt.subscribe(topic, {since: state.since});
  markRead();
})();
