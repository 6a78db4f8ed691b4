/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) against a real
 * `portcullis up --demo`: sign in; upload a server certificate and add a hostname; upload a CA in the
 * "Add mTLS Certificate" modal (from a file) associated with that hostname, then curl with a client
 * certificate → 200 and without → 403; make a client certificate with a key generated in the browser,
 * download it as PEM and PKCS#12 (checked by openssl and used by curl), open the protected hostname in a
 * browser context given that certificate → 200 and without → the 403 page; revoke it in the UI → the
 * next curl → 403. Screenshots of every page go to test-results/dashboard/.
 */
import assert from "node:assert/strict";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { launchChromium, resolveLocalhostNames, screenshot } from "../helpers/browser.ts";
import { makeCa, makeClientCert, makeServerCert } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { REPO_ROOT, run, tempDir } from "../helpers/run.ts";
import { ADMIN_TOKEN, apiClient, type Started, upDemo, waitFor } from "../helpers/up.ts";

const skip = missingPeer("chromium", "curl", "openssl");

let dir: string;
let cleanup: (() => Promise<void>) | undefined;
let up: Started | undefined;
let browser: Browser | undefined;
let restoreLookup: (() => void) | undefined;
let edgePort: number;
let apiPort: number;

before(async () => {
  if (skip) return;
  await stat(join(REPO_ROOT, "web", "dist", "index.html")).catch(() =>
    assert.fail("the dashboard is not built: run `npm run build:web` (npm install does)"),
  );
  ({ path: dir, cleanup } = await tempDir("portcullis-dashboard-"));
  edgePort = await freePort();
  apiPort = await freePort();
  up = await upDemo(join(dir, "data"), edgePort, apiPort);
  browser = await launchChromium();
  restoreLookup = resolveLocalhostNames();
});

after(async () => {
  restoreLookup?.();
  await browser?.close();
  await up?.stop();
  await cleanup?.();
});

/** curl's status for https://HOST:edge/ (host mapped to 127.0.0.1), with `extra` arguments. */
async function curlStatus(host: string, serverCa: string, extra: string[] = []): Promise<string> {
  const result = await run("curl", [
    "-s",
    "-o",
    "/dev/null",
    "-w",
    "%{http_code}",
    "--max-time",
    "5",
    "--cacert",
    serverCa,
    "--resolve",
    `${host}:${edgePort}:127.0.0.1`,
    ...extra,
    `https://${host}:${edgePort}/`,
  ]);
  return result.stdout;
}

async function eventually(what: string, check: () => Promise<string>, expected: string): Promise<void> {
  let last = "";
  try {
    await waitFor(async () => {
      last = await check();
      return last === expected;
    }, 10_000);
  } catch {
    assert.fail(`${what}: expected ${expected}, last got ${last}`);
  }
}

async function signIn(context: BrowserContext): Promise<Page> {
  const page = await context.newPage();
  await page.goto(`http://127.0.0.1:${apiPort}/dashboard/`);
  await page.getByLabel("API token").fill("not-a-token");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByText("That token was not accepted").waitFor();
  await page.getByLabel("API token").fill(ADMIN_TOKEN);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Overview", level: 1 }).waitFor();
  return page;
}

/** Saves what clicking `name` downloads into `path`. */
async function downloadOf(page: Page, click: () => Promise<void>, path: string): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent("download"), click()]);
  await download.saveAs(path);
  return readFile(path);
}

