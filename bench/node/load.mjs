// bench-fanout's load generator: official socket.io-client sockets, spread over the servers.
//   node load.mjs <config.json>   (written by bench/fanout.py)
// Prints progress lines on stderr and one JSON result on stdout. "MEASURE_START" / "MEASURE_END"
// on stderr mark the measured window (the orchestrator samples CPU there).
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { io } = require("socket.io-client");

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const log = (msg) => process.stderr.write(`${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const latencies = [];
const decisionLags = [];
let measuring = false;
let reactionMessages = 0;
let reactionTaps = 0;
let warm = false;
const roomSize = new Map();
const occupancy = {};

function connect(client) {
  return new Promise((resolve, reject) => {
    const socket = io(client.url, { auth: { token: client.token }, transports: ["websocket"], reconnection: false, timeout: 20000, forceNew: true });
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", (err) => reject(new Error(`${client.user}: ${err.message}`)));
    socket.on("chat", (m) => {
      const parts = String(m.text).split("|");
      if (parts[0] === "warm") warm = true;
      if (parts[0] === "b" && measuring) {
        const now = Date.now();
        latencies.push(now - Number(parts[1]));
        if (m.at && m.user_id === cfg.clients[Number(parts[2])]?.user) decisionLags.push(Date.parse(m.at) - Number(parts[1]));
      }
    });
    socket.on("reactions", (b) => { if (measuring) { reactionMessages += 1; reactionTaps += b.total ?? 0; } });
    socket.on("reaction", () => { if (measuring) { reactionMessages += 1; reactionTaps += 1; } });
    socket.on("occupancy", (o) => { occupancy[o.room_id] = o.viewers; });
  });
}

const sockets = [];
const t0 = Date.now();
for (let i = 0; i < cfg.clients.length; i += 50) {
  const batch = cfg.clients.slice(i, i + 50);
  sockets.push(...(await Promise.all(batch.map(connect))));
}
log(`connected ${sockets.length} clients in ${Date.now() - t0} ms`);
await Promise.all(sockets.map(async (socket, i) => {
  const room = cfg.clients[i].room;
  const ack = await socket.timeout(20000).emitWithAck("join", { room_id: room });
  if (!ack.ok) throw new Error(`join refused: ${JSON.stringify(ack)}`);
  roomSize.set(room, (roomSize.get(room) ?? 0) + 1);
}));
log(`joined ${cfg.clients.length} clients to ${roomSize.size} rooms`);

// Warm up: the pipeline is ready when a chat comes back through it.
const probe = sockets[cfg.senders[0]];
const probeRoom = cfg.clients[cfg.senders[0]].room;
const warmDeadline = Date.now() + 90_000;
for (let n = 0; !warm && Date.now() < warmDeadline; n++) {
  probe.emit("chat", { room_id: probeRoom, text: `warm|${n}` });
  await sleep(1000);
}
if (!warm) throw new Error("no chat came back within 90 s: is the pipeline running?");
await sleep(cfg.settle_ms);

let sent = 0, acked = 0, refused = 0, expected = 0;
const refusals = {};
const timers = [];
log("MEASURE_START");
measuring = true;
const started = Date.now();
cfg.senders.forEach((index, k) => {
  const socket = sockets[index];
  const room = cfg.clients[index].room;
  const phase = (k * cfg.chat_interval_ms) / cfg.senders.length;
  timers.push(setTimeout(() => {
    const tick = () => {
      sent += 1;
      expected += roomSize.get(room);
      socket.timeout(10000).emitWithAck("chat", { room_id: room, text: `b|${Date.now()}|${index}` })
        .then((ack) => { if (ack.ok) acked += 1; else { refused += 1; refusals[ack.reason] = (refusals[ack.reason] ?? 0) + 1; } })
        .catch(() => { refused += 1; });
    };
    tick();
    timers.push(setInterval(tick, cfg.chat_interval_ms));
  }, phase));
});
let taps = 0;
cfg.reactors.forEach((index) => {
  const socket = sockets[index];
  const room = cfg.clients[index].room;
  const kinds = ["heart", "fire", "laugh", "clap"];
  timers.push(setInterval(() => { taps += 1; socket.emit("react", { room_id: room, reaction: kinds[taps % 4] }); }, cfg.react_interval_ms));
});
await sleep(cfg.duration_s * 1000);
for (const t of timers) { clearTimeout(t); clearInterval(t); }
const window_s = (Date.now() - started) / 1000;
await sleep(3000); // deliveries in flight
measuring = false;
log("MEASURE_END");

latencies.sort((a, b) => a - b);
decisionLags.sort((a, b) => a - b);
const pick = (xs, p) => (xs.length ? xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] : null);
const q = (p) => pick(latencies, p);
console.log(JSON.stringify({
  clients: sockets.length,
  rooms: roomSize.size,
  window_s,
  chat_sent: sent,
  chat_acked: acked,
  chat_refused: refused,
  refusals,
  deliveries: latencies.length,
  expected_deliveries: expected,
  deliveries_per_s: latencies.length / window_s,
  p50_ms: q(0.5),
  p99_ms: q(0.99),
  max_ms: latencies.length ? latencies[latencies.length - 1] : null,
  // Where the platform stamps its decision ("at"): emit -> moderation decided, per receipt.
  decided_p50_ms: pick(decisionLags, 0.5),
  decided_p99_ms: pick(decisionLags, 0.99),
  reaction_taps_sent: taps,
  reaction_messages_received: reactionMessages,
  reaction_taps_received: reactionTaps,
  occupancy_last_seen: occupancy,
  room_sizes: Object.fromEntries(roomSize),
}));
for (const s of sockets) s.close();
process.exit(0);
