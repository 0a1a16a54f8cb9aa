// The official socket.io-client as a real peer of the gateway. Prints one JSON object.
import { createRequire } from "node:module";

// Resolved from the project's npm cache folder (.cache/node), installed by `make install`.
const require = createRequire(`${process.env.NODE_MODULES}/`);
const { io } = require("socket.io-client");

const url = process.env.GATEWAY_URL;
const token = process.env.TOKEN;
const room = process.env.ROOM;
const out = {};

function connect(auth) {
  return new Promise((resolve) => {
    const socket = io(url, { auth, transports: ["websocket"], reconnection: false, timeout: 5000 });
    socket.on("connect", () => resolve({ socket, error: null }));
    socket.on("connect_error", (err) => resolve({ socket, error: err.message }));
  });
}

const ask = (socket, event, data) => socket.timeout(10000).emitWithAck(event, data);

const refused = await connect({});
out.without_token = refused.error;
refused.socket.close();
const forged = await connect({ token: "bm90.dmFsaWQ" });
out.forged_token = forged.error;
forged.socket.close();
const expired = await connect({ token: process.env.EXPIRED_TOKEN });
out.expired_token = expired.error;
expired.socket.close();

const { socket, error } = await connect({ token });
out.connect_error = error;
out.chat_before_join = await ask(socket, "chat", { room_id: room, text: "too early" });
out.join = await ask(socket, "join", { room_id: room });
out.chat = await ask(socket, "chat", { room_id: room, text: "hello from socket.io-client" });
out.too_long = await ask(socket, "chat", { room_id: room, text: "x".repeat(501) });
out.malformed = await ask(socket, "chat", "not an object");
const flood = await Promise.all(Array.from({ length: 12 }, (_, i) => ask(socket, "chat", { room_id: room, text: `flood ${i}` })));
out.flood_limited = flood.filter((a) => a.reason === "rate_limited").length;
out.unknown_gift = await ask(socket, "send_gift", { room_id: room, creator_id: "c1", gift_sku: "unicorn", client_id: "g1" });
out.bad_reaction = await ask(socket, "react", { room_id: room, reaction: "thumbs" });
await new Promise((r) => setTimeout(r, 700)); // the flood bucket refills a token
out.last = await ask(socket, "chat", { room_id: room, text: "the end" });
socket.close();
console.log(JSON.stringify(out));
process.exit(0);
