/* Lyceum realtime client: one WebSocket per tab, every live feature a topic.
 *
 *   const rt = Lyceum.realtime;                       // created on first use
 *   rt.subscribe("hub.user.7", {since: 1057});        // resumes from the last id seen
 *   rt.on("hub.user.7", "notification.created", (data, frame) => ...);
 *   const reply = await rt.act("messaging.conversation.4", "send", {body: "hi"});
 *
 * Reconnects with exponential backoff and jitter, re-subscribes every topic with
 * `since` = the last durable event id it saw, matches replies to requests by `ref`,
 * and never delivers the same durable event twice.
 */
(function () {
  "use strict";

  const CLOSE_UNAUTHENTICATED = 4401;
  const CLOSE_TOO_SLOW = 4008;
  // The server's live layer (Redis) failed: events may have been missed. Reconnect with
  // backoff and re-subscribe with `since` (a `sub` answering `unavailable` is retried).
  const CLOSE_UNAVAILABLE = 4503;
  const CLOSE_RESTARTING = 4012;

  class RealtimeError extends Error {
    constructor(frame) {
      super(frame.message || frame.code);
      this.code = frame.code;
      this.details = frame.details;
      // Seconds after which trying again makes sense (rate_limited, overloaded, unavailable).
      this.retryAfter = typeof frame.retry_after === "number" ? frame.retry_after : null;
    }
  }

  // A `sub` answered with one of these is sent again later (see retryDelay).
  const RETRIED_CODES = new Set(["rate_limited", "overloaded", "unavailable", "timeout"]);

  // When to try again after the n-th failed try: the server's `retry_after` hint if it gave
  // one, else exponential back-off from 1 s; either way doubled per further try, at most
  // 30 s, with jitter over [delay, 2 x delay) so that a crowd refused together does not come
  // back together.
  function retryDelay(error, n) {
    const base = error.retryAfter !== null ? error.retryAfter * 1000 : 1000;
    const delay = Math.min(30000, base * Math.pow(2, n));
    return delay + Math.random() * delay;
  }

  // The page's socket address. A page whose live parts must meet other people's in one
  // server process (a live class on the built-in media relay) names that in
  // <meta name="lyceum-ws-affinity">; the load balancer hashes on it (deploy/haproxy.cfg).
  function defaultUrl() {
    const base = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/";
    const meta = document.querySelector('meta[name="lyceum-ws-affinity"]');
    return meta && meta.content ? base + "?affinity=" + encodeURIComponent(meta.content) : base;
  }

  class Realtime {
    constructor(url) {
      this.url = url || defaultUrl();
      this.socket = null;
      this.nextRef = 1;
      this.pending = new Map();      // ref -> {resolve, reject, timer}
      this.topics = new Map();       // topic -> {since, handlers: Map(type -> Set(fn))}
      this.listeners = new Map();    // "open" | "close" | "resumed" | "truncated" -> Set(fn)
      this.attempt = 0;
      this.stopped = false;
      this.connected = false;
      this.connect();
    }

    // -- public API ---------------------------------------------------------------------
    subscribe(topic, options) {
      const since = options && Number.isInteger(options.since) ? options.since : null;
      let entry = this.topics.get(topic);
      if (!entry) {
        entry = {since: since, handlers: new Map(), seen: new Set()};
        this.topics.set(topic, entry);
      } else if (since !== null && (entry.since === null || since > entry.since)) {
        entry.since = since;
      }
      return this.connected ? this._sub(topic) : Promise.resolve(null);
    }

    unsubscribe(topic) {
      this.topics.delete(topic);
      return this.connected ? this.request({op: "unsub", topic: topic}) : Promise.resolve(null);
    }

    on(topic, type, handler) {
      let entry = this.topics.get(topic);
      if (!entry) {
        entry = {since: null, handlers: new Map(), seen: new Set()};
        this.topics.set(topic, entry);
      }
      if (!entry.handlers.has(type)) entry.handlers.set(type, new Set());
      entry.handlers.get(type).add(handler);
      return () => entry.handlers.get(type).delete(handler);
    }

    onStatus(name, handler) {
      if (!this.listeners.has(name)) this.listeners.set(name, new Set());
      this.listeners.get(name).add(handler);
    }

    act(topic, action, data) {
      return this.request({op: "act", topic: topic, action: action, data: data || {}});
    }

    request(frame, timeoutMs) {
      return new Promise((resolve, reject) => {
        if (!this.socket || this.socket.readyState !== WebSocket.OPEN) {
          reject(new RealtimeError({code: "offline", message: "not connected"}));
          return;
        }
        const ref = String(this.nextRef++);
        const timer = setTimeout(() => {
          this.pending.delete(ref);
          reject(new RealtimeError({code: "timeout", message: "no reply"}));
        }, timeoutMs || 15000);
        this.pending.set(ref, {resolve, reject, timer});
        this.socket.send(JSON.stringify(Object.assign({ref: ref}, frame)));
      });
    }

    // -- connection ---------------------------------------------------------------------
    /** The network is back (the browser says so): retry now rather than after a backoff
     * that grew while offline; every topic resumes with ``since`` on open. */
    reconnectNow() {
      if (this.stopped || !this.retry) return;
      clearTimeout(this.retry);
      this.retry = null;
      this.attempt = 0;
      this.connect();
    }

    connect() {
      if (this.stopped) return;
      const socket = new WebSocket(this.url);
      this.socket = socket;
      socket.onopen = () => {
        this.attempt = 0;
        this.connected = true;
        this._emit("open");
        for (const topic of this.topics.keys()) this._sub(topic).catch(() => {});
      };
      socket.onmessage = (message) => this._receive(message.data);
      socket.onclose = (event) => {
        this.connected = false;
        for (const [ref, waiter] of this.pending) {
          clearTimeout(waiter.timer);
          waiter.reject(new RealtimeError({code: "offline", message: "connection lost"}));
          this.pending.delete(ref);
        }
        this._emit("close", event);
        if (event.code === CLOSE_UNAUTHENTICATED) {
          this.stopped = true;
          return;
        }
        // Backoff with full jitter: 0.5 s, 1 s, 2 s ... up to 30 s, randomised so that a
        // restarted server is not hit by every tab at the same instant.
        const ceiling = Math.min(30000, 500 * Math.pow(2, this.attempt++));
        let delay = Math.random() * ceiling;
        if (event.code === CLOSE_TOO_SLOW) delay = 250;
        // The server is stopping for a restart: the other processes are up, come back at
        // once, spread over a second so the whole process's tabs do not arrive together.
        if (event.code === CLOSE_RESTARTING) { delay = Math.random() * 1000; this.attempt = 0; }
        if (event.code === CLOSE_UNAVAILABLE) this._emit("unavailable", event);
        this.retry = setTimeout(() => { this.retry = null; this.connect(); }, delay);
      };
    }

    _sub(topic, attempt) {
      const entry = this.topics.get(topic);
      const frame = {op: "sub", topic: topic};
      if (entry && entry.since !== null) frame.since = entry.since;
      const socket = this.socket;
      return this.request(frame).then((data) => {
        if (data && data.truncated) this._emit("truncated", topic);
        this._emit("resumed", topic, data);
        return data;
      }, (error) => {
        // Over the socket's budget, the server busy or its live layer down for a moment, or
        // no answer in time: try again later, on this socket, if the topic is still wanted.
        if (RETRIED_CODES.has(error.code)) {
          const n = attempt || 0;
          setTimeout(() => {
            if (this.socket === socket && this.connected && this.topics.has(topic)) {
              this._sub(topic, n + 1).catch(() => {});
            }
          }, retryDelay(error, n));
        }
        throw error;
      });
    }

    _receive(text) {
      let frame;
      try {
        frame = JSON.parse(text);
      } catch (e) {
        return;
      }
      if (frame.op === "event") {
        const entry = this.topics.get(frame.topic);
        if (!entry) return;
        if (frame.id !== undefined) {
          if (entry.seen.has(frame.id)) return;   // never the same durable event twice
          entry.seen.add(frame.id);
          if (entry.seen.size > 2000) entry.seen.delete(entry.seen.values().next().value);
          if (entry.since === null || frame.id > entry.since) entry.since = frame.id;
        }
        for (const key of [frame.type, "*"]) {
          const handlers = entry.handlers.get(key);
          if (handlers) for (const fn of handlers) {
            try { fn(frame.data, frame); } catch (e) { console.error(e); }
          }
        }
        return;
      }
      const waiter = this.pending.get(String(frame.ref));
      if (!waiter) {
        if (frame.op === "error") console.warn("realtime:", frame.code, frame.message);
        return;
      }
      this.pending.delete(String(frame.ref));
      clearTimeout(waiter.timer);
      if (frame.op === "ok") waiter.resolve(frame.data);
      else waiter.reject(new RealtimeError(frame));
    }

    _emit(name, ...args) {
      const handlers = this.listeners.get(name);
      if (handlers) for (const fn of handlers) {
        try { fn(...args); } catch (e) { console.error(e); }
      }
    }
  }

  const Lyceum = (window.Lyceum = window.Lyceum || {});
  Lyceum.Realtime = Realtime;
  Lyceum.RealtimeError = RealtimeError;
  Lyceum.retryDelay = retryDelay;
  let shared = null;
  Object.defineProperty(Lyceum, "realtime", {
    get() {
      if (!shared) {
        shared = new Realtime();
        window.addEventListener("online", () => shared.reconnectNow());
      }
      return shared;
    },
  });
})();
