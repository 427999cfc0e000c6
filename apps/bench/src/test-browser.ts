/**
 * Headless Chromium for the browser tests (Debian's chromium, driven by playwright-core): one
 * launch, in a fresh profile, offline. Without /usr/bin/chromium (or FOLIOLAB_CHROMIUM) the
 * tests are skipped and say why.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext } from "playwright-core";
import { tempDir } from "./test-helpers.js";

export const CHROMIUM = process.env.FOLIOLAB_CHROMIUM ?? "/usr/bin/chromium";
export const HAVE_CHROMIUM = existsSync(CHROMIUM);
export const NO_CHROMIUM = `skipped: no Chromium at ${CHROMIUM} (install Debian's package: apt-get install -y chromium)`;

const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A browser context with a fresh profile (--user-data-dir) for this run only; close it after. */
export async function launchChromium(): Promise<BrowserContext> {
  const { chromium } = await import("playwright-core");
  return chromium.launchPersistentContext(join(tempDir("foliolab-chromium-"), "profile"), {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1400, height: 1000 },
    offline: true,
  });
}

export type Rgb = [number, number, number];

export function hexToRgb(hex: string): Rgb {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}
