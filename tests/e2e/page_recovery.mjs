// A viewer's watch page in Debian's Chromium while its gateway node is killed and restarted: the
// page must reconnect by itself and, rejoining with the last message it saw, get what it missed.
//   WATCH: the watch page URL with a viewer token; MARKERS: JSON list of texts to wait for.
import { launch, probe } from "../../ops/node/chromium.mjs";

const { WATCH, MARKERS } = process.env;
const markers = JSON.parse(MARKERS);
const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const browser = await launch();
const logs = [];
await probe(async () => {
  const page = await (await browser.newContext()).newPage();
  page.on("pageerror", (e) => logs.push("pageerror: " + e.message));
  await page.goto(WATCH);
  await page.waitForFunction(() => window.playerStats && window.playerStats.room_joined, null, { timeout: 30000 });
  say({ joined: true });
  await page.waitForFunction((texts) => {
    const lines = [...document.querySelectorAll("#chat p")].map((p) => p.textContent);
    return texts.every((t) => lines.some((l) => l.endsWith(t)));
  }, markers, { timeout: 90000, polling: 100 });
  const chat = await page.evaluate(() => [...document.querySelectorAll("#chat p")].map((p) => p.textContent));
  const stats = await page.evaluate(() => ({ joins: window.playerStats.joins, recovered: window.playerStats.recovered }));
  say({ chat, stats, errors: logs });
}, logs, async () => { await browser.close(); });
