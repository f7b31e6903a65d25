import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

/**
 * Debian's Chromium (`apt-get install -y chromium`; `.ci/run` installs it when missing), or the
 * one CHROMIUM_PATH names (GitHub's runners have Chrome). Playwright's own download is not used.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
  if (!existsSync(executablePath)) {
    throw new Error(
      `No Chromium at ${executablePath}: run \`apt-get install -y chromium\` or set CHROMIUM_PATH`,
    );
  }
  return chromium.launch({
    executablePath,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      // This machine's network is closed: no background traffic to wait on.
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
