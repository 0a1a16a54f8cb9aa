// Plays a viewer page in Debian's Chromium (driven by playwright-core; never a downloaded
// browser) for a while and prints what the player measured, as JSON on stdout.
//   node player_probe.mjs <url> <seconds>
import { createRequire } from "node:module";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { chromium } = require("playwright-core");

const [url, seconds = "20"] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "chromium-"));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"],
});
const console_ = [];
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => console_.push(m.type() + ": " + m.text()));
  page.on("pageerror", (e) => console_.push("pageerror: " + e.message));
  await page.goto(url);
  await page.waitForTimeout(Number(seconds) * 1000);
  const stats = await page.evaluate(() => {
    const s = window.playerStats || {};
    const v = document.getElementById("video");
    return Object.assign({}, s, { current_time: v ? v.currentTime : null,
      dropped: v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality().droppedVideoFrames : null,
      levels: window.hls ? window.hls.levels.map((l) => l.height) : [] });
  });
  // Leaving the page sends the "end" beacon (fetch keepalive on pagehide).
  await page.goto("about:blank");
  await page.waitForTimeout(500);
  stats.console = console_.slice(-20);
  process.stdout.write(JSON.stringify(stats) + "\n");
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
