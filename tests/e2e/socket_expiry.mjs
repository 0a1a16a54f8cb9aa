// The official socket.io-client with a token about to expire: what the socket can still do
// before and after the expiry, and whether the gateway ends it. Prints one JSON object.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { io } = require("socket.io-client");

const room = process.env.ROOM;
const expiresInMs = Number(process.env.EXPIRES_IN_MS);
const started = Date.now();
const out = {};
const socket = io(process.env.GATEWAY_URL, {
  auth: { token: process.env.TOKEN },
  transports: ["websocket"],
  reconnection: false,
  timeout: 5000,
});
const ask = (event, data) => socket.timeout(5000).emitWithAck(event, data).catch((err) => ({ error: err.message }));
const ended = new Promise((resolve) => socket.on("disconnect", (reason) => resolve({ reason, after_ms: Date.now() - started })));
await new Promise((resolve, reject) => {
  socket.on("connect", resolve);
  socket.on("connect_error", (err) => reject(err));
});
out.join = await ask("join", { room_id: room });
out.chat_before = await ask("chat", { room_id: room, text: "before expiry" });
out.huge_gift = await ask("send_gift", { room_id: room, creator_id: process.env.CREATOR, gift_sku: "rose", quantity: 10 ** 20, client_id: "g-huge" });
out.disconnect = await Promise.race([ended, new Promise((r) => setTimeout(() => r(null), expiresInMs + 5000))]);
out.expires_in_ms = expiresInMs;
socket.close();
console.log(JSON.stringify(out));
process.exit(0);
