// The creator studio: open the room, get and rotate the stream key with the OBS settings, and
// while on air the room live (viewers, chat per minute, gifts and coins within a second, over
// Socket.IO) with the warehouse's figures every 5 s (QoE, earnings per day), moderation on
// every chat line, and the statements finance wrote.
import { ban, deleteMessage, goLive as openStream, openRoom, revokeKey, statementFile, statements as listStatements, studio, timeout } from "platform-api";
import { call, session } from "./session.js";

const $ = (id) => document.getElementById(id);
const claims = session.claims();
const me = claims ? claims.sub : "";
let room = new URLSearchParams(location.search).get("room") || `${me}-live`;
const state = { stream: null, gifts: 0, coins: 0, chatTimes: [], live: null, earnings: [], statements: [], joined: false };
window.studioState = state;
$("me").textContent = me;

function error(e) { $("error").textContent = e ? e.message || String(e) : ""; }

async function goLive(title) {
  error();
  try {
    try { await call(openRoom({ body: { room_id: room, title } })); }
    catch (e) { if (e.status !== 409) throw e; } // opened before
    state.stream = await call(openStream({ body: { room_id: room } }));
    showKey();
    join();
  } catch (e) { error(e); }
}
function showKey() {
  const s = state.stream;
  $("obs").hidden = false;
  $("key-note").hidden = true;
  $("server").textContent = s.obs.server;
  $("key").textContent = "••••••••";
  $("srt").textContent = s.srt_url.replace(/streamid=.*/, "streamid=••••••••");
  $("watch").href = s.watch_url;
}
$("room-form").addEventListener("submit", (e) => { e.preventDefault(); goLive(new FormData(e.target).get("title")); });
$("reveal").addEventListener("click", () => { $("key").textContent = state.stream.stream_key; $("srt").textContent = state.stream.srt_url; });
$("rotate").addEventListener("click", async () => {
  try {
    await call(revokeKey({ path: { stream_id: state.stream.stream_id } }));
    state.stream = await call(openStream({ body: { room_id: room } }));
    showKey();
  } catch (e) { error(e); }
});

// -- the room, live -------------------------------------------------------------------------
let socket = null;
function join() {
  if (socket) return;
  socket = io({ auth: { token: session.token() }, transports: ["websocket"] });
  socket.on("connect", () => socket.emit("join", { room_id: room }, (ack) => { state.joined = Boolean(ack && ack.ok); }));
  socket.on("occupancy", (o) => { $("viewers").textContent = o.viewers; });
  socket.on("chat", (m) => { state.chatTimes.push(Date.now()); line(m); });
  socket.on("chat_deleted", (d) => document.querySelector(`#chat p[data-id="${d.message_id}"]`)?.remove());
  socket.on("gift", (g) => {
    state.gifts += 1; state.coins += g.total_coins;
    $("gifts").textContent = state.gifts; $("coins").textContent = state.coins.toLocaleString();
    const p = document.createElement("p"); p.textContent = `🎁 ${g.sender_id} sent ${g.quantity}× ${g.gift_sku} (${g.total_coins} coins)`;
    $("chat").appendChild(p);
  });
}
function line(m) {
  const p = document.createElement("p");
  p.dataset.id = m.message_id;
  p.textContent = `${m.user_id}: ${m.text} `;
  for (const [label, act] of [["delete", del], ["10 min", (x) => restrict(x, 600)], ["ban", (x) => restrict(x, null)]]) {
    const b = document.createElement("button"); b.textContent = label; b.addEventListener("click", () => act(m)); p.appendChild(b);
  }
  $("chat").appendChild(p); $("chat").scrollTop = $("chat").scrollHeight;
}
async function del(m) { try { await call(deleteMessage({ path: { room_id: room, message_id: m.message_id } })); } catch (e) { error(e); } }
async function restrict(m, seconds) {
  try {
    if (seconds) await call(timeout({ path: { room_id: room }, body: { user_id: m.user_id, duration_s: seconds } }));
    else await call(ban({ path: { room_id: room }, body: { user_id: m.user_id } }));
  } catch (e) { error(e); }
}
setInterval(() => {
  const minuteAgo = Date.now() - 60000;
  state.chatTimes = state.chatTimes.filter((t) => t > minuteAgo);
  $("per-minute").textContent = state.chatTimes.length;
}, 1000);

// -- the warehouse's figures ----------------------------------------------------------------
async function figures() {
  try {
    const query = state.stream ? { stream_id: state.stream.stream_id, minutes: 10 } : {};
    const s = await call(studio({ path: { creator_id: me }, query }));
    if (!state.stream && s.streams.length) { // a stream opened before: its room, live
      state.stream = s.streams.find((x) => x.room_id === room) || s.streams[0];
      room = state.stream.room_id;
      $("watch").href = state.stream.watch_url;
      join();
      return figures();
    }
    state.earnings = s.earnings;
    $("earnings").innerHTML = s.earnings.map((d) => `<tr><td>${d.day}</td><td>${d.earned}</td><td>${d.paid_out}</td><td>${d.net}</td></tr>`).join("");
    if (s.live) {
      state.live = s.live;
      const l = s.live;
      $("qoe").textContent = `Last ${l.minutes} min: ${l.play_requests || 0} plays, startup p50 ${l.startup_p50_ms ?? "–"} ms, ` +
        `rebuffering ${((l.rebuffer_ratio || 0) * 100).toFixed(2)} %, latency p50 ${l.latency_p50_ms ?? "–"} ms, ` +
        `${l.messages || 0} messages, ${l.gifts || 0} gifts (${l.gift_coins || 0} coins)`;
    }
  } catch (e) { error(e); }
}
async function statements() {
  try {
    const { items } = await call(listStatements({ path: { creator_id: me } }));
    state.statements = items;
    $("statements").innerHTML = items.map((s) => `<tr><td>${s.day}</td><td><button data-day="${s.day}" data-fmt="csv">CSV</button> <button data-day="${s.day}" data-fmt="parquet">Parquet</button></td></tr>`).join("")
      || "<tr><td class='muted'>none yet: the payout job writes one per paid day</td></tr>";
  } catch (e) { error(e); }
}
$("statements").addEventListener("click", async (e) => {
  const { day, fmt } = e.target.dataset;
  if (!day) return;
  try {
    const file = await call(statementFile({ path: { creator_id: me, day, fmt }, parseAs: "blob" }));
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file); link.download = `${day}.${fmt}`; link.click();
  } catch (err) { error(err); }
});

if (!claims || !claims.roles.includes("creator")) {
  document.querySelector("main").innerHTML = '<section><p>The studio is for creators: <a href="/">sign up as a creator</a>.</p></section>';
} else {
  figures(); statements();
  setInterval(figures, 5000);
}
