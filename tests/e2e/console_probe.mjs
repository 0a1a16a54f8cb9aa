// Two analysts on the trust-and-safety console in Debian's Chromium (playwright-core). Prints
// one JSON line per step; waits for a line on stdin where the test must act first.
//   CONSOLE_A, CONSOLE_B: the console URLs with each analyst's token; MARKER: the held message's
//   text; GIFT_ID: the held gift; SHOTS: the folder for screenshots.
import { join } from "node:path";
import { launch, probe, steps } from "../../ops/node/chromium.mjs";

const { CONSOLE_A, CONSOLE_B, MARKER, GIFT_ID, SHOTS } = process.env;
const { say, next, close } = steps();
const browser = await launch();
const logs = [];
await probe(async () => {
  const open = async (url) => {
    const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 }, acceptDownloads: true })).newPage();
    page.on("console", (m) => logs.push(m.type() + ": " + m.text()));
    page.on("pageerror", (e) => logs.push("pageerror: " + e.message));
    page.on("dialog", (d) => d.accept("checked in the console"));
    await page.goto(url);
    await page.waitForFunction(() => window.consoleState && window.consoleState.connected, null, { timeout: 20000 });
    return page;
  };
  const a = await open(CONSOLE_A);
  const b = await open(CONSOLE_B);
  say({ ready: true });

  // A held chat message appears live on both consoles; A approves it with the keyboard.
  // Functions, not strings: the console's CSP forbids evaluating strings.
  const itemWith = (page, test, arg) => page.waitForFunction(test, arg, { timeout: 30000, polling: 50 });
  const findChat = (marker) => window.consoleState.items.find((i) => i.text === marker) || null;
  const chatA = await (await itemWith(a, findChat, MARKER)).jsonValue();
  const appearedAt = Date.now();
  await itemWith(b, findChat, MARKER);
  await a.screenshot({ path: join(SHOTS, "console-queue.png") });
  await a.click(`tr[data-id="${chatA.id}"] td.text`);
  await a.keyboard.press("a");
  await a.waitForFunction((id) => window.consoleState.decided[id], chatA.id, { timeout: 10000 });
  const seenByB = await (await b.waitForFunction((id) => window.consoleState.decided[id], chatA.id, { timeout: 10000 })).jsonValue();
  say({ chat: { id: chatA.id, held_at: chatA.held_at, appeared_at_ms: appearedAt, decided_by_a: await a.evaluate((id) => window.consoleState.decided[id], chatA.id), seen_by_b: seenByB } });

  // A second analyst acting on the same item is refused, told who decided what.
  await next();
  const hasGift = (id) => window.consoleState.items.some((i) => i.id === id);
  await itemWith(a, hasGift, GIFT_ID);
  await itemWith(b, hasGift, GIFT_ID);
  await a.click(`tr[data-id="${GIFT_ID}"] button[data-act="approve"]`);
  await a.waitForFunction((id) => window.consoleState.decided[id], GIFT_ID, { timeout: 10000 });
  // B clicks approve on what it still shows before the live "decided" arrives, or sees it decided.
  const bOutcome = await b.evaluate(async (id) => {
    const s = window.consoleState;
    if (!s.decided[id]) {
      const r = await fetch(`/v1/console/queue/gift/${id}/deny`, { method: "POST",
        headers: { Authorization: `Bearer ${new URLSearchParams(location.hash.slice(1)).get("token")}` } });
      return { status: r.status, body: await r.json() };
    }
    return { decided: s.decided[id] };
  }, GIFT_ID);
  say({ gift: { a: await a.evaluate((id) => window.consoleState.decided[id], GIFT_ID), b: bOutcome } });

  // The audit trail, exported as CSV once the actions are in the warehouse.
  await next();
  await a.click('nav button[data-tab="audit"]');
  await a.fill('#audit-filter input[name="actor_id"]', process.env.ANALYST_A);
  await a.click('#audit-filter button:not([type])');
  await a.waitForFunction(() => document.querySelectorAll("#audit-rows tr").length > 0, null, { timeout: 10000 });
  await a.click("#audit-csv");
  const csv = await (await a.waitForFunction(() => window.consoleState.lastCsv, null, { timeout: 10000 })).jsonValue();
  await a.screenshot({ path: join(SHOTS, "console-audit.png") });
  await a.click('nav button[data-tab="charts"]');
  await a.waitForFunction(() => window.consoleState.chartsLoaded, null, { timeout: 10000 });
  await a.screenshot({ path: join(SHOTS, "console-charts.png") });
  await a.click('nav button[data-tab="alerts"]');
  await a.waitForTimeout(500);
  await a.screenshot({ path: join(SHOTS, "console-alerts.png") });
  say({ csv, errors: logs.filter((l) => l.startsWith("pageerror") || l.startsWith("error")) });
}, logs, async () => {
  close();
  await browser.close();
});