test("dashboard: CA upload and hostname association enforce at the edge; browser-made client certificate; revoke", {
  skip,
  timeout: 240_000,
}, async () => {
  assert.ok(browser && up);
  const pki = join(dir, "pki");
  await run("mkdir", ["-p", pki]);
  const partnerCa = await makeCa(pki, "partner-ca", { subject: "/CN=Partner Devices CA" });
  const device = await makeClientCert(pki, "device", { issuer: "partner-ca", subject: "/CN=device-7" });
  const serverCa = await makeCa(pki, "server-ca");
  const server = await makeServerCert(pki, "api-server", { issuer: "server-ca", san: "DNS:api.localhost" });
  const api = apiClient(apiPort);
  const zone = (await api("GET", "/zones?name=localhost")).result[0];
  assert.ok(zone);
  const demoHost = (await api("GET", `/zones/${zone.id}/hostnames`)).result.find(
    (h) => h.hostname === "app.localhost",
  );
  const originUrl = (demoHost?.origin as { url: string } | undefined)?.url;
  assert.ok(originUrl, "the demo's origin");

  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signIn(context);
  await screenshot(page, "01-overview");

  // The server certificate for api.localhost, pasted with its key.
  await page.getByRole("link", { name: "Certificates" }).click();
  await page.getByRole("button", { name: "Add mTLS Certificate" }).click();
  const modal = page.getByRole("dialog", { name: "Add mTLS Certificate" });
  await modal.getByLabel("A server certificate and key for a hostname").check();
  await modal.getByRole("button", { name: "Save" }).click();
  await modal.getByText("Paste the certificate (PEM), or choose a file.").waitFor();
  await modal.getByLabel("Certificate content").fill(await readFile(server.certPath, "utf8"));
  await modal.getByLabel("Private key").fill(await readFile(server.keyPath, "utf8"));
  await modal.getByLabel("Certificate name").fill("api.localhost server");
  await modal.getByRole("button", { name: "Save" }).click();
  await page.getByText("Added api.localhost server").waitFor();

  // The hostname, enforcing mTLS, with inline validation on the way.
  await page.getByRole("link", { name: "Hostnames" }).click();
  await page.getByRole("button", { name: "Add hostname" }).click();
  const form = page.getByRole("dialog", { name: "Add hostname" });
  await form.getByLabel("Hostname").fill("api.example.com");
  await form.getByText("api.example.com is not in the zone localhost").waitFor();
  await form.getByLabel("Hostname").fill("api.localhost");
  await form.getByLabel("Origin URL").fill("127.0.0.1:9");
  await form.getByText("is not a URL: include the scheme").waitFor();
  await form.getByLabel("Origin URL").fill(originUrl);
  await form.getByLabel("Server certificate").selectOption({ label: "api.localhost server" });
  await form.getByLabel("enforce").check();
  await form.getByLabel("the zone's managed CA").uncheck();
  await form.getByText("No CA is trusted for this hostname").waitFor();
  await screenshot(page, "02-hostname-form");
  await form.getByRole("button", { name: "Save hostname" }).click();
  await page.getByText("Saved api.localhost").waitFor();

  // The seed's modal: the CA from a file, a name, the hostname it protects.
  await page.getByRole("link", { name: "Certificates" }).click();
  await page.getByRole("button", { name: "Add mTLS Certificate" }).click();
  await modal.getByLabel("…or choose a file").setInputFiles(partnerCa.certPath);
  await modal.getByLabel("Certificate name").fill("Partner Devices CA");
  await modal.getByLabel("Associated hostnames").fill("api.example.com");
  await modal.getByText("api.example.com is not in any of your zones (localhost)").waitFor();
  await modal.getByLabel("Associated hostnames").fill("api.localhost");
  await screenshot(page, "03-add-mtls-certificate");
  await modal.getByRole("button", { name: "Save" }).click();
  await page.getByText("Added Partner Devices CA for api.localhost").waitFor();
  const associations = await api(
    "GET",
    `/zones/${zone.id}/certificate_authorities/hostname_associations?mtls_certificate_id=${
      (
        await api(
          "GET",
          `/accounts/${(zone.account as { id: string }).id}/mtls_certificates?name=Partner%20Devices%20CA`,
        )
      ).result[0]?.id
    }`,
  );
  assert.deepEqual(associations.result.hostnames, ["api.localhost"]);

  const withDevice = ["--cert", device.certPath, "--key", device.keyPath];
  await eventually(
    "curl with the partner's device certificate",
    () => curlStatus("api.localhost", serverCa.certPath, withDevice),
    "200",
  );
  assert.equal(await curlStatus("api.localhost", serverCa.certPath), "403", "without a client certificate");

  // A client certificate whose key the browser makes: PEM and PKCS#12 downloads.
  await page.getByRole("button", { name: "Create client certificate" }).click();
  const create = page.getByRole("dialog", { name: "Create client certificate" });
  await create.getByRole("button", { name: "Create certificate" }).click();
  await create.getByText("Enter a common name").waitFor();
  await create.getByLabel("Common name (CN)").fill("browser-client");
  await create.getByLabel("Organization (O), optional").fill("Dashboard Test");
  await create.getByRole("button", { name: "Create certificate" }).click();
  const issued = page.getByRole("dialog", { name: "Client certificate issued" });
  await issued.waitFor();
  const certPath = join(dir, "browser-client.pem");
  const keyPath = join(dir, "browser-client-key.pem");
  const p12Path = join(dir, "browser-client.p12");
  const certPem = await downloadOf(
    page,
    () => issued.getByRole("button", { name: "Download certificate (PEM)" }).click(),
    certPath,
  );
  const keyPem = await downloadOf(
    page,
    () => issued.getByRole("button", { name: "Download private key (PEM)" }).click(),
    keyPath,
  );
  assert.match(certPem.toString(), /BEGIN CERTIFICATE/);
  assert.match(keyPem.toString(), /BEGIN PRIVATE KEY/);
  await issued.getByRole("button", { name: "Download PKCS#12 (.p12)" }).click();
  await issued.getByText("Choose a password of at least 4 characters").waitFor();
  await issued.getByLabel("PKCS#12 password").fill("choose-one");
  await downloadOf(
    page,
    () => issued.getByRole("button", { name: "Download PKCS#12 (.p12)" }).click(),
    p12Path,
  );
  await screenshot(page, "04-client-certificate-issued");
  await issued.getByRole("button", { name: "Done" }).click();

  // The key was made in the browser: the server only ever saw the CSR (its public key matches).
  const serverCopy = (await api("GET", `/zones/${zone.id}/client_certificates?status=active`)).result.find(
    (c) => c.common_name === "browser-client",
  );
  assert.ok(serverCopy, "issued by the managed CA");
  const fromKey = await run("openssl", ["pkey", "-in", keyPath, "-pubout"]);
  const fromCert = await run("openssl", ["x509", "-in", certPath, "-noout", "-pubkey"]);
  assert.equal(fromKey.stdout, fromCert.stdout);
  const subject = await run("openssl", ["x509", "-in", certPath, "-noout", "-subject"]);
  assert.match(subject.stdout, /O = Dashboard Test, CN = browser-client/);
  // OpenSSL reads the PKCS#12 (MAC and encryption) with its password, and curl presents it.
  const p12 = await run("openssl", ["pkcs12", "-in", p12Path, "-passin", "pass:choose-one", "-nodes"]);
  assert.equal(p12.code, 0, p12.stderr);
  assert.match(p12.stdout, /BEGIN PRIVATE KEY/);
  assert.match(p12.stdout, /subject=.*CN = browser-client/);
  const demoCa = join(dir, "data", "demo", "server-ca.pem");
  assert.equal(
    await curlStatus("app.localhost", demoCa, ["--cert-type", "P12", "--cert", `${p12Path}:choose-one`]),
    "200",
  );
  assert.equal(await curlStatus("app.localhost", demoCa, ["--cert", certPath, "--key", keyPath]), "200");

  // A browser with that certificate opens the protected hostname; one without gets the 403 page.
  const origin = `https://app.localhost:${edgePort}`;
  const withCert = await browser.newContext({
    ignoreHTTPSErrors: true,
    clientCertificates: [{ origin, certPath, keyPath }],
  });
  const allowed = await withCert.newPage();
  const allowedResponse = await allowed.goto(`${origin}/`);
  assert.equal(allowedResponse?.status(), 200);
  assert.match(await allowed.content(), /browser-client/);
  await screenshot(allowed, "05-protected-with-certificate");
  await withCert.close();
  const withoutCert = await browser.newContext({ ignoreHTTPSErrors: true });
  const denied = await withoutCert.newPage();
  const deniedResponse = await denied.goto(`${origin}/`);
  assert.equal(deniedResponse?.status(), 403);
  assert.match(await denied.content(), /client certificate/i);
  await screenshot(denied, "06-protected-without-certificate");
  await withoutCert.close();

  // Revoke it in the UI (with confirmation): the next curl is refused.
  await page
    .getByRole("row", { name: /browser-client/ })
    .getByRole("button", { name: "Revoke" })
    .click();
  const confirm = page.getByRole("dialog", { name: "Revoke this client certificate?" });
  await confirm.getByRole("button", { name: "Revoke" }).click();
  await page.getByText("Revoked browser-client").waitFor();
  await eventually(
    "curl with the revoked certificate",
    () => curlStatus("app.localhost", demoCa, ["--cert", certPath, "--key", keyPath]),
    "403",
  );
  await page.getByRole("button", { name: "Refresh" }).click();
  await page.getByRole("row", { name: /browser-client.*revoked/ }).waitFor();
  await page
    .getByTestId("crl-status")
    .filter({ hasText: /CRL: [1-9]\d* revoked/ })
    .waitFor();
  await screenshot(page, "07-certificates");

  // Every page renders (screenshots for the record), each with a heading and no crash.
  for (const [name, heading] of [
    ["hostnames", "Hostnames"],
    ["rules", "Rules"],
    ["access", "Access"],
    ["functions", "Functions"],
    ["events", "Events"],
    ["tokens", "API tokens"],
    ["overview", "Overview"],
  ] as const) {
    await page.getByRole("link", { name: heading, exact: true }).click();
    await page.getByRole("heading", { name: heading, level: 1 }).waitFor();
    await page.waitForLoadState("networkidle");
    await screenshot(page, `page-${name}`);
  }
  // The overview counts what just happened at the edge (verified, missing, revoked).
  await page.getByRole("button", { name: "Refresh" }).first().click();
  await page.getByText("Revoked", { exact: true }).first().waitFor();

  // Phone width: the menu folds away and still reaches every page.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.getByRole("button", { name: "Menu" }).click();
  await page.getByRole("link", { name: "Certificates" }).click();
  await page.getByRole("heading", { name: "Certificates", level: 1 }).waitFor();
  await screenshot(page, "phone-certificates");
  await context.close();
});

