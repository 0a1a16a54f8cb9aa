// A scriptable peer made of official socket.io-client sockets, driven by a test over stdin/stdout.
// Each stdin line is a JSON command; each stdout line a JSON reply or a received event:
//   {"op":"connect","id":1,"name":"a","url":"...","token":"..."}   -> {"id":1,"ok":true} | {"id":1,"error":"..."}
//   {"op":"emit","id":2,"name":"a","event":"chat","data":{...}}     -> {"id":2,"ack":{...}}
//   {"op":"close","id":3,"name":"a"}                                -> {"id":3,"ok":true}
//   every event a socket receives                                   -> {"name":"a","event":"chat","data":{...}}
import { createRequire } from "node:module";
import * as readline from "node:readline";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { io } = require("socket.io-client");

const sockets = new Map();
const say = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

async function handle(cmd) {
  if (cmd.op === "connect") {
    const socket = io(cmd.url, {
      auth: cmd.token === undefined ? {} : { token: cmd.token },
      transports: ["websocket"],
      reconnection: false,
      timeout: 5000,
      forceNew: true,
    });
    socket.onAny((event, data) => say({ name: cmd.name, event, data }));
    await new Promise((resolve) => {
      socket.on("connect", () => { sockets.set(cmd.name, socket); say({ id: cmd.id, ok: true }); resolve(); });
      socket.on("connect_error", (err) => { say({ id: cmd.id, error: err.message }); resolve(); });
    });
  } else if (cmd.op === "emit") {
    const socket = sockets.get(cmd.name);
    try {
      const ack = await socket.timeout(cmd.timeout_ms ?? 10000).emitWithAck(cmd.event, cmd.data);
      say({ id: cmd.id, ack });
    } catch (err) {
      say({ id: cmd.id, error: String(err) });
    }
  } else if (cmd.op === "close") {
    sockets.get(cmd.name)?.close();
    sockets.delete(cmd.name);
    say({ id: cmd.id, ok: true });
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => { handle(JSON.parse(line)).catch((err) => say({ id: -1, error: String(err) })); });
lines.on("close", () => { for (const s of sockets.values()) s.close(); process.exit(0); });
