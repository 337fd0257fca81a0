/* Blog pages (blogs/, docs/COMMUNITY.md), live over /ws/:
 * - the space's feed (ul[data-topic] = blogs.space.<id>): a post published elsewhere is
 *   added at the top;
 * - a post (article[data-topic] = blogs.post.<id>): new comments (resumed with `since`),
 *   reaction counts;
 * - the editor: an image chosen is uploaded (REST) and its Markdown inserted at the cursor.
 * Everything from the server is put in with textContent, or is HTML the server sanitised.
 */
(function () {
  "use strict";
  const _ = window.gettext || ((s) => s);
  const rt = window.Lyceum && window.Lyceum.realtime;

  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  // -- the space's feed ------------------------------------------------------------------
  const feed = document.querySelector("ul.blog-feed[data-topic]");
  if (feed && rt) {
    const topic = feed.getAttribute("data-topic");
    rt.on(topic, "post.published", (p) => {
      if (feed.querySelector('[data-post="' + p.id + '"]')) return;
      const empty = feed.querySelector("[data-empty]");
      if (empty) empty.remove();
      const when = window.Lyceum.formatDate ? window.Lyceum.formatDate(p.published_at) : p.published_at;
      feed.prepend(el("li", {class: "card blog-card fresh", "data-post": String(p.id)},
        el("h3", {}, el("a", {href: p.url, text: p.title})),
        el("p", {class: "muted"}, el("a", {href: "/blogs/" + p.blog.id + "/", text: p.blog.title}),
          " · " + p.author.name + " · " + when),
        el("p", {text: p.excerpt})));
    });
    rt.on(topic, "post.withdrawn", (d) => {
      const item = feed.querySelector('[data-post="' + d.id + '"]');
      if (item) item.remove();
    });
    rt.subscribe(topic);
  }

  // -- a post: comments and reactions ------------------------------------------------------
  const article = document.querySelector("article.blog-post[data-topic]");
  if (article && rt) {
    const topic = article.getAttribute("data-topic");
    const list = document.querySelector("ul.blog-comments");
    rt.on(topic, "comment.created", (c) => {
      if (document.getElementById("comment-" + c.id)) return;
      const body = el("div", {class: "post-body"});
      body.innerHTML = c.body_html; // sanitised by hub/sanitize.py before it was stored
      const when = window.Lyceum.formatDate ? window.Lyceum.formatDate(c.created_at) : c.created_at;
      list.append(el("li", {class: "card", id: "comment-" + c.id},
        el("small", {class: "muted", text: c.author.name + " · " + when}), body));
    });
    rt.on(topic, "comment.deleted", (d) => {
      const item = document.getElementById("comment-" + d.id);
      if (item) item.remove();
    });
    rt.on(topic, "reaction.changed", (d) => {
      document.querySelectorAll("button.reaction[data-emoji]").forEach((b) => {
        const n = d.reactions[b.getAttribute("data-emoji")] || "";
        b.querySelector("[data-count]").textContent = n ? String(n) : "";
      });
    });
    rt.subscribe(topic, {since: Number(article.getAttribute("data-since")) || 0});
  }

  // -- the editor: images ---------------------------------------------------------------------
  const upload = document.querySelector("input[data-upload-url]");
  if (upload) {
    const status = document.querySelector("[data-upload-status]");
    const box = document.querySelector("textarea[name=body]");
    upload.addEventListener("change", () => {
      const file = upload.files && upload.files[0];
      if (!file) return;
      const form = new FormData();
      form.append("file", file);
      status.textContent = _("Uploading…");
      fetch(upload.getAttribute("data-upload-url"), {
        method: "POST", credentials: "same-origin", body: form,
        headers: {"X-CSRFToken": csrf()},
      })
        .then((r) => r.json().then((data) => ({ok: r.ok, data: data})))
        .then(({ok, data}) => {
          if (!ok) throw new Error((data.error && data.error.message) || _("The image was refused."));
          const at = box.selectionStart || box.value.length;
          box.value = box.value.slice(0, at) + "\n" + data.markdown + "\n" + box.value.slice(at);
          status.textContent = _("The image is in the text.");
          upload.value = "";
        })
        .catch((e) => { status.textContent = e.message; });
    });
  }
})();
