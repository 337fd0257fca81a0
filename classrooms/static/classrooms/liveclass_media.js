/* Media of the live class room: my camera and microphone out, everyone's video in.
 *
 * Signalling is `act` on the room's topic (classrooms/media.py): I publish once
 * (`media.publish`: one peer connection carrying microphone, camera and, for a trainer, a
 * screen slot), and subscribe to each publisher (`media.subscribe`: receive-only
 * transceivers; the server answers with their relayed tracks, or, on an SFU such as Janus,
 * replies with its own offer, which the page answers with `media.answer`). ICE candidates trickle with
 * `media.ice`. `media.published` / `media.unpublished` / `media.toggled` events keep the
 * tiles in #media-stage current. Camera, microphone and screen toggles switch the sender's
 * track (no renegotiation). Trainer controls arrive as "liveclass:control" DOM events from
 * liveclass.js; the class's status and spotlight as "liveclass:state"; "liveclass:breakout"
 * moves my media to my breakout room's topic (`<id>-<n>`, its own media room) and back.
 * After the socket resumes, the page reconciles with `media.list`.
 */
(function () {
  "use strict";
  const Lyceum = window.Lyceum;
  const stage = document.getElementById("media-stage");
  const root = document.getElementById("liveclass");
  if (!Lyceum || !stage || !root || !window.RTCPeerConnection) return;
  const gettext = window.gettext || ((s) => s);
  const rt = Lyceum.realtime;
  const mainTopic = stage.dataset.topic;
  let topic = mainTopic;  // where my media is now: the class's room or my breakout room
  const me = Number(root.dataset.me);
  const isTrainer = stage.dataset.role === "trainer";
  // The server's LYCEUM_MEDIA_MAX_* defaults; the publish reply may say otherwise.
  const limits = {width: 640, height: 360, fps: 24, bitrate: 600000};
  const RTC_CONFIG = {iceServers: [], bundlePolicy: "max-bundle"};
  const RETRY_MS = 2000;

  let live = root.dataset.status === "live";
  let local = null;             // MediaStream from the camera and microphone
  let screenTrack = null;       // the trainer's shared screen, while shared
  let publication = null;       // {pc, connection, senders: {audio, video, screen}, ice: []}
  const subscriptions = new Map();  // publisher id -> {pc, connection, ice: []}
  const tiles = new Map();      // "<user>" or "<user>:screen" -> {box, video, audio, label}
  const states = new Map();     // user id -> {audio, video, screen}
  const mine = {audio: true, video: true, screen: false};
  let spotlight = stage.dataset.spotlight ? Number(stage.dataset.spotlight) : null;
  // A webinar: only trainers and promoted speakers publish in the class's room.
  let webinar = stage.dataset.webinar === "true";
  let simulcast = false;  // the media server forwards layers (Janus): send three, take one
  let speakers = [];
  function mayPublish() {
    return topic !== mainTopic || isTrainer || !webinar || speakers.includes(me);
  }

  // -- small helpers ---------------------------------------------------------------------------
  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key === "style") Object.assign(node.style, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function nameOf(userId) {
    if (userId === me) return gettext("You");
    const room = Lyceum.liveclass && Lyceum.liveclass.state ? Lyceum.liveclass.state() : null;
    const person = room && room.participants ? room.participants.find((p) => p.id === userId) : null;
    return person ? person.name : "#" + userId;
  }

  function act(action, data, on) {
    // Longer than the client's default wait: an answer waits for the server's ICE gathering,
    // which a busy server takes its time over.
    return rt.request({op: "act", topic: on || topic, action: action, data: data || {}}, 30000);
  }

  function tell(text) {
    const box = document.getElementById("lc-message");
    if (box) { box.textContent = text; box.hidden = !text; }
  }

  // -- tiles ------------------------------------------------------------------------------------
  function tile(key, userId, source) {
    let entry = tiles.get(key);
    if (entry) return entry;
    const box = el("figure", {
      className: "media-tile", dataset: {user: String(userId), source: source, testid: "media-tile"},
      style: {position: "relative", margin: "0"},
    });
    const video = el("video", {autoplay: true, playsInline: true, muted: true, dataset: {testid: "media-video"}});
    const label = el("figcaption", {
      className: "media-label",
      style: {position: "absolute", left: ".3rem", bottom: ".3rem", color: "#fff", background: "rgba(0,0,0,.55)",
        padding: "0 .35rem", borderRadius: "4px", fontSize: ".85rem"},
    });
    box.append(video, label);
    let audio = null;
    if (source === "camera" && userId !== me) {
      audio = el("audio", {autoplay: true});
      box.append(audio);
    }
    stage.append(box);
    entry = {box, video, audio, label, userId, source};
    tiles.set(key, entry);
    renderTiles();
    return entry;
  }

  function renderTile(entry) {
    const state = states.get(entry.userId) || {audio: true, video: true, screen: false};
    const parts = [entry.source === "screen" ? nameOf(entry.userId) + " · " + gettext("screen") : nameOf(entry.userId)];
    if (entry.source === "camera") {
      parts.push(state.audio ? "🎤" : "🔇");
      if (!state.video) parts.push(gettext("camera off"));
    }
    entry.label.textContent = parts.join(" ");
    entry.box.dataset.audio = String(state.audio);
    entry.box.dataset.video = String(state.video);
    entry.video.style.visibility = entry.source === "camera" && !state.video ? "hidden" : "visible";
    const spotlit = entry.source === "screen" ? state.screen : spotlight === entry.userId;
    entry.box.classList.toggle("spotlight", spotlit);
    entry.box.style.gridColumn = spotlit ? "1 / -1" : "";
    entry.box.style.order = spotlit ? "-1" : "";
    if (entry.source === "screen") entry.box.hidden = !state.screen;
  }

  function renderTiles() {
    const big = layout === "speaker" ? featured() : null;
    for (const entry of tiles.values()) {
      renderTile(entry);
      entry.box.classList.toggle("featured", big !== null && entry.userId === big && entry.source === "camera");
    }
    renderWaiting();
  }

  function dropTiles(userId) {
    for (const [key, entry] of tiles) {
      if (entry.userId === userId) { entry.box.remove(); tiles.delete(key); }
    }
    renderTiles();
  }

  function play(element, stream) {
    if (element.srcObject !== stream) element.srcObject = stream;
    const started = element.play();
    if (started && started.catch) {
      started.catch(() => {
        // Autoplay with sound needs a gesture: the first click anywhere starts it.
        document.addEventListener("click", () => element.play().catch(() => {}), {once: true});
      });
    }
  }

  // -- controls: a toolbar of labelled icon buttons, in groups --------------------------------------
  const SPRITE = stage.dataset.sprite || "";
  function icon(name) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    svg.setAttribute("class", "icon");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    const use = document.createElementNS(ns, "use");
    use.setAttribute("href", SPRITE + "#" + name);
    svg.append(use);
    return svg;
  }
  function labelled(button, iconName, text) {
    button.replaceChildren(icon(iconName), el("span", {className: "media-button-label"}, text));
  }
  function button(testid, extra) {
    return el("button", Object.assign({type: "button", className: "btn btn-secondary btn-sm", dataset: {testid: testid}}, extra || {}));
  }
  function group(label, ...buttons) {
    const box = el("div", {className: "media-group", role: "group", "aria-label": label});
    box.append(...buttons);
    return box;
  }
  const bar = el("div", {className: "media-controls media-toolbar", role: "toolbar",
    "aria-label": gettext("Camera, microphone and layout"), dataset: {testid: "media-controls"}});
  const micButton = button("media-mic");
  const camButton = button("media-camera");
  const screenButton = button("media-screen", {hidden: !isTrainer});
  const galleryButton = button("media-layout-gallery");
  const speakerButton = button("media-layout-speaker");
  labelled(galleryButton, "layout-grid", gettext("Gallery"));
  labelled(speakerButton, "square-user", gettext("Speaker"));
  bar.append(
    group(gettext("Your camera and microphone"), micButton, camButton, screenButton),
    group(gettext("Layout"), galleryButton, speakerButton),
  );
  stage.after(bar);

  // Gallery: everyone the same size. Speaker: the spotlit person, or whoever talked last, or
  // the trainer, large; the others in a row below. Remembered on this device.
  let layout = "gallery";
  try { layout = localStorage.getItem("lyceum.liveclass.layout") === "speaker" ? "speaker" : "gallery"; } catch (error) { /* private mode */ }
  let lastSpeaker = null;
  function setLayout(next) {
    layout = next;
    try { localStorage.setItem("lyceum.liveclass.layout", next); } catch (error) { /* private mode */ }
    renderControls();
    renderTiles();
  }
  galleryButton.addEventListener("click", () => setLayout("gallery"));
  speakerButton.addEventListener("click", () => setLayout("speaker"));
  function featured() {
    if (spotlight !== null && tiles.has(String(spotlight))) return spotlight;
    if (lastSpeaker !== null && tiles.has(String(lastSpeaker))) return lastSpeaker;
    const room = Lyceum.liveclass && Lyceum.liveclass.state ? Lyceum.liveclass.state() : null;
    const trainers = room && room.live_class ? room.live_class.trainers || [] : [];
    const trainer = trainers.find((id) => id !== me && tiles.has(String(id)));
    if (trainer !== undefined) return trainer;
    const other = [...tiles.values()].find((t) => t.userId !== me && t.source === "camera");
    return other ? other.userId : null;
  }

  // Nobody to watch yet: say what we wait for, instead of an empty black box.
  const waiting = document.getElementById("media-waiting");
  const waitingText = document.getElementById("media-waiting-text");
  function renderWaiting() {
    if (!waiting) return;
    const others = [...tiles.values()].some((t) => t.userId !== me);
    const room = Lyceum.liveclass && Lyceum.liveclass.state ? Lyceum.liveclass.state() : null;
    const trainers = room && room.live_class ? room.live_class.trainers || [] : [];
    const trainerHere = [...tiles.values()].some((t) => t.userId !== me && trainers.includes(t.userId));
    let text = "";
    if (!live) text = gettext("Waiting for the trainer to start the class.");
    else if (!isTrainer && !trainerHere) text = gettext("Waiting for the trainer: their video appears here when they join.");
    else if (!others) text = gettext("Nobody else is sending video yet.");
    waitingText.textContent = text;
    waiting.hidden = !text;
    stage.classList.toggle("empty", tiles.size === 0);
  }

  function renderControls() {
    labelled(micButton, mine.audio ? "mic" : "mic-off", mine.audio ? gettext("Mute microphone") : gettext("Unmute microphone"));
    micButton.setAttribute("aria-pressed", String(!mine.audio));
    labelled(camButton, mine.video ? "video" : "video-off", mine.video ? gettext("Stop camera") : gettext("Start camera"));
    camButton.setAttribute("aria-pressed", String(!mine.video));
    labelled(screenButton, "monitor-up", mine.screen ? gettext("Stop sharing") : gettext("Share screen"));
    screenButton.setAttribute("aria-pressed", String(mine.screen));
    galleryButton.setAttribute("aria-pressed", String(layout === "gallery"));
    speakerButton.setAttribute("aria-pressed", String(layout === "speaker"));
    stage.dataset.layout = layout;
    const hasAudio = local && local.getAudioTracks().length;
    const hasVideo = local && local.getVideoTracks().length;
    micButton.disabled = !live || !hasAudio;
    camButton.disabled = !live || !hasVideo;
    screenButton.disabled = !live || !navigator.mediaDevices || !navigator.mediaDevices.getDisplayMedia;
  }

  async function setMine(change) {
    Object.assign(mine, change);
    states.set(me, Object.assign({}, mine));
    const senders = publication ? publication.senders : {};
    if ("audio" in change && local) local.getAudioTracks().forEach((t) => { t.enabled = mine.audio; });
    if ("video" in change && senders.video) {
      // No track, no frames: a camera that is off costs nothing on the wire or the server.
      await senders.video.replaceTrack(mine.video && local ? local.getVideoTracks()[0] || null : null);
    }
    renderControls();
    renderTiles();
    if (publication) act("media.toggle", change).catch(() => {});
  }

  micButton.addEventListener("click", () => setMine({audio: !mine.audio}));
  camButton.addEventListener("click", () => setMine({video: !mine.video}));
  screenButton.addEventListener("click", () => (mine.screen ? stopScreen() : startScreen()));

  async function startScreen() {
    if (!isTrainer || !publication || !publication.senders.screen) return;
    let stream;
    try {
      stream = await navigator.mediaDevices.getDisplayMedia({
        video: {width: {max: limits.width * 2}, height: {max: limits.height * 2}, frameRate: {max: limits.fps}},
        audio: false,
      });
    } catch (error) {
      return; // the trainer cancelled the picker
    }
    screenTrack = stream.getVideoTracks()[0];
    screenTrack.addEventListener("ended", () => stopScreen());
    await publication.senders.screen.replaceTrack(screenTrack);
    const own = tile(me + ":screen", me, "screen");
    play(own.video, new MediaStream([screenTrack]));
    await setMine({screen: true});
  }

  async function stopScreen() {
    if (screenTrack) { screenTrack.stop(); screenTrack = null; }
    if (publication && publication.senders.screen) await publication.senders.screen.replaceTrack(null).catch(() => {});
    await setMine({screen: false});
  }

  // -- ICE: trickled once the server has named the connection ------------------------------------
  function trickle(holder) {
    return (event) => {
      const candidate = event.candidate;
      const data = candidate
        ? {candidate: candidate.candidate, sdpMid: candidate.sdpMid, sdpMLineIndex: candidate.sdpMLineIndex}
        : {candidate: ""};
      if (candidate && !candidate.candidate) return;
      if (holder.connection) act("media.ice", Object.assign({connection: holder.connection}, data), holder.topic).catch(() => {});
      else holder.ice.push(data);
    };
  }

  function flushIce(holder) {
    const queued = holder.ice.splice(0);
    for (const data of queued) act("media.ice", Object.assign({connection: holder.connection}, data), holder.topic).catch(() => {});
  }

  // -- before joining: a camera and microphone check ---------------------------------------------
  // The page shows a preview and the devices to pick, and joins (publishes, receives) once
  // the person chooses to, with their microphone and camera on or off.
  const prejoin = document.getElementById("lc-prejoin");
  let ready = !prejoin;
  const chosen = {camera: "", microphone: ""};
  const preview = document.getElementById("lc-preview");
  const cameraPick = document.getElementById("lc-camera-pick");
  const micPick = document.getElementById("lc-mic-pick");

  async function fillDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    const devices = await navigator.mediaDevices.enumerateDevices();
    const current = {
      videoinput: local && local.getVideoTracks()[0] ? local.getVideoTracks()[0].getSettings().deviceId : "",
      audioinput: local && local.getAudioTracks()[0] ? local.getAudioTracks()[0].getSettings().deviceId : "",
    };
    for (const [select, kind, none] of [
      [cameraPick, "videoinput", gettext("No camera")], [micPick, "audioinput", gettext("No microphone")],
    ]) {
      const found = devices.filter((d) => d.kind === kind);
      select.replaceChildren(...found.map((d, i) => el("option", {value: d.deviceId, selected: d.deviceId === current[kind]},
        d.label || (kind === "videoinput" ? gettext("Camera") : gettext("Microphone")) + " " + (i + 1))));
      if (!found.length) select.append(el("option", {value: ""}, none));
      select.disabled = !found.length;
    }
  }

  async function showPreview() {
    const status = document.getElementById("lc-preview-status");
    const stream = await openDevices();
    preview.srcObject = stream && stream.getVideoTracks().length ? new MediaStream(stream.getVideoTracks()) : null;
    if (preview.srcObject) preview.play().catch(() => {});
    status.textContent = !stream ? gettext("No camera or microphone: you can watch and listen.")
      : !stream.getVideoTracks().length ? gettext("No camera: the others will hear you.")
        : !stream.getAudioTracks().length ? gettext("No microphone: the others will see you.") : "";
    document.getElementById("lc-join-mic").disabled = !(stream && stream.getAudioTracks().length);
    document.getElementById("lc-join-camera").disabled = !(stream && stream.getVideoTracks().length);
    await fillDevices().catch(() => {});
  }

  async function pickDevice() {
    chosen.camera = cameraPick.value;
    chosen.microphone = micPick.value;
    if (local) { local.getTracks().forEach((t) => t.stop()); local = null; }
    mine.audio = true;
    mine.video = true;
    await showPreview();
  }

  if (prejoin) {
    cameraPick.addEventListener("change", () => pickDevice().catch(() => {}));
    micPick.addEventListener("change", () => pickDevice().catch(() => {}));
    document.getElementById("lc-join-media").addEventListener("click", () => {
      const stream = local;
      mine.audio = Boolean(stream && stream.getAudioTracks().length) && document.getElementById("lc-join-mic").checked;
      mine.video = Boolean(stream && stream.getVideoTracks().length) && document.getElementById("lc-join-camera").checked;
      preview.srcObject = null;
      prejoin.hidden = true;
      ready = true;
      root.dataset.mediaJoined = "true";
      renderControls();
      startIfReady();
    });
    showPreview().catch(() => {});
  }

  // -- publishing --------------------------------------------------------------------------------
  async function openDevices() {
    if (local) return local;
    const video = {
      width: {ideal: limits.width, max: limits.width},
      height: {ideal: limits.height, max: limits.height},
      frameRate: {ideal: 15, max: limits.fps},
    };
    const audio = {echoCancellation: true, noiseSuppression: true};
    if (chosen.camera) video.deviceId = {exact: chosen.camera};
    if (chosen.microphone) audio.deviceId = {exact: chosen.microphone};
    for (const wanted of [{audio, video}, {audio}, {video}]) {
      try {
        local = await navigator.mediaDevices.getUserMedia(wanted);
        break;
      } catch (error) {
        local = null;
      }
    }
    if (!local) tell(gettext("No camera or microphone: you can watch and listen."));
    mine.audio = Boolean(local && local.getAudioTracks().length) && mine.audio;
    mine.video = Boolean(local && local.getVideoTracks().length) && mine.video;
    return local;
  }

  function closePublication() {
    if (!publication) return;
    publication.pc.close();
    publication = null;
  }

  async function publish() {
    closePublication();
    const stream = await openDevices();
    if (!live) return;
    const pc = new RTCPeerConnection(RTC_CONFIG);
    const holder = {pc: pc, connection: null, ice: [], senders: {}, started: Date.now(), topic: topic};
    publication = holder;
    const audioTrack = stream ? stream.getAudioTracks()[0] || null : null;
    const videoTrack = stream ? stream.getVideoTracks()[0] || null : null;
    // Fixed m-line order, tracks or not: microphone, camera, then the trainer's screen.
    holder.senders.audio = pc.addTransceiver(audioTrack || "audio", {direction: "sendonly"}).sender;
    // Simulcast (Janus): full size, half and a quarter; each subscriber takes the layer its
    // tile needs (media.layer).
    const cameraEncodings = simulcast
      ? [
          {rid: "h", maxBitrate: limits.bitrate, maxFramerate: limits.fps},
          {rid: "m", scaleResolutionDownBy: 2, maxBitrate: Math.round(limits.bitrate / 3), maxFramerate: limits.fps},
          {rid: "l", scaleResolutionDownBy: 4, maxBitrate: Math.round(limits.bitrate / 8), maxFramerate: limits.fps},
        ]
      : [{maxBitrate: limits.bitrate, maxFramerate: limits.fps}];
    holder.senders.video = pc.addTransceiver(mine.video && videoTrack ? videoTrack : "video", {
      direction: "sendonly",
      sendEncodings: cameraEncodings,
    }).sender;
    if (isTrainer) {
      holder.senders.screen = pc.addTransceiver(screenTrack || "video", {
        direction: "sendonly",
        sendEncodings: [{maxBitrate: limits.bitrate, maxFramerate: limits.fps}],
      }).sender;
    }
    pc.onicecandidate = trickle(holder);
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" && publication === holder) setTimeout(() => live && publish(), RETRY_MS);
    };
    await pc.setLocalDescription(await pc.createOffer());
    let answer;
    try {
      answer = await act("media.publish", {sdp: pc.localDescription.sdp, type: "offer"}, holder.topic);
    } catch (error) {
      if (publication === holder) closePublication();
      if (error.code === "forbidden" || error.code === "invalid") {
        tell(error.message || gettext("Could not send your video."));
      } else {
        setTimeout(() => { if (live && !publication) publish().catch(() => {}); }, RETRY_MS);
      }
      return;
    }
    if (publication !== holder) { pc.close(); return; }
    holder.connection = answer.connection;
    Object.assign(limits, answer.limits || {});
    await pc.setRemoteDescription({type: "answer", sdp: answer.sdp});
    flushIce(holder);
    await capBitrate(holder);
    if (audioTrack) audioTrack.enabled = mine.audio;
    states.set(me, Object.assign({}, mine));
    const own = tile(String(me), me, "camera");
    if (videoTrack) play(own.video, new MediaStream([videoTrack]));
    renderControls();
    act("media.toggle", {audio: mine.audio, video: mine.video, screen: mine.screen}).catch(() => {});
    // Those I already receive well stay as they are (a webinar speaker promoted keeps them).
    for (const other of answer.publishers || []) {
      const held = subscriptions.get(other.user_id);
      if (!held || !settling(held)) subscribeTo(other);
    }
  }

  async function capBitrate(holder) {
    for (const sender of [holder.senders.video, holder.senders.screen]) {
      if (!sender) continue;
      const parameters = sender.getParameters();
      if (!parameters.encodings || !parameters.encodings.length) parameters.encodings = [{}];
      parameters.encodings.forEach((encoding) => {
        // A simulcast layer keeps its own, smaller budget.
        encoding.maxBitrate = Math.min(encoding.maxBitrate || limits.bitrate, limits.bitrate);
        encoding.maxFramerate = limits.fps;
      });
      await sender.setParameters(parameters).catch(() => {});
    }
  }

  // -- subscribing -------------------------------------------------------------------------------
  function closeSubscription(userId) {
    const holder = subscriptions.get(userId);
    if (holder) { holder.pc.close(); subscriptions.delete(userId); }
  }

  // A subscription refused for a while (a publication still connecting on the media server
  // that just took the class over, say) is tried again by a reconcile, backing off per
  // publisher (2, 4, 8, 16 then 32 s), not left to the 15 s safety net.
  const failures = new Map();
  let retryTimer = null;
  function retrySubscriptions(userId, error) {
    if (!live || (error && error.code === "forbidden")) return;
    const count = (failures.get(userId) || 0) + 1;
    failures.set(userId, count);
    if (retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      reconcile().catch(() => {});
    }, RETRY_MS * 2 ** Math.min(count - 1, 4));
  }

  async function subscribeTo(publication_) {
    const userId = publication_.user_id;
    if (userId === me || !live) return;
    states.set(userId, Object.assign({audio: true, video: true, screen: false}, publication_.state || {}));
    closeSubscription(userId);
    let pc = new RTCPeerConnection(RTC_CONFIG);
    const holder = {pc: pc, connection: null, ice: [], sources: {}, started: Date.now(), topic: topic};
    subscriptions.set(userId, holder);
    for (const source of publication_.tracks) {
      pc.addTransceiver(source === "audio" ? "audio" : "video", {direction: "recvonly"});
    }
    const camera = new MediaStream();
    const onTrack = (event) => {
      const source = holder.sources[event.transceiver.mid] || event.track.kind;
      if (source === "screen") {
        play(tile(userId + ":screen", userId, "screen").video, new MediaStream([event.track]));
        renderTiles();
        return;
      }
      camera.addTrack(event.track);
      const entry = tile(String(userId), userId, "camera");
      if (event.track.kind === "video") play(entry.video, camera);
      else if (entry.audio) play(entry.audio, new MediaStream([event.track]));
    };
    const wire = (conn) => {
      conn.ontrack = onTrack;
      conn.onicecandidate = trickle(holder);
      conn.onconnectionstatechange = () => {
        if (conn.connectionState === "failed" && subscriptions.get(userId) === holder) {
          setTimeout(() => reconcile().catch(() => {}), RETRY_MS);
        }
      };
    };
    wire(pc);
    await pc.setLocalDescription(await pc.createOffer());
    let answer;
    try {
      answer = await act("media.subscribe", {publisher: userId, sdp: pc.localDescription.sdp, type: "offer"}, holder.topic);
    } catch (error) {
      if (subscriptions.get(userId) === holder) { closeSubscription(userId); retrySubscriptions(userId, error); }
      return;
    }
    if (subscriptions.get(userId) !== holder) { pc.close(); return; }
    holder.sources = answer.tracks || {};
    if (answer.type === "offer") {
      // An SFU (Janus) offers what it sends: answer it on a fresh connection.
      pc.close();
      pc = new RTCPeerConnection(RTC_CONFIG);
      holder.pc = pc;
      holder.ice = [];
      wire(pc);
      await pc.setRemoteDescription({type: "offer", sdp: answer.sdp});
      await pc.setLocalDescription(await pc.createAnswer());
      try {
        await act("media.answer", {connection: answer.connection, sdp: pc.localDescription.sdp, type: "answer"}, holder.topic);
      } catch (error) {
        if (subscriptions.get(userId) === holder) { closeSubscription(userId); retrySubscriptions(userId, error); }
        return;
      }
      if (subscriptions.get(userId) !== holder) { pc.close(); return; }
    } else {
      await pc.setRemoteDescription({type: "answer", sdp: answer.sdp});
    }
    holder.connection = answer.connection;
    failures.delete(userId);
    flushIce(holder);
    tile(String(userId), userId, "camera");
    renderTiles();
    if (answer.type === "offer") chooseLayers();
  }

  // Simulcast: a spotlit camera or a small room gets the full layer, a crowd of tiles the
  // smallest, anything between the middle one; told again when that changes.
  function layerFor(userId) {
    if (spotlight === userId || subscriptions.size <= 1) return 2;
    return subscriptions.size > 6 ? 0 : 1;
  }
  function chooseLayers() {
    if (!simulcast) return;
    for (const [userId, holder] of subscriptions) {
      const wanted = layerFor(userId);
      if (!holder.connection || holder.layer === wanted) continue;
      holder.layer = wanted;
      act("media.layer", {connection: holder.connection, substream: wanted}, holder.topic).catch(() => {
        // Refused or lost (a busy server, the socket resuming): asked again shortly, or the
        // subscription would stay on Janus's default layer until the room changes.
        holder.layer = null;
        holder.layerTries = (holder.layerTries || 0) + 1;
        if (holder.layerTries <= 5) setTimeout(() => { if (subscriptions.get(userId) === holder) chooseLayers(); }, RETRY_MS);
      });
    }
  }

  // -- the room's life -------------------------------------------------------------------------
  // A connection being set up is left alone for this long before it counts as lost.
  const SETUP_MS = 20000;
  function settling(holder) {
    return holder.pc.connectionState === "connected" ||
      (holder.pc.connectionState !== "failed" && Date.now() - holder.started < SETUP_MS);
  }

  async function reconcile() {
    if (!live || !ready) return;
    if (!configured) await configure();
    const listed = await act("media.list", {});
    const publishers = new Map(listed.publishers.map((p) => [p.user_id, p]));
    const ownOk = publication && (publishers.has(me) || !publication.connection) && settling(publication);
    if (!mayPublish()) {
      if (publication) { closePublication(); dropTiles(me); renderControls(); }
    } else if (!ownOk) {
      await publish();
    }
    for (const [userId, holder] of subscriptions) {
      if (!publishers.has(userId)) { closeSubscription(userId); dropTiles(userId); }
      else if (settling(holder)) publishers.delete(userId);
    }
    for (const [userId, pub] of publishers) if (userId !== me) subscribeTo(pub);
  }

  // A safety net for a missed event, a connection that died quietly, or a start that failed.
  setInterval(() => { if (live && subscribed) reconcile().catch(() => {}); }, 15000);

  function closeConnections() {
    closePublication();
    for (const userId of [...subscriptions.keys()]) closeSubscription(userId);
    for (const userId of new Set([...tiles.values()].map((t) => t.userId))) dropTiles(userId);
  }

  function stopAll() {
    closeConnections();
    if (screenTrack) { screenTrack.stop(); screenTrack = null; mine.screen = false; }
    if (local) { local.getTracks().forEach((t) => t.stop()); local = null; }
    renderControls();
  }

  // Events of the room my media is in (the handlers of a room I left stay, and ignore it).
  const listened = new Set();
  function listen(room) {
    if (listened.has(room)) return;
    listened.add(room);
    rt.on(room, "media.published", (data) => {
      if (room === topic && data.user_id !== me) subscribeTo(data).catch(() => {});
    });
    rt.on(room, "media.unpublished", (data) => {
      if (room !== topic) return;
      if (data.user_id === me) {
        if (live) setTimeout(() => reconcile().catch(() => {}), RETRY_MS);
        return;
      }
      closeSubscription(data.user_id);
      dropTiles(data.user_id);
    });
    // Active speaker (Janus): the tile of whoever talks is outlined.
    rt.on(room, "media.speaking", (data) => {
      if (room !== topic) return;
      const entry = tiles.get(String(data.user_id));
      if (!entry) return;
      entry.box.dataset.speaking = String(Boolean(data.talking));
      entry.box.style.outline = data.talking ? "3px solid #2e9d5b" : "";
      if (data.talking && data.user_id !== me && lastSpeaker !== data.user_id) {
        lastSpeaker = data.user_id;
        if (layout === "speaker") renderTiles();
      }
    });
    rt.on(room, "media.toggled", (data) => {
      if (room !== topic || data.user_id === me) return;
      states.set(data.user_id, {audio: data.audio, video: data.video, screen: data.screen});
      renderTiles();
    });
  }
  listen(mainTopic);

  // Into my breakout room (its topic, already subscribed by liveclass.js) or back: the
  // camera and microphone stay open, the connections are made again in the other room.
  function moveTo(next) {
    const target = next || mainTopic;
    if (target === topic) return;
    // Whether publishing or only receiving: the server closes my connections in that room.
    act("media.leave", {}, topic).catch(() => {});
    closeConnections();
    topic = target;
    listen(target);
    startIfReady();
  }
  stage.addEventListener("liveclass:breakout", (event) => moveTo((event.detail || {}).topic));

  stage.addEventListener("liveclass:control", (event) => {
    const data = event.detail || {};
    const meant = (data.action === "mute" && data.user === me) || (data.action === "mute_all" && data.except !== me);
    if (meant && mine.audio) setMine({audio: false});
  });

  let subscribed = false;
  let configured = false;
  async function configure() {
    // Limits and STUN/TURN servers come from the server before anything is captured.
    const config = await act("media.list", {});
    Object.assign(limits, config.limits || {});
    // STUN/TURN URLs, and TURN servers with credentials made for me ({urls, username, credential}).
    RTC_CONFIG.iceServers = (config.ice_servers || []).map((server) => (typeof server === "string" ? {urls: server} : server));
    simulcast = Boolean(config.simulcast);
    configured = true;
  }

  function startIfReady() {
    if (!live || !subscribed || publication || !ready) return;
    // A failed start (the server busy, the socket resuming) is tried again, not given up.
    // A webinar's watcher only subscribes (reconcile: everyone who publishes).
    (configured ? Promise.resolve() : configure()).then(() => (mayPublish() ? publish() : reconcile())).catch(() => {
      setTimeout(startIfReady, RETRY_MS);
    });
  }

  stage.addEventListener("liveclass:state", (event) => {
    const state = event.detail || {};
    const lc = state.live_class || {};
    spotlight = lc.spotlight || null;
    const could = mayPublish();
    webinar = Boolean(lc.webinar);
    speakers = lc.speakers || [];
    if (live && ready && could !== mayPublish()) {
      // Promoted: publish (and subscribe again with it); back to watching: the server ended
      // my publication, I go on receiving.
      if (mayPublish()) publish().catch(() => {});
      else if (publication) { closePublication(); dropTiles(me); renderControls(); }
    }
    const nowLive = lc.status === "live";
    if (nowLive && !live) { live = true; startIfReady(); }
    else if (!nowLive && live) { live = false; act("media.leave", {}).catch(() => {}); stopAll(); }
    renderControls();
    renderTiles();
    chooseLayers();
  });

  rt.onStatus("resumed", (name) => {
    if (name === mainTopic && !subscribed) { subscribed = true; startIfReady(); }
    else if (name === topic && subscribed) reconcile().catch(() => {});
  });

  window.addEventListener("pagehide", () => {
    if (publication) act("media.leave", {}).catch(() => {});
  });

  renderControls();
  Lyceum.liveclassMedia = {
    limits: limits,
    topic: () => topic,
    publication: () => publication,
    subscriptions: subscriptions,
    chooseLayers: chooseLayers,
  };
})();
