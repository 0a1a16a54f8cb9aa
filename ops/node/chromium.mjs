// Debian's Chromium driven by playwright-core (never a downloaded browser), with the flags this
// machine needs, for every probe: the player's, the console's and the apps'.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(`${process.env.NODE_MODULES}/`);
const { chromium } = require("playwright-core");

export const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--autoplay-policy=no-user-gesture-required"];

export function launch() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: FLAGS });
}

export function launchPersistent(profile) {
  return chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true, args: FLAGS,
  });
}

// Runs a probe's steps; a failure is one JSON line with the page's last errors, and exit code 1.
export async function probe(steps, logs, cleanup) {
  try {
    await steps();
  } catch (err) {
    process.stdout.write(JSON.stringify({ error: String(err), logs: logs.slice(-20) }) + "\n");
    process.exitCode = 1;
  } finally {
    await cleanup();
  }
}

// A probe driven step by step by its test: ``say`` prints a step's JSON line, ``next`` waits
// for the test's line on stdin, ``close`` lets the process end.
export function steps() {
  const input = createInterface({ input: process.stdin });
  const lines = input[Symbol.asyncIterator]();
  return {
    say: (o) => process.stdout.write(JSON.stringify(o) + "\n"),
    next: () => lines.next(),
    close: () => input.close(),
  };
}