test("dashboard: API tokens are shown once and revoked; a revoked token signs the browser out", {
  skip,
  timeout: 120_000,
}, async () => {
  assert.ok(browser);
  const context = await browser.newContext();
  const page = await signIn(context);
  // By keyboard: the navigation, the dialog (Escape closes it, focus stays inside while open).
  await page.getByRole("link", { name: "API tokens" }).focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "API tokens", level: 1 }).waitFor();
  await page.getByRole("button", { name: "Create token" }).focus();
  await page.keyboard.press("Enter");
  const dialog = page.getByRole("dialog", { name: "Create token" });
  await dialog.waitFor();
  for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
  assert.ok(
    await dialog.evaluate((node) => node.contains(document.activeElement)),
    "focus stays in the dialog",
  );
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  await page.getByRole("button", { name: "Create token" }).click();
  await dialog.getByRole("button", { name: "Create token" }).click();
  await dialog.getByText("Name the token after what will use it").waitFor();
  await dialog.getByLabel("Name").fill("ci-read");
  await dialog.getByRole("button", { name: "Create token" }).click();
  const value = await page.getByLabel("New token").inputValue();
  assert.match(value, /\S{20,}/);
  const verify = await fetch(`http://127.0.0.1:${apiPort}/client/v4/user/tokens/verify`, {
    headers: { authorization: `Bearer ${value}` },
  });
  assert.equal(verify.status, 200);
  await page.getByRole("button", { name: "Done" }).click();

  // Sign in with the new token in another tab, then revoke it from the admin's: that tab is signed out.
  const other = await browser.newContext();
  const reader = await other.newPage();
  await reader.goto(`http://127.0.0.1:${apiPort}/dashboard/hostnames`);
  await reader.getByLabel("API token").fill(value);
  await reader.getByRole("button", { name: "Sign in" }).click();
  await reader.getByRole("heading", { name: "Hostnames", level: 1 }).waitFor();

  await page
    .getByRole("row", { name: /ci-read/ })
    .getByRole("button", { name: "Revoke" })
    .click();
  await page
    .getByRole("dialog", { name: "Revoke ci-read?" })
    .getByRole("button", { name: "Revoke token" })
    .click();
  await page.getByText("Revoked ci-read").waitFor();
  assert.equal(
    (
      await fetch(`http://127.0.0.1:${apiPort}/client/v4/user/tokens/verify`, {
        headers: { authorization: `Bearer ${value}` },
      })
    ).status,
    401,
  );
  await reader.getByRole("link", { name: "Certificates" }).click();
  await reader.getByText("no longer accepts your token").waitFor();
  await other.close();
  await context.close();
});

