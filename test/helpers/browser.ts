/**
 * A real browser for the dashboard tests: Debian's Chromium driven by playwright-core, with the flags that
 * keep it quiet and offline on a CI machine. Skip with `missingPeer("chromium")` off CI.
 */
import dns from "node:dns";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";

export const CHROMIUM = process.env.PORTCULLIS_TEST_CHROMIUM ?? "/usr/bin/chromium";
export const CHROMIUM_FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Where the screenshots go (gitignored). */
export const SCREENSHOTS = join(import.meta.dirname, "..", "..", "test-results", "dashboard");

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true, timeout: 60_000 });
}

/**
 * Playwright presents `clientCertificates` through a proxy inside this Node process, which resolves the
 * host names itself; Node's resolver does not know `*.localhost` (curl and Chromium map it to loopback
 * on their own). This maps them to 127.0.0.1 for this process, as RFC 6761 says they are. Returns undo.
 */
export function resolveLocalhostNames(): () => void {
  const original = dns.promises.lookup;
  const patched = (async (hostname: string, options?: dns.LookupOptions) => {
    if (!hostname.toLowerCase().endsWith(".localhost"))
      return original(hostname, options as dns.LookupAllOptions);
    const v4 = options?.family === undefined || options.family === 0 || options.family === 4;
    const found = v4 ? [{ address: "127.0.0.1", family: 4 }] : [];
    if (options?.all) return found;
    if (!found[0]) throw Object.assign(new Error(`no IPv6 address for ${hostname}`), { code: "ENOTFOUND" });
    return found[0];
  }) as typeof dns.promises.lookup;
  dns.promises.lookup = patched;
  return () => {
    dns.promises.lookup = original;
  };
}

/** A full-page screenshot as test-results/dashboard/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true });
  const path = join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
