// The reference player: hls.js with live catch-up, the room's chat, QoS beacons (CMCD v2 names).
// Token: the page's fragment (#token=…), never sent to the server in a URL.
import { balance, catalog as giftCatalog, newSession, playback, qos, sendGift } from "platform-api";
import { call, idempotent, session } from "./session.js";

(function () {
  const streamId = decodeURIComponent(location.pathname.split("/").pop());
  const params = new URLSearchParams(location.search);
  const lowLatency = params.get("mode") !== "hls";
  // The fragment's token (links from the demo), else this tab's signed-in session (session.js).
  const token = session.token();
  const video = document.getElementById("video");
  const t0 = performance.now();
  const stats = { mode: lowLatency ? "llhls" : "hls", startup_ms: null, latency_s: [], stalls: 0, stall_ms: 0,
                  beacons_sent: 0, beacons_failed: 0, errors: [], level: null, playing: false };
  window.playerStats = stats;
  stats.timeline = {};
  const mark = (what) => { if (!(what in stats.timeline)) stats.timeline[what] = Math.round(performance.now() - t0); };

  // --- QoS beacons --------------------------------------------------------------------------
  let sid = null, sn = 0, queue = [], hls = null;
  let stallStarted = null, lastBeat = performance.now(), playMs = 0, stallMs = 0, lastTick = performance.now();

  // Seconds of media buffered ahead of the playhead.
  function ahead() {
    return video.buffered.length ? video.buffered.end(video.buffered.length - 1) - video.currentTime : 0;
  }
  function latencyMs() {
    const date = hls && hls.playingDate;
    return date ? Math.max(0, Date.now() - date.getTime()) : null;
  }
  function beacon(e, extra) {
    const level = hls && hls.levels && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : null;
    const buffered = ahead();
    const b = { e, sid, cid: streamId, sn: sn++, ts: Date.now(), sta: state(), pr: video.playbackRate,
                bl: Math.max(0, Math.round(buffered * 1000)), user_agent: navigator.userAgent.slice(0, 256) };
    if (level) { b.br = Math.round(level.bitrate / 1000); b.rendition = (level.name || level.height + "p").slice(0, 32); }
    if (hls && hls.bandwidthEstimate) b.mtp = Math.round(hls.bandwidthEstimate / 1000);
    const ltc = latencyMs(); if (ltc !== null) b.ltc = Math.round(ltc);
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    if (q) b.dfa = q.droppedVideoFrames;
    queue.push(Object.assign(b, extra || {}));
    if (sid && e !== "heartbeat" && e !== "bitrate_switch") flush();
  }
  function state() {
    if (video.ended) return "e";
    if (stallStarted !== null) return "r";
    if (!stats.playing) return "s";
    return video.paused ? "a" : "p";
  }
  async function flush() {
    if (!queue.length || !sid) return;
    const batch = queue; queue = [];
    try { await call(qos({ body: { beacons: batch }, keepalive: true })); stats.beacons_sent += batch.length; }
    catch (err) { stats.beacons_failed += batch.length; stats.errors.push(String(err)); }
  }
  function tick() {
    const now = performance.now();
    if (stallStarted === null && stats.playing && !video.paused) playMs += now - lastTick;
    lastTick = now;
    const l = latencyMs(); if (l !== null && stats.playing) stats.latency_s.push(l / 1000);
    render();
    if (now - lastBeat >= 10000 && stats.playing) {
      lastBeat = now;
      beacon("heartbeat", { play_ms: Math.round(playMs), stall_ms: Math.round(stallMs) });
      playMs = 0; stallMs = 0; flush();
    }
  }
  function render() {
    const l = latencyMs(), level = hls && hls.levels && hls.currentLevel >= 0 ? hls.levels[hls.currentLevel] : null;
    document.getElementById("stats").textContent =
      stats.mode + " · " + (level ? level.height + "p " + Math.round(level.bitrate / 1000) + " kb/s" : "–") +
      " · latency " + (l === null ? "–" : (l / 1000).toFixed(2) + " s") + " · startup " +
      (stats.startup_ms === null ? "–" : stats.startup_ms + " ms") + " · stalls " + stats.stalls;
  }

  // --- playback -----------------------------------------------------------------------------
  function play(masterUrl) {
    beacon("play_request");
    video.addEventListener("playing", () => {
      if (!stats.playing) {
        stats.playing = true;
        stats.startup_ms = Math.round(performance.now() - t0);
        beacon("start", { startup_ms: stats.startup_ms });
      } else if (stallStarted !== null) {
        const ms = Math.round(performance.now() - stallStarted);
        stallStarted = null; stallMs += ms; stats.stall_ms += ms;
        beacon("stall_end", { stall_ms: ms });
      }
    });
    video.addEventListener("waiting", () => {
      if (stats.playing && stallStarted === null && !video.ended) {
        stallStarted = performance.now(); stats.stalls += 1; beacon("stall_start");
        (stats.stall_log = stats.stall_log || []).push({ at_ms: Math.round(performance.now() - t0),
          buffer_s: Number(ahead().toFixed(3)), latency_ms: latencyMs(), level: hls && hls.currentLevel,
          loading: (stats.trace || []).slice(-24) });
      }
    });
    video.addEventListener("ended", () => beacon("end", { reason: "ended" }));
    if (!window.Hls || !Hls.isSupported()) { stats.errors.push("hls.js unsupported"); return; }
    hls = new Hls({
      lowLatencyMode: lowLatency,
      maxLiveSyncPlaybackRate: 1.1,
      backBufferLength: 30,
      liveDurationInfinity: true,
      manifestLoadingMaxRetry: 6,
      manifestLoadingRetryDelay: 500,
      testBandwidth: false,
      startFragPrefetch: true,
      // Our segments are fMP4 already (hls.js only remuxes them): its transmux worker costs
      // 300-500 ms of startup here and buys nothing.
      enableWorker: false,
    });
    window.hls = hls;
    // The last moments of loading, kept for a stall's diagnosis (bounded; read by the e2e probe).
    const trace = (stats.trace = []);
    const note = (what) => { trace.push(Math.round(performance.now() - t0) + " " + what); if (trace.length > 48) trace.shift(); };
    const fragName = (d) => (d.frag.type === "audio" ? "audio" : "L" + d.frag.level) + " sn" + d.frag.sn + (d.part ? " p" + d.part.index : "");
    hls.on(Hls.Events.FRAG_LOADING, (_, d) => note("load " + fragName(d)));
    hls.on(Hls.Events.FRAG_BUFFERED, (_, d) => note("buffered " + fragName(d) + " ahead " + ahead().toFixed(2)));
    hls.on(Hls.Events.LEVEL_SWITCHING, (_, d) => note("switching L" + d.level));
    hls.on(Hls.Events.FRAG_LOAD_EMERGENCY_ABORTED, (_, d) => note("too slow, abandoned " + fragName(d)));
    hls.on(Hls.Events.LEVEL_UPDATED, (_, d) => note("playlist L" + d.level + " edge " + d.details.endSN + "." + d.details.partList?.length));
    // No rung switch while starting: hold the rung ABR picks first until playback has run a few
    // seconds, then hand back to ABR. A switch in the first second (ABR abandoning the first part
    // as too slow with an empty buffer, or climbing from a low start) left hls.js not loading the
    // next video part for over a second: the player stalls CI and a stressed machine saw.
    hls.once(Hls.Events.MANIFEST_PARSED, () => {
      hls.loadLevel = hls.nextAutoLevel;
      video.addEventListener("playing", () => setTimeout(() => { hls.loadLevel = -1; }, 3000), { once: true });
    });
    hls.on(Hls.Events.MANIFEST_LOADED, () => mark("manifest"));
    hls.on(Hls.Events.LEVEL_LOADED, () => mark("playlist"));
    hls.on(Hls.Events.FRAG_LOADED, () => mark("first_part"));
    hls.on(Hls.Events.FRAG_BUFFERED, () => mark("first_buffered"));
    hls.on(Hls.Events.LEVEL_SWITCHED, (_, data) => { stats.level = data.level; if (stats.playing) beacon("bitrate_switch"); });
    hls.on(Hls.Events.ERROR, (_, data) => {
      const where = (data.context && data.context.url) || data.url || "";
      stats.errors.push(data.type + ":" + data.details + (where ? " " + where.split("/").slice(-2).join("/") : "") +
        " @" + Math.round(performance.now() - t0));
      if (data.fatal) {
        beacon("error", { fatal: true, before_start: !stats.playing, error_code: String(data.details).slice(0, 64) });
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(() => hls.startLoad(), 1000);
        else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      }
    });
    hls.loadSource(masterUrl);
    hls.attachMedia(video);
    video.play().catch(() => {});
    setInterval(tick, 250);
    addEventListener("pagehide", () => { beacon("end", { reason: "exit", before_start: !stats.playing }); });
  }

  // --- the room -----------------------------------------------------------------------------
  // The reader's language (i18n.js loads after this script, so playback starts first).
  const tr = (key, vars, fallback) => (window.i18n ? window.i18n.t(key, vars, fallback) : fallback);
  const lines = new Map(); // message id -> its line, so a deletion removes it
  function say(text, cls, id) {
    const p = document.createElement("p"); p.textContent = text; if (cls) p.className = cls;
    if (id) { p.dataset.id = id; lines.set(id, p); }
    const box = document.getElementById("chat"); box.appendChild(p); box.scrollTop = box.scrollHeight;
    return p;
  }
  const REACTIONS = { heart: "❤️", laugh: "😂", wow: "😮", clap: "👏", fire: "🔥" };
  function float(emoji) {
    const el = document.createElement("span"); el.className = "float"; el.textContent = emoji;
    el.style.right = 16 + Math.random() * 60 + "px";
    document.querySelector("main").appendChild(el); setTimeout(() => el.remove(), 2100);
  }
  function showBalance(available) {
    stats.balance = available;
    document.getElementById("balance").textContent = Number(available).toLocaleString();
  }
  async function wallet() {
    try { showBalance((await call(balance())).available); } catch (err) { stats.errors.push(String(err)); }
    document.getElementById("topup").addEventListener("click", async () => {
      try { await session.topUp(500, location.pathname); }
      catch (err) { say(tr("watch.topup_refused", { reason: err.message }, "top-up refused: " + err.message), "refused"); }
    });
  }
  function room(info) {
    document.getElementById("room").textContent = info.room_id;
    if (!window.io) return;
    const socket = io({ auth: { token }, transports: ["websocket"] });
    window.roomSocket = socket;
    let lastMessageId = null;
    // Every (re)connect joins again with the last message seen: the gateway sends what was missed.
    socket.on("connect", () => socket.emit("join", lastMessageId ? { room_id: info.room_id, last_message_id: lastMessageId } : { room_id: info.room_id }, (ack) => {
      stats.room_joined = Boolean(ack && ack.ok);
      stats.joins = (stats.joins || 0) + 1;
      if (ack && ack.ok && lastMessageId) stats.recovered = ack.recovered;
      say(ack && ack.ok ? (lastMessageId ? tr("watch.reconnected", {}, "reconnected") : tr("watch.joined", { room: info.room_id }, "joined " + info.room_id))
        : tr("watch.cannot_join", { reason: ack && ack.reason }, "could not join: " + (ack && ack.reason)), "sys");
    }));
    socket.on("connect_error", (err) => say(tr("watch.chat_unavailable", { reason: err.message }, "chat unavailable: " + err.message), "sys"));
    socket.on("chat", (m) => {
      lastMessageId = m.message_id;
      if (lines.has(m.message_id)) return; // recovered and live: shown once
      stats.chat_received = (stats.chat_received || 0) + 1;
      say((m.user_id || "?") + ": " + m.text, "", m.message_id);
    });
    socket.on("chat_deleted", (d) => { const line = lines.get(d.message_id); if (line) { line.remove(); lines.delete(d.message_id); stats.deleted = (stats.deleted || 0) + 1; } });
    socket.on("chat_held", (h) => say(tr("watch.held", { reason: h.reason }, "your message is held for a moderator: " + h.reason), "held"));
    socket.on("chat_rejected", (r) => say(tr("watch.not_sent", { reason: r.detail }, "not sent: " + r.detail), "refused"));
    socket.on("moderation", (a) => {
      if (a.target_user_id && a.target_user_id === stats.me && (a.kind === "ban" || a.kind === "timeout")) say(a.kind === "ban" ? tr("watch.banned", {}, "you were banned from this room")
        : tr("watch.timed_out", { seconds: a.duration_s }, "you are timed out for " + a.duration_s + " s"), "refused");
    });
    socket.on("reactions", (b) => { for (const [kind, n] of Object.entries(b.counts || {})) for (let i = 0; i < Math.min(n, 5); i++) setTimeout(() => float(REACTIONS[kind] || "✨"), i * 120); });
    socket.on("occupancy", (o) => { document.getElementById("viewers").textContent = o.count ?? o.viewers ?? "–"; });
    socket.on("gift", (g) => {
      stats.gifts_seen = (stats.gifts_seen || 0) + 1;
      const vars = { sender: g.sender_id || "someone", quantity: g.quantity || 1, sku: g.gift_sku, coins: g.total_coins };
      say(tr("watch.gift", vars, `🎁 ${vars.sender} sent ${vars.quantity}× ${vars.sku} (${vars.coins} coins)`), "gift");
    });
    socket.on("balance", (b) => showBalance(b.available));
    socket.on("gift_rejected", (r) => say(tr("watch.gift_refused", { reason: r.detail }, "gift refused: " + r.detail), "refused"));
    document.getElementById("say").addEventListener("submit", (ev) => {
      ev.preventDefault();
      const input = document.getElementById("text");
      socket.emit("chat", { room_id: info.room_id, text: input.value }, (ack) => { if (!ack.ok) say(tr("watch.not_sent", { reason: ack.reason }, "not sent: " + ack.reason), "refused"); });
      input.value = "";
    });
    document.querySelectorAll("[data-reaction]").forEach((b) => b.addEventListener("click", () => {
      float(b.textContent);
      socket.emit("react", { room_id: info.room_id, reaction: b.dataset.reaction }, () => {});
    }));
    catalog(info);
  }
  async function catalog(info) {
    const { items } = await call(giftCatalog());
    const box = document.getElementById("gifts");
    for (const item of items) {
      const b = document.createElement("button"); b.dataset.sku = item.sku; b.textContent = `🎁 ${item.sku} · ${item.coins}`;
      b.addEventListener("click", async () => {
        try {
          await call(sendGift({ body: { creator_id: info.creator_id, room_id: info.room_id, gift_sku: item.sku, quantity: 1 },
            headers: idempotent() }));
        } catch (err) { say(tr("watch.gift_refused", { reason: err.message }, "gift refused: " + err.message), "refused"); }
      });
      box.appendChild(b);
    }
  }

  (async () => {
    try {
      // Start loading the stream at once; the session and the room follow. Beacons queue until
      // the session id is known.
      // Standard HLS gets playlists without the low-latency tags (hls.js would otherwise still
      // use blocking reload, with a budget shorter than a segment).
      play(document.body.dataset.origin + "/live/" + encodeURIComponent(streamId) + "/master.m3u8" + (lowLatency ? "" : "?ll=0"));
      const [info, started] = await Promise.all([
        call(playback({ path: { stream_id: streamId } })),
        call(newSession({ body: { stream_id: streamId } })),
      ]);
      sid = started.sid;
      stats.sid = sid;
      queue.forEach((b) => { b.sid = sid; });
      mark("session");
      flush();
      stats.me = (session.claims() || {}).sub;
      room(info);
      wallet();
    } catch (err) {
      stats.errors.push(String(err));
      document.getElementById("stats").textContent = "cannot play: " + err;
    }
  })();
})();