test("dashboard: a rule checked as typed, tested on a sample, logged, its events seen, then switched to block", {
  skip,
  timeout: 120_000,
}, async () => {
  assert.ok(browser);
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await signIn(context);
  await page.getByRole("link", { name: "Rules" }).click();
  await page.getByRole("button", { name: "Add rule" }).click();
  const editor = page.getByRole("dialog", { name: "Add rule" });
  const expression = editor.getByLabel("Expression");
  await expression.fill('http.request.uri.path eq "/admin" and');
  await editor.getByText(/^Line 1, character \d+: /).waitFor();
  assert.match((await editor.getByTestId("caret").textContent()) ?? "", /\^/);
  await expression.fill('http.request.uri.path eq "/admin"');
  await editor.getByText("The expression is valid.").waitFor();
  await editor.getByLabel("Path and query").fill("/admin");
  await editor.getByRole("button", { name: "Test", exact: true }).click();
  await editor.getByText("Matches: this request would be logged.").waitFor();
  await editor.getByLabel("Path and query").fill("/");
  await editor.getByRole("button", { name: "Test", exact: true }).click();
  await editor.getByText("Does not match").waitFor();
  await editor.getByLabel("Description").fill("Admin path");
  await screenshot(page, "08-rule-editor");
  await editor.getByRole("button", { name: "Save rule" }).click();
  await page.getByText("Saved “Admin path”").waitFor();

  // Logged, not blocked: the request passes and the rule's events show it.
  const demo = join(dir, "data", "demo");
  const demoCert = ["--cert", join(demo, "client.pem"), "--key", join(demo, "client-key.pem")];
  const admin = async () =>
    (
      await run("curl", [
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--cacert",
        join(demo, "server-ca.pem"),
        "--resolve",
        `app.localhost:${edgePort}:127.0.0.1`,
        ...demoCert,
        `https://app.localhost:${edgePort}/admin`,
      ])
    ).stdout;
  await waitFor(async () => {
    await admin();
    const events = await apiClient(apiPort)(
      "GET",
      `/accounts/${(await apiClient(apiPort)("GET", "/accounts")).result[0]?.id}/events?action=log`,
    );
    return events.result.length > 0;
  }, 10_000);
  assert.equal(await admin(), "200", "a log rule does not block");
  await page.getByRole("button", { name: "Matched events" }).click();
  await page.getByRole("cell", { name: "GET /admin" }).first().waitFor();
  await screenshot(page, "09-rule-matched-events");

  // log → block: the same request is now refused.
  await page.getByRole("button", { name: "Switch to block" }).click();
  await page.getByText("“Admin path” now blocks.").waitFor();
  await eventually("the blocked request", admin, "403");

  // The live tail shows the next blocked request as it happens.
  await page.getByRole("link", { name: "Events" }).click();
  await page.getByLabel("Action").selectOption("block");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByLabel("Live tail").check();
  await page.getByText("live", { exact: true }).waitFor();
  const before = await page.getByRole("row").count();
  await admin();
  await waitFor(async () => (await page.getByRole("row").count()) > before, 10_000);
  await screenshot(page, "11-events-live");
  await context.close();
});

