// Plays a viewer page in Debian's Chromium (driven by playwright-core; never a downloaded
// browser) for a while and prints what the player measured, as JSON on stdout.
//   node player_probe.mjs <url> <seconds>
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchPersistent } from "./chromium.mjs";

const [url, seconds = "20"] = process.argv.slice(2);
const profile = mkdtempSync(join(tmpdir(), "chromium-"));
const context = await launchPersistent(profile);
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
      levels: window.hls ? window.hls.levels.map((l) => l.height) : [],
      abr_auto: window.hls ? window.hls.autoLevelEnabled : null });
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
