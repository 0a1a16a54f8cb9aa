// A new viewer in Debian's Chromium (playwright-core): signs up on the home page, finds the live
// stream, tops up through the sandbox provider, opens the stream and sends a gift from the
// catalog. Prints one JSON line per step; waits for a line on stdin where the test acts first.
//   APP: the home page URL; STREAM_ID; USERNAME; MARKER: a message the test sends and deletes;
//   SHOTS: the folder for screenshots.
import { launch, probe, steps } from "../../ops/node/chromium.mjs";
import { join } from "node:path";

const { APP, STREAM_ID, USERNAME, MARKER, SHOTS, STUDIO } = process.env;
const { say, next, close } = steps();
const browser = await launch();
const logs = [];
await probe(async () => {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true })).newPage();
  page.on("pageerror", (e) => logs.push("pageerror: " + e.message));
  const wait = (fn, arg, timeout = 30000) => page.waitForFunction(fn, arg, { timeout, polling: 100 });

  // A reader whose browser speaks Spanish gets the Spanish catalog.
  const spanish = await (await browser.newContext({ locale: "es-ES" })).newPage();
  await spanish.goto(APP);
  await spanish.waitForFunction(() => document.documentElement.lang === "es", null, { timeout: 10000 });
  const es = await spanish.evaluate(() => ({ title: document.querySelector("h1").textContent,
    signup: document.querySelector("#signup button").textContent,
    placeholder: document.querySelector('#signup input[name="password"]').placeholder }));
  await spanish.screenshot({ path: join(SHOTS, "app-home-es.png") });
  await spanish.context().close();
  say({ es });

  // Sign-up errors are shown on the page, then a good sign-up signs in.
  await page.goto(APP);
  await page.fill('#signup input[name="username"]', USERNAME);
  await page.fill('#signup input[name="password"]', "short");
  await page.click("#signup button");
  const weak = await (await wait(() => document.getElementById("account-error").textContent)).jsonValue();
  await page.fill('#signup input[name="password"]', "correct horse battery");
  await page.click("#signup button");
  await wait(() => document.getElementById("me").textContent !== "");
  // Signed out, the same name again is taken; a wrong password is refused; the right one signs in.
  const refusal = async (form, password) => {
    await page.evaluate(() => { document.getElementById("account-error").textContent = ""; });
    await page.fill(`${form} input[name="username"]`, USERNAME);
    await page.fill(`${form} input[name="password"]`, password);
    await page.click(`${form} button`);
    return (await wait(() => document.getElementById("account-error").textContent)).jsonValue();
  };
  await page.click("#signout");
  const taken = await refusal("#signup", "another horse battery");
  const wrong = await refusal("#signin", "not my password at all");
  await page.fill('#signin input[name="password"]', "correct horse battery");
  await page.click("#signin button");
  await wait(() => document.getElementById("me").textContent !== "");
  const listed = await (await wait((id) => window.homeState.streams.find((s) => s.stream_id === id), STREAM_ID)).jsonValue();
  await page.screenshot({ path: join(SHOTS, "app-home.png") });

  // Top up: an amount of zero, or not a whole number of cents, is refused on the page; then $5
  // through the sandbox provider, and back home the balance shows the coins.
  await page.click("#topup");
  const amountRefused = async (other) => {
    await page.evaluate(() => { document.getElementById("topup-error").textContent = ""; });
    await page.fill('#buy input[name="other"]', other);
    await page.click("#buy button");
    return (await wait(() => document.getElementById("topup-error").textContent)).jsonValue();
  };
  const zero = await amountRefused("0");
  const fractional = await amountRefused("2.555");
  await page.fill('#buy input[name="other"]', "");
  await page.click("#buy button");
  await page.waitForURL(/\/sandbox\/checkout\//, { timeout: 15000 });
  await page.screenshot({ path: join(SHOTS, "app-checkout.png") });
  await page.click("#pay");
  await page.waitForURL((url) => url.pathname === "/", { timeout: 15000 });
  const balance = await (await wait(() => window.homeState.balance > 0 && window.homeState.balance)).jsonValue();
  say({ weak, taken, wrong, zero, fractional, listed, balance });

  // The creator watches their studio (another browser context: their own session).
  const studio = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
  studio.on("pageerror", (e) => logs.push("studio pageerror: " + e.message));
  await studio.goto(STUDIO);
  await studio.waitForFunction(() => window.studioState && window.studioState.joined, null, { timeout: 20000 });

  // The catalog as a page that loaded before a gift was withdrawn would have it: one SKU more
  // than the server sells, so a click on it meets the API's refusal.
  await page.route("**/v1/gifts/catalog", async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    await route.fulfill({ response, json: { ...body, items: [...body.items, { sku: "unicorn", coins: 1 }] } });
  });
  // The stream: playing, joined, a gift from the catalog lands in chat and the balance drops.
  await page.click(`a[data-stream="${STREAM_ID}"]`);
  await wait(() => window.playerStats && window.playerStats.room_joined && window.playerStats.balance !== undefined);
  const sentAt = Date.now();
  await page.click('#gifts button[data-sku="heart"]');
  await studio.waitForFunction(() => window.studioState.coins >= 25, null, { timeout: 10000, polling: 20 });
  const studioAfterMs = Date.now() - sentAt;
  const studioSaw = await studio.evaluate(() => ({ gifts: window.studioState.gifts, coins: window.studioState.coins,
    shown: document.getElementById("coins").textContent }));
  await wait(() => window.playerStats.gifts_seen >= 1);
  const after = await (await wait((before) => window.playerStats.balance < before && window.playerStats.balance, balance)).jsonValue();
  const giftLine = await page.evaluate(() => [...document.querySelectorAll("#chat .gift")].map((p) => p.textContent));
  // A rocket (500 coins) is more than the wallet holds now: the refusal is said on the page.
  await page.click('#gifts button[data-sku="rocket"]');
  const refused = await (await wait(() => [...document.querySelectorAll("#chat .refused")].map((p) => p.textContent)
    .find((t) => t.startsWith("gift refused")))).jsonValue();
  await page.click('#gifts button[data-sku="unicorn"]');
  const unknown = await (await wait(() => [...document.querySelectorAll("#chat .refused")].map((p) => p.textContent)
    .find((t) => t.includes("unicorn")))).jsonValue();
  await page.screenshot({ path: join(SHOTS, "app-watch.png") });
  say({ after, giftLine, refused, unknown, balanceAfterRefusal: await page.evaluate(() => window.playerStats.balance),
    playing: await page.evaluate(() => window.playerStats.playing), studioAfterMs, studioSaw });
  await studio.waitForFunction(() => window.studioState.live && window.studioState.live.play_requests >= 1, null, { timeout: 30000 });
  const live = await studio.evaluate(() => window.studioState.live);
  await studio.screenshot({ path: join(SHOTS, "app-studio.png") });
  say({ live });

  // Someone's message appears; a moderator deletes it; it goes from the page.
  await wait((m) => [...document.querySelectorAll("#chat p")].some((p) => p.textContent.endsWith(m)), MARKER);
  say({ seen: true });
  await next();
  await wait((m) => ![...document.querySelectorAll("#chat p")].some((p) => p.textContent.endsWith(m)), MARKER, 15000);
  say({ deleted: true, errors: logs });
}, logs, async () => {
  close();
  await browser.close();
});