test("dashboard: Access application, policy and a service token shown once", {
  skip,
  timeout: 120_000,
}, async () => {
  assert.ok(browser);
  const context = await browser.newContext();
  const page = await signIn(context);
  await page.getByRole("link", { name: "Access" }).click();
  await page.getByRole("button", { name: "Add application" }).click();
  const appForm = page.getByRole("dialog", { name: "Add application" });
  await appForm.getByLabel("Domain").fill("https://app.localhost");
  await appForm.getByRole("button", { name: "Add application" }).click();
  await appForm.getByText("looks like a URL").waitFor();
  await appForm.getByLabel("Domain").fill("app.localhost");
  await appForm.getByLabel("Name").fill("Demo app");
  await appForm.getByRole("button", { name: "Add application" }).click();
  await page.getByText("Added Demo app.").waitFor();
  await page.getByText("No policy: nobody gets in until you add one.").waitFor();

  await page.getByRole("button", { name: "Create service token" }).click();
  const tokenForm = page.getByRole("dialog", { name: "Create service token" });
  await tokenForm.getByLabel("Name").fill("build-bot");
  await tokenForm.getByRole("button", { name: "Create service token" }).click();
  const secretText = await page
    .getByRole("dialog", { name: "Service token created" })
    .locator("pre")
    .textContent();
  assert.match(secretText ?? "", /CF-Access-Client-Secret: \S{16,}/);
  await page.getByRole("button", { name: "Done" }).click();

  await page.getByRole("button", { name: "Add policy" }).click();
  const policyForm = page.getByRole("dialog", { name: "Add policy to Demo app" });
  await policyForm.getByLabel("Policy name").fill("Devices with a certificate");
  await policyForm.getByLabel("Decision").selectOption("non_identity");
  await policyForm.getByRole("button", { name: "Add policy" }).click();
  await page.getByText("Added policy Devices with a certificate to Demo app.").waitFor();
  await screenshot(page, "10-access");

  const api = apiClient(apiPort);
  const account = (await api("GET", "/accounts")).result[0];
  const apps = (await api("GET", `/accounts/${account?.id}/access/apps`)).result;
  const app = apps.find((a) => a.name === "Demo app");
  assert.ok(app);
  const policies = (await api("GET", `/accounts/${account?.id}/access/apps/${app.id}/policies`)).result;
  assert.deepEqual(policies[0]?.include, [{ certificate: {} }]);

  // A new zone from the Hostnames page becomes the selected one, with its empty state.
  await page.getByRole("link", { name: "Hostnames" }).click();
  await page.getByRole("button", { name: "Add zone" }).click();
  const zoneForm = page.getByRole("dialog", { name: "Add zone" });
  await zoneForm.getByLabel("Domain").fill("intranet");
  await zoneForm.getByText("A zone is a domain with a dot").waitFor();
  await zoneForm.getByLabel("Domain").fill("partners.test");
  await zoneForm.getByRole("button", { name: "Add zone" }).click();
  await page.getByText("Added the zone partners.test.").waitFor();
  await page.getByRole("heading", { name: "Hostnames of partners.test" }).waitFor();
  await page.getByText("No hostnames yet").waitFor();
  assert.equal((await api("GET", "/zones?name=partners.test")).result.length, 1);
  await context.close();
});

