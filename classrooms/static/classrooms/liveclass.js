/* The live class room: lobby, participants, hands, reactions, chat, polls, whiteboard,
 * breakout rooms and trainer controls, over classrooms.liveclass.<id> (and the breakout
 * room's classrooms.liveclass.<id>-<n>.breakout while one is open).
 *
 * The page joins through the API (lock, capacity and removal are checked there), then
 * follows the topic from the state's last_event_id; after a reconnect it refetches the state.
 * Video is liveclass_media.js's: it fills #media-stage and listens to the "liveclass:*"
 * DOM events dispatched on it (control, state), and finds this module at Lyceum.liveclass.
 */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  const root = document.getElementById("liveclass");
  if (!Lyceum || !root) return;
  const gettext = window.gettext || ((s) => s);
  const interpolate = window.interpolate || ((f, a) => f.replace(/%s/g, () => a.shift()));
  const rt = Lyceum.realtime;
  const classId = Number(root.dataset.liveclass);
  const topic = root.dataset.topic;
  const me = Number(root.dataset.me);
  const api = "/api/v1/liveclasses/" + classId + "/";
  const HEARTBEAT_MS = 20000;
  const MAX_POINTS = 1000;

  let state = JSON.parse(document.getElementById("lc-state").textContent);
  const isTrainer = state.role === "trainer";
  const present = new Set();
  let breakoutTopic = null;
  let joined = false;
  const stage = document.getElementById("media-stage");
  const $ = (id) => document.getElementById(id);

  // -- helpers ------------------------------------------------------------------------------
  function csrf() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  async function call(path, method, body) {
    const response = await fetch(api + path, {
      method: method || "GET",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrf()},
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error((data.error && data.error.message) || response.statusText);
      error.code = data.error && data.error.code;
      error.status = response.status;
      throw error;
    }
    return data;
  }

  function say(text) {
    const box = $("lc-message");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function act(action, data, onTopic) {
    return rt.act(onTopic || topic, action, data).catch((error) => {
      say(error.message || gettext("That did not work."));
      throw error;
    });
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function emit(name, detail) {
    if (stage) stage.dispatchEvent(new CustomEvent("liveclass:" + name, {detail: detail}));
  }

  function nameOf(userId) {
    const person = state.participants.find((p) => p.id === userId);
    return person ? person.name : "#" + userId;
  }

  // -- status, participants, hands -----------------------------------------------------------
  const STATUS_LABELS = {
    scheduled: gettext("Scheduled"), lobby: gettext("Lobby open"),
    live: gettext("Live"), ended: gettext("Ended"),
  };

  function renderClass() {
    const lc = state.live_class;
    root.dataset.status = lc.status;
    $("lc-status").textContent = STATUS_LABELS[lc.status] || lc.status;
    $("lc-recording").hidden = !lc.recording_on;
    $("lc-locked").hidden = !lc.locked;
    if ($("lc-lobby")) $("lc-lobby").hidden = lc.status !== "scheduled" && lc.status !== "lobby";
    if ($("lc-start")) $("lc-start").hidden = lc.status === "live";
    if ($("lc-lock")) {
      $("lc-lock").setAttribute("aria-pressed", String(lc.locked));
      $("lc-lock").textContent = lc.locked ? gettext("Unlock the room") : gettext("Lock the room");
    }
    if ($("lc-webinar")) {
      $("lc-webinar").setAttribute("aria-pressed", String(Boolean(lc.webinar)));
      $("lc-webinar").textContent = lc.webinar ? gettext("End webinar mode") : gettext("Webinar mode");
    }
    if ($("lc-record")) {
      $("lc-record").setAttribute("aria-pressed", String(lc.recording_on));
      $("lc-record").textContent = lc.recording_on ? gettext("Stop recording") : gettext("Record");
    }
    if (stage) stage.dataset.spotlight = lc.spotlight || "";
    renderBreakout();
    emit("state", state);
    if (lc.status === "ended") {
      say(gettext("This class has ended."));
      stopHeartbeat();
    }
  }

  const ROLE_LABELS = {
    trainer: gettext("Trainer"), coordinator: gettext("Coordinator"), admin: gettext("Administrator"),
  };

  function renderPeople() {
    const list = $("lc-people");
    list.replaceChildren();
    const people = state.participants.filter((p) => p.present || present.has(p.id));
    $("lc-count").textContent = "(" + people.length + " / " + state.live_class.capacity + ")";
    for (const person of people) {
      const item = el("li", {dataset: {user: person.id}});
      item.append(el("span", {className: "name"}, person.name));
      // What they are (a coordinator running the class is not its trainer), not only
      // what the room lets them do.
      const shownAs = ROLE_LABELS[person.display_role || (person.role === "trainer" ? "trainer" : "")];
      if (shownAs) item.append(el("span", {className: "tag", dataset: {role: person.display_role || person.role}}, shownAs));
      if (state.live_class.spotlight === person.id) item.append(el("span", {className: "tag"}, "★"));
      if (person.breakout_room) {
        item.append(el("small", {className: "muted"}, interpolate(gettext("room %s"), [person.breakout_room])));
      }
      if (isTrainer && person.id !== me && person.role !== "trainer") {
        const tools = el("span", {className: "lc-person-tools"});
        const actions = [["mute", gettext("Mute")], ["spotlight", gettext("Spotlight")], ["remove", gettext("Remove")]];
        // A webinar: the trainer lets someone speak (publish) or sends them back to watching.
        if (state.live_class.webinar) {
          const speaking = (state.live_class.speakers || []).includes(person.id);
          actions.unshift(speaking ? ["demote", gettext("Back to watching")] : ["promote", gettext("Let speak")]);
        }
        for (const [action, label] of actions) {
          const button = el("button", {type: "button", className: "link-button"}, label);
          button.addEventListener("click", () => {
            if (action === "remove" && !confirm(interpolate(gettext("Remove %s from the class?"), [person.name]))) return;
            const chosen = action === "spotlight" && state.live_class.spotlight === person.id ? "unspotlight" : action;
            act("control", {action: chosen, user: person.id});
          });
          tools.append(button);
        }
        item.append(tools);
      }
      list.append(item);
    }
  }

  function renderHands() {
    const list = $("lc-hands");
    list.replaceChildren();
    const mine = state.hands.some((h) => h.user === me);
    const handButton = $("lc-hand");
    if (handButton) {
      handButton.setAttribute("aria-pressed", String(mine));
      handButton.querySelector("span").textContent = mine ? gettext("Lower hand") : gettext("Raise hand");
    }
    for (const hand of state.hands) {
      const item = el("li", {dataset: {user: hand.user}}, hand.name);
      if (hand.breakout_room) item.append(el("small", {className: "muted"}, " " + interpolate(gettext("room %s"), [hand.breakout_room])));
      if (isTrainer && state.live_class.webinar && hand.user !== me) {
        const promote = el("button", {type: "button", className: "link-button", dataset: {testid: "lc-promote"}}, gettext("Let speak"));
        promote.addEventListener("click", () => act("control", {action: "promote", user: hand.user}));
        item.append(" ", promote);
      }
      if (isTrainer || hand.user === me) {
        const lower = el("button", {type: "button", className: "link-button"}, gettext("Lower"));
        lower.addEventListener("click", () => act("hand.lower", hand.user === me ? {} : {user: hand.user}));
        item.append(" ", lower);
      }
      list.append(item);
    }
    if (!state.hands.length) list.append(el("li", {className: "muted"}, gettext("No hands raised.")));
  }

  function chime() {
    // A short tone, built here: no audio file to fetch. Browsers may refuse before a click.
    try {
      const ctx = chime.ctx || (chime.ctx = new (window.AudioContext || window.webkitAudioContext)());
      const osc = ctx.createOscillator();
      const gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.value = 0.08;
      osc.connect(gain).connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.15);
    } catch (e) { /* no sound: the visual cue remains */ }
  }

  function cueHand(data) {
    if (!isTrainer || data.user === me) return;
    chime();
    const hands = $("lc-hands");
    hands.classList.remove("cue");
    void hands.offsetWidth;
    hands.classList.add("cue");
    if (Lyceum.toast) Lyceum.toast(interpolate(gettext("%s raised a hand"), [data.name]));
  }

  function floatReaction(data) {
    const box = $("lc-reactions");
    const bubble = el("span", {className: "lc-bubble", title: data.name}, data.emoji);
    box.append(bubble);
    setTimeout(() => bubble.remove(), 3000);
  }

  // -- polls --------------------------------------------------------------------------------
  function upsertPoll(poll) {
    const index = state.polls.findIndex((p) => p.id === poll.id);
    if (index >= 0) {
      // Events carry no viewer: keep my own vote from what I knew.
      if (poll.my_vote === undefined) poll.my_vote = state.polls[index].my_vote;
      state.polls[index] = poll;
    } else {
      state.polls.push(poll);
    }
    renderPolls();
  }

  function renderPolls() {
    const box = $("lc-polls");
    box.replaceChildren();
    for (const poll of state.polls.slice().reverse()) {
      const card = el("div", {className: "lc-poll", dataset: {poll: poll.id, testid: "lc-poll"}});
      card.append(el("p", {className: "lc-poll-q"}, poll.question));
      const meta = [poll.is_open ? gettext("open") : gettext("closed")];
      if (poll.anonymous) meta.push(gettext("anonymous"));
      card.append(el("p", {className: "muted"}, meta.join(" · ")));
      const total = poll.results.reduce((a, b) => a + b, 0);
      const list = el("ul", {className: "lc-poll-choices"});
      poll.choices.forEach((choice, i) => {
        const item = el("li");
        const count = poll.results[i] || 0;
        const label = choice + " — " + count + (total ? " (" + Math.round((100 * count) / total) + " %)" : "");
        if (poll.is_open) {
          const button = el("button", {type: "button", className: poll.my_vote === i ? "primary" : "", dataset: {choice: i}}, choice);
          button.setAttribute("aria-pressed", String(poll.my_vote === i));
          button.addEventListener("click", () => {
            act("poll.vote", {poll: poll.id, choice: i}).then((data) => upsertPoll(data));
          });
          item.append(button, " ", el("span", {className: "lc-result", dataset: {testid: "lc-result"}}, count));
        } else {
          item.append(el("span", {className: "lc-result", dataset: {testid: "lc-result"}}, label));
        }
        const bar = el("meter", {min: 0, max: total || 1, value: count});
        item.append(bar);
        list.append(item);
      });
      card.append(list);
      if (poll.voters && isTrainer && poll.voters.length) {
        card.append(el("p", {className: "muted"}, poll.voters.map((v) => v.name + ": " + poll.choices[v.choice]).join(", ")));
      }
      if (isTrainer && poll.is_open) {
        const close = el("button", {type: "button"}, gettext("Close the poll"));
        close.addEventListener("click", () => act("poll.close", {poll: poll.id}).then(upsertPoll));
        card.append(close);
      }
      box.append(card);
    }
  }

  // -- whiteboard ---------------------------------------------------------------------------
  const canvas = $("lc-canvas");
  const ctx = canvas ? canvas.getContext("2d") : null;
  let strokes = new Map();   // id -> stroke, of the board shown (main, or my breakout room's)
  let boardRoom = 0;
  let drawing = null;

  function boardTopic() { return boardRoom ? breakoutTopic : topic; }

  function paint(stroke) {
    const points = stroke.points;
    if (!points.length) return;
    ctx.strokeStyle = stroke.color;
    ctx.lineWidth = stroke.width;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(points[0][0] * canvas.width, points[0][1] * canvas.height);
    for (const [x, y] of points.slice(1)) ctx.lineTo(x * canvas.width, y * canvas.height);
    if (points.length === 1) ctx.lineTo(points[0][0] * canvas.width + 0.1, points[0][1] * canvas.height);
    ctx.stroke();
  }

  function redraw() {
    if (!ctx) return;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (const stroke of strokes.values()) paint(stroke);
    if (drawing) paint(drawing);
  }

  function setBoard(room, list) {
    boardRoom = room;
    strokes = new Map(list.map((s) => [s.id, s]));
    $("lc-board-room").textContent = room ? interpolate(gettext("room %s"), [room]) : "";
    $("lc-clear").hidden = !(isTrainer || room);  // a breakout room clears its own board
    redraw();
  }

  function onStroke(data) { if ((data.room || 0) === boardRoom) { strokes.set(data.id, data); redraw(); } }
  function onStrokeRemoved(data) { if ((data.room || 0) === boardRoom) { strokes.delete(data.id); redraw(); } }
  function onCleared(data) { if ((data.room || 0) === boardRoom) { strokes.clear(); redraw(); } }

  function pointOf(event) {
    const box = canvas.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [clamp((event.clientX - box.left) / box.width), clamp((event.clientY - box.top) / box.height)];
  }

  if (canvas) {
    canvas.addEventListener("pointerdown", (event) => {
      if (state.live_class.status !== "live") return;
      canvas.setPointerCapture(event.pointerId);
      drawing = {points: [pointOf(event)], color: $("lc-color").value, width: Number($("lc-width").value)};
    });
    canvas.addEventListener("pointermove", (event) => {
      if (!drawing) return;
      drawing.points.push(pointOf(event));
      redraw();
    });
    const finish = () => {
      if (!drawing) return;
      const stroke = drawing;
      drawing = null;
      let points = stroke.points.map(([x, y]) => [Math.round(x * 10000) / 10000, Math.round(y * 10000) / 10000]);
      if (points.length > MAX_POINTS) {
        const step = points.length / MAX_POINTS;
        points = Array.from({length: MAX_POINTS}, (_, i) => points[Math.floor(i * step)]);
      }
      act("stroke", {points: points, color: stroke.color, width: stroke.width}, boardTopic())
        .then(onStroke, () => redraw());
    };
    canvas.addEventListener("pointerup", finish);
    canvas.addEventListener("pointercancel", finish);
    $("lc-undo").addEventListener("click", () => act("stroke.undo", {}, boardTopic()));
    $("lc-clear").addEventListener("click", () => act("board.clear", {}, boardTopic()));
    $("lc-export").addEventListener("click", () => {
      const link = el("a", {href: canvas.toDataURL("image/png"), download: "whiteboard-" + classId + ".png"});
      document.body.append(link);
      link.click();
      link.remove();
    });
  }

  // -- breakout rooms -----------------------------------------------------------------------
  function myRoom() {
    const mine = state.participants.find((p) => p.id === me);
    return mine && mine.breakout_room ? mine.breakout_room : 0;
  }

  function renderBreakout() {
    const lc = state.live_class;
    const status = $("lc-breakout-status");
    if (!status) return;
    const room = myRoom();
    let text = lc.breakout_count ? interpolate(gettext("%s rooms open."), [lc.breakout_count]) : gettext("No breakout rooms.");
    if (room) text += " " + interpolate(gettext("You are in room %s."), [room]);
    if (lc.breakout_ends_at) {
      const left = Math.max(0, Math.round((new Date(lc.breakout_ends_at) - Date.now()) / 60000));
      text += " " + interpolate(gettext("%s min left."), [left]);
    }
    status.textContent = text;
    if ($("lc-breakout-form")) $("lc-breakout-form").hidden = Boolean(lc.breakout_count);
    if ($("lc-breakout-broadcast")) $("lc-breakout-broadcast").hidden = !lc.breakout_count;
    $("lc-breakout-chat").hidden = !room;
  }

  function renderPlacement() {
    const list = $("lc-breakout-people");
    if (!list || !$("lc-breakout-manual").open) return;
    const count = Math.max(1, Math.min(20, Number($("lc-breakout-count").value) || 1));
    const kept = {};
    list.querySelectorAll("select[data-user]").forEach((s) => { kept[s.dataset.user] = s.value; });
    list.replaceChildren();
    const learners = state.participants.filter((p) => p.role === "learner" && (p.present || present.has(p.id)));
    for (const person of learners) {
      const select = el("select", {dataset: {user: person.id}, "aria-label": person.name});
      select.append(el("option", {value: ""}, gettext("at random")));
      for (let room = 1; room <= count; room++) {
        select.append(el("option", {value: String(room)}, interpolate(gettext("room %s"), [room])));
      }
      if (kept[person.id] && Number(kept[person.id]) <= count) select.value = kept[person.id];
      const item = el("li");
      item.append(el("span", {}, person.name), " ", select);
      list.append(item);
    }
    if (!learners.length) list.append(el("li", {className: "muted"}, gettext("No learner is here.")));
  }

  async function enterBreakout() {
    const room = myRoom();
    const wanted = room ? "classrooms.liveclass." + classId + "-" + room + ".breakout" : null;
    if (breakoutTopic === wanted) return;
    if (breakoutTopic) rt.unsubscribe(breakoutTopic).catch(() => {});
    breakoutTopic = wanted;
    $("lc-breakout-log").replaceChildren();
    if (!wanted) {
      emit("breakout", {topic: null});  // media back to the class's room
      setBoard(0, (await call("whiteboard/")));
      return;
    }
    rt.on(wanted, "stroke.added", onStroke);
    rt.on(wanted, "stroke.removed", onStrokeRemoved);
    rt.on(wanted, "board.cleared", onCleared);
    rt.on(wanted, "chat.message", (data) => {
      $("lc-breakout-log").append(el("li", {}, data.name + ": " + data.body));
    });
    rt.on(wanted, "breakout.broadcast", (data) => say(data.from + ": " + data.message));
    await rt.subscribe(wanted, {since: 0});
    emit("breakout", {topic: wanted});  // media moves to the breakout room
    setBoard(room, await call("whiteboard/?room=" + room));
  }

  async function refresh() {
    state = await call("state/");
    present.clear();
    renderAll();
    await enterBreakout().catch(() => {});
  }

  function renderAll() {
    renderClass();
    renderPeople();
    renderHands();
    renderPolls();
    if (!boardRoom) setBoard(0, state.strokes);
  }

  // -- chat (the class's messaging conversation) -------------------------------------------
  async function startChat() {
    const log = $("lc-chat-log");
    let conversation;
    try {
      const response = await fetch("/api/v1/conversations/live-class/" + encodeURIComponent(topic) + "/", {credentials: "same-origin"});
      if (!response.ok) return;
      conversation = await response.json();
    } catch (e) { return; }
    const chatTopic = "messaging.conversation." + conversation.id;
    const shown = new Set();
    const append = (message) => {
      if (shown.has(message.id) || message.deleted) return;
      shown.add(message.id);
      log.append(el("li", {dataset: {message: message.id}}, message.sender.name + ": " + message.body));
      log.scrollTop = log.scrollHeight;
    };
    rt.on(chatTopic, "message.created", append);
    // Live first, then the history: a message sent in between is in one or the other.
    await rt.subscribe(chatTopic).catch(() => {});
    const page = await fetch("/api/v1/conversations/" + conversation.id + "/messages/", {credentials: "same-origin"}).then((r) => r.json());
    (page.results || []).sort((a, b) => a.id - b.id).forEach(append);
    chat.topic = chatTopic;
    chat.append = append;
  }

  const chat = {topic: null, append: null};
  function wireChat() {
    $("lc-chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const input = $("lc-chat-body");
      const body = input.value.trim();
      if (!body) return;
      if (!chat.topic) {
        say(gettext("The chat is still loading, try again in a moment."));
        return;
      }
      const clientId = window.crypto && crypto.randomUUID ? crypto.randomUUID() : undefined;
      rt.act(chat.topic, "send", {body: body, client_id: clientId}).then((message) => {
        input.value = "";
        chat.append(message);
      }, (error) => say(error.message));
    });
  }

  // -- attendance heartbeat -------------------------------------------------------------------
  let heartbeat = null;
  let syncSoon = null;
  function beat() { if (joined) rt.act(topic, "heartbeat", {}).catch(() => {}); }
  function stopHeartbeat() { clearInterval(heartbeat); heartbeat = null; }

  // -- wiring ----------------------------------------------------------------------------------
  function wireTopic() {
    // A trainer launched a live quiz game in this class (games app): offer to join it.
    rt.on(topic, "game.launched", (data) => {
      if (window.Lyceum && window.Lyceum.toast) {
        window.Lyceum.toast(gettext("A quiz game has started: open it to play"), data.url);
      }
    });
    rt.on(topic, "presence.joined", (data) => {
      present.add(data.id);
      if (!state.participants.some((p) => p.id === data.id)) refresh().catch(() => {});
      else renderPeople();
    });
    rt.on(topic, "presence.left", (data) => {
      present.delete(data.id);
      const person = state.participants.find((p) => p.id === data.id);
      if (person) person.present = false;
      renderPeople();
      // Someone's last socket closed: close their attendance now, not at the next beat.
      if (isTrainer) { clearTimeout(syncSoon); syncSoon = setTimeout(beat, 500); }
    });
    rt.on(topic, "participant.joined", (data) => {
      const index = state.participants.findIndex((p) => p.id === data.id);
      if (index >= 0) state.participants[index] = data; else state.participants.push(data);
      renderPeople();
    });
    rt.on(topic, "participant.left", (data) => {
      const person = state.participants.find((p) => p.id === data.id);
      if (person) person.present = false;
      present.delete(data.id);
      renderPeople();
    });
    rt.on(topic, "participant.removed", (data) => {
      state.participants = state.participants.filter((p) => p.id !== data.id);
      if (data.id === me) removedMe();
      renderPeople();
    });
    rt.on(topic, "unsubscribed", () => removedMe());
    rt.on(topic, "class.changed", (data) => {
      const wasRoom = myRoom();
      state.live_class = data;
      if (!data.breakout_count) state.participants.forEach((p) => { p.breakout_room = null; });
      renderClass();
      renderPeople();
      if (wasRoom && !data.breakout_count) enterBreakout().catch(() => {});
    });
    rt.on(topic, "hands.changed", (data) => { state.hands = data.hands; renderHands(); });
    rt.on(topic, "hand.raised", cueHand);
    rt.on(topic, "reaction", floatReaction);
    rt.on(topic, "control", (data) => {
      emit("control", data);
      if ((data.action === "mute" && data.user === me) || (data.action === "mute_all" && data.except !== me)) {
        say(gettext("A trainer muted your microphone."));
      }
    });
    rt.on(topic, "recording.changed", (data) => {
      state.live_class.recording_on = data.on;
      renderClass();
    });
    rt.on(topic, "poll.opened", upsertPoll);
    rt.on(topic, "poll.updated", upsertPoll);
    rt.on(topic, "poll.closed", upsertPoll);
    rt.on(topic, "stroke.added", onStroke);
    rt.on(topic, "stroke.removed", onStrokeRemoved);
    rt.on(topic, "board.cleared", onCleared);
    rt.on(topic, "breakout.opened", (data) => {
      for (const [room, ids] of Object.entries(data.rooms)) {
        for (const person of state.participants) if (ids.includes(person.id)) person.breakout_room = Number(room);
      }
      renderPeople();
      renderBreakout();
      enterBreakout().catch(() => {});
    });
    rt.on(topic, "breakout.broadcast", (data) => { if (isTrainer) say(data.from + ": " + data.message); });
    rt.onStatus("close", () => { $("lc-connection").textContent = gettext("Reconnecting…"); });
    rt.onStatus("resumed", (name) => {
      if (name !== topic) return;
      $("lc-connection").textContent = "";
      refresh().catch(() => {});
    });
  }

  function removedMe() {
    joined = false;
    stopHeartbeat();
    say(gettext("A trainer removed you from this class."));
    root.classList.add("lc-out");
  }

  function wireControls() {
    const on = (id, fn) => { const node = $(id); if (node) node.addEventListener("click", fn); };
    on("lc-hand", () => {
      const mine = state.hands.some((h) => h.user === me);
      act(mine ? "hand.lower" : "hand.raise", {}).then((data) => { state.hands = data.hands; renderHands(); });
    });
    document.querySelectorAll(".lc-react").forEach((button) => {
      button.addEventListener("click", () => act("react", {emoji: button.dataset.emoji}));
    });
    on("lc-leave", () => {
      act("leave", {}).finally(() => {
        joined = false;
        location.href = state.live_class.course ? "/courses/" + state.live_class.course + "/" : "/";
      });
    });
    on("lc-start", () => act("start", {}).then((data) => { state.live_class = data; renderClass(); }));
    on("lc-end", () => {
      if (confirm(gettext("End the class for everyone?"))) act("end", {}).then(() => location.reload());
    });
    on("lc-mute-all", () => act("control", {action: "mute_all"}));
    on("lc-lock", () => act("control", {action: state.live_class.locked ? "unlock" : "lock"}));
    on("lc-record", () => act("recording", {on: !state.live_class.recording_on}));
    on("lc-lower-all", () => act("hand.lower", {everyone: true}));
    on("lc-webinar", () => act("control", {action: state.live_class.webinar ? "webinar_off" : "webinar_on"}));
    const pollForm = $("lc-poll-form");
    if (pollForm) pollForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const choices = $("lc-poll-choices").value.split("\n").map((s) => s.trim()).filter(Boolean);
      act("poll.create", {question: $("lc-poll-question").value, choices: choices, anonymous: $("lc-poll-anonymous").checked})
        .then((poll) => { upsertPoll(poll); pollForm.reset(); });
    });
    const breakoutForm = $("lc-breakout-form");
    if (breakoutForm) {
      $("lc-breakout-manual").addEventListener("toggle", renderPlacement);
      $("lc-breakout-count").addEventListener("change", renderPlacement);
      breakoutForm.addEventListener("submit", (event) => {
        event.preventDefault();
        // People left "at random" are spread by the server over the emptiest rooms.
        const assignments = {};
        breakoutForm.querySelectorAll("select[data-user]").forEach((select) => {
          if (select.value) assignments[select.dataset.user] = Number(select.value);
        });
        act("breakout.open", {
          count: Number($("lc-breakout-count").value),
          minutes: Number($("lc-breakout-minutes").value),
          assignments: assignments,
        });
      });
    }
    // The breakout timer counts down on screen; its end is the trainer's cue to call back.
    let timeUpFor = null;
    setInterval(() => {
      const endsAt = state.live_class.breakout_ends_at;
      if (!endsAt) return;
      renderBreakout();
      if (isTrainer && new Date(endsAt) <= Date.now() && timeUpFor !== endsAt) {
        timeUpFor = endsAt;
        chime();
        say(gettext("Breakout time is up: call everyone back when ready."));
      }
    }, 15000);
    const broadcast = $("lc-breakout-broadcast");
    if (broadcast) broadcast.addEventListener("submit", (event) => {
      event.preventDefault();
      act("breakout.broadcast", {message: $("lc-breakout-message").value}).then(() => { $("lc-breakout-message").value = ""; });
    });
    on("lc-breakout-close", () => act("breakout.close", {}));
    const sayForm = $("lc-breakout-say");
    if (sayForm) sayForm.addEventListener("submit", (event) => {
      event.preventDefault();
      if (!breakoutTopic) return;
      act("say", {body: $("lc-breakout-body").value}, breakoutTopic).then(() => { $("lc-breakout-body").value = ""; });
    });
    // Leaving the page ends this stretch of attendance at once (presence catches the rest).
    window.addEventListener("pagehide", () => {
      if (!joined) return;
      fetch(api + "leave/", {method: "POST", credentials: "same-origin", keepalive: true,
        headers: {"X-CSRFToken": csrf()}});
    });
  }

  async function start() {
    renderAll();
    if (state.live_class.status === "ended") return;
    try {
      state = await call("join/", "POST", {});
    } catch (error) {
      say(error.status === 409 || error.status === 403 ? error.message : gettext("Could not join the class."));
      root.classList.add("lc-out");
      return;
    }
    joined = true;
    renderAll();
    wireTopic();
    wireControls();
    wireChat();
    await rt.subscribe(topic, {since: state.last_event_id}).then((data) => {
      if (data && data.present) data.present.forEach((p) => present.add(p.id));
      renderPeople();
    }).catch((error) => say(error.message));
    await enterBreakout().catch(() => {});
    heartbeat = setInterval(beat, HEARTBEAT_MS);
    beat();
    await startChat().catch(() => {});
    root.dataset.joined = "true";   // ready: tests and the media script may rely on it
  }

  Lyceum.liveclass = {
    id: classId, topic: topic, me: me, role: state.role,
    state: () => state, act: act, stage: stage,
  };
  start();
})();
