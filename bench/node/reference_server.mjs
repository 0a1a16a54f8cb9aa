// The reference for bench-fanout: the stack this platform replaces. A Node.js Socket.IO server
// with @socket.io/redis-adapter that authenticates with the same signed tokens, checks the same
// input, and broadcasts chat and every reaction tap straight to the room (no Kafka hop, no
// moderation, no coalescing, no history).
//   PORT=... REDIS_URL=redis://127.0.0.1:6379/0 AUTH_TOKEN_SECRET=... node reference_server.mjs
import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const secret = process.env.AUTH_TOKEN_SECRET;
const b64url = (buf) => buf.toString("base64url");

function verify(token) {
  const [body, signature] = String(token ?? "").split(".");
  if (!body || !signature) throw new Error("token is malformed");
  const expected = Buffer.from(b64url(createHmac("sha256", secret).update(body).digest()));
  const given = Buffer.from(signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error("token signature is not valid");
  const claims = JSON.parse(Buffer.from(body, "base64url").toString());
  if (claims.exp < Date.now() / 1000) throw new Error("token has expired");
  return claims.sub;
}

const pub = createClient({ url: process.env.REDIS_URL });
const sub = pub.duplicate();
await Promise.all([pub.connect(), sub.connect()]);
const io = new Server(Number(process.env.PORT), {
  adapter: createAdapter(pub, sub, { key: "bench-reference" }),
  transports: ["websocket"],
});

io.use((socket, next) => {
  try {
    socket.data.user = verify(socket.handshake.auth?.token);
    next();
  } catch (err) {
    next(new Error(`authentication failed: ${err.message}`));
  }
});

io.on("connection", (socket) => {
  socket.on("join", (data, ack) => {
    if (typeof data?.room_id !== "string") return ack?.({ ok: false, reason: "room_id required" });
    socket.join(data.room_id);
    ack?.({ ok: true, room_id: data.room_id });
  });
  socket.on("chat", (data, ack) => {
    const room = data?.room_id;
    if (!socket.rooms.has(room)) return ack?.({ ok: false, reason: "join the room before chatting in it" });
    if (typeof data.text !== "string" || data.text.length < 1 || data.text.length > 500)
      return ack?.({ ok: false, reason: "text: 1 to 500 characters" });
    const message = { message_id: randomUUID(), room_id: room, user_id: socket.data.user, text: data.text, at: new Date().toISOString() };
    io.to(room).emit("chat", message);
    ack?.({ ok: true, message_id: message.message_id });
  });
  socket.on("react", (data, ack) => {
    const room = data?.room_id;
    if (!socket.rooms.has(room)) return ack?.({ ok: false, reason: "join the room before reacting in it" });
    io.to(room).emit("reaction", { room_id: room, user_id: socket.data.user, reaction: data.reaction });
    ack?.({ ok: true });
  });
});
process.on("SIGTERM", () => { io.close(); pub.quit(); sub.quit(); process.exit(0); });
console.log(JSON.stringify({ listening: Number(process.env.PORT) }));