test("dashboard: functions with their bindings, and a route added in the UI", {
  skip,
  timeout: 120_000,
}, async () => {
  assert.ok(browser);
  const api = apiClient(apiPort);
  const account = (await api("GET", "/accounts")).result[0];
  const uploaded = await api("PUT", `/accounts/${account?.id}/workers/scripts/hello`, {
    script: 'export default { fetch() { return new Response("hello"); } };',
    bindings: [{ type: "plain_text", name: "GREETING", text: "hi" }],
  });
  assert.equal(uploaded.status, 200, JSON.stringify(uploaded));
  const context = await browser.newContext();
  const page = await signIn(context);
  await page.getByRole("link", { name: "Functions" }).click();
  await page.getByRole("cell", { name: "GREETING: plain text" }).waitFor();
  await page.getByText("No routes").waitFor();
  await page.getByRole("button", { name: "Add route" }).click();
  const form = page.getByRole("dialog", { name: "Add route" });
  await form.getByLabel("Pattern").fill("api.example.com/*");
  await form.getByText("The pattern's host must be in the zone localhost.").waitFor();
  await form.getByLabel("Pattern").fill("app.localhost/fn/*");
  await form.getByRole("button", { name: "Add route" }).click();
  await page.getByText("Requests to app.localhost/fn/* now run hello.").waitFor();
  await screenshot(page, "12-functions");
  const zone = (await api("GET", "/zones?name=localhost")).result[0];
  const routes = (await api("GET", `/zones/${zone?.id}/workers/routes`)).result;
  assert.deepEqual(
    routes.map((route) => [route.pattern, route.script]),
    [["app.localhost/fn/*", "hello"]],
  );
  await context.close();
});

test("dashboard: served with content types, long-cached hashed assets and an SPA fallback", {
  skip,
}, async () => {
  const base = `http://127.0.0.1:${apiPort}`;
  const index = await fetch(`${base}/dashboard/certificates`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get("content-type") ?? "", /^text\/html/);
  assert.equal(index.headers.get("cache-control"), "no-cache");
  assert.match(index.headers.get("content-security-policy") ?? "", /default-src 'self'/);
  const html = await index.text();
  const script = /src="(\/dashboard\/assets\/[^"]+\.js)"/.exec(html)?.[1];
  assert.ok(script, html);
  const asset = await fetch(`${base}${script}`);
  assert.equal(asset.status, 200);
  assert.match(asset.headers.get("content-type") ?? "", /^text\/javascript/);
  assert.match(asset.headers.get("cache-control") ?? "", /max-age=31536000, immutable/);
  assert.doesNotMatch(await asset.text(), /https?:\/\/(cdn|unpkg|fonts)\./, "nothing from a CDN");
  assert.equal((await fetch(`${base}/dashboard/assets/missing.js`)).status, 404);
  assert.equal((await fetch(`${base}/dashboard/..%2f..%2fpackage.json`)).status, 400);
  const root = await fetch(`${base}/`, { redirect: "manual" });
  assert.equal(root.headers.get("location"), "/dashboard/");
  // The API is unchanged beside it.
  assert.equal((await fetch(`${base}/client/v4/zones`)).status, 401);
  await writeFile(join(dir, "served.html"), html);
});
