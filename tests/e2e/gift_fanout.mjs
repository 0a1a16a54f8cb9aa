// Two official clients on two gateway nodes: a viewer on node A, a sender on node B.
import { createRequire } from "node:module";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { io } = require("socket.io-client");
const env = process.env;

function connect(url, token) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
    socket.on("connect", () => resolve(socket));
    socket.on("connect_error", reject);
  });
}

const viewer = await connect(env.URL_A, env.TOKEN_VIEWER);
const sender = await connect(env.URL_B, env.TOKEN_SENDER);
const gotGift = new Promise((resolve) => viewer.on("gift", resolve));
const gotBalance = new Promise((resolve) => sender.on("balance", resolve));
await viewer.timeout(10000).emitWithAck("join", { room_id: env.ROOM });
await sender.timeout(10000).emitWithAck("join", { room_id: env.ROOM });
const started = Date.now();
const ack = await sender.timeout(10000).emitWithAck("send_gift", {
  room_id: env.ROOM, creator_id: env.CREATOR, gift_sku: "rose", quantity: 2, client_id: "tap-1",
});
const timeout = (ms) => new Promise((_, reject) => setTimeout(() => reject(new Error("timed out")), ms));
const [gift, balance] = await Promise.race([Promise.all([gotGift, gotBalance]), timeout(60000)]);
console.log(JSON.stringify({ ack, gift, balance, ms: Date.now() - started }));
viewer.close();
sender.close();
process.exit(0);
