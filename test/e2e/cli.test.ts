/**
 * The `portcullis` CLI over the API, as a user runs it: the real bin/portcullis against a running
 * `portcullis up`, through a recording proxy (to see exactly what the API received), with wrangler run
 * against the same API for the wording of `mtls-certificate`, curl through the edge and openssl reading
 * the CRL.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFile, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { type EchoOrigin, startEchoOrigin } from "../helpers/edge.ts";
import { makeCa, makeClientCert, makeServerCert, openssl } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { PORTCULLIS_BIN, portcullis, type RunResult, run, tempDir } from "../helpers/run.ts";
import { ADMIN_TOKEN, listen, type Started, startUp, waitFor } from "../helpers/up.ts";

const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);

interface Recorded {
  method: string;
  url: string;
  body: string;
}

let dir = "";
let cleanup: () => Promise<void> = async () => {};
let up: Started | undefined;
let proxy: http.Server | undefined;
let origin: EchoOrigin | undefined;
let apiUrl = "";
let edgePort = 0;
let apiPort = 0;
let accountId = "";
const recorded: Recorded[] = [];

/** Forwards every request to the API and records what it carried. */
function recordingProxy(apiPort: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      recorded.push({ method: req.method ?? "", url: req.url ?? "", body: body.toString("utf8") });
      const forward = http.request(
        { host: "127.0.0.1", port: apiPort, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on("error", () => res.destroy());
      forward.end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** `portcullis ARGS` with the test's API, token and config directory (nothing from the developer's). */
function cli(args: readonly string[], env: Record<string, string> = {}): Promise<RunResult> {
  return portcullis(args, {
    cwd: dir,
    env: {
      XDG_CONFIG_HOME: join(dir, "config"),
      PORTCULLIS_API_URL: apiUrl,
      PORTCULLIS_API_TOKEN: ADMIN_TOKEN,
      PORTCULLIS_ACCOUNT: "",
      PORTCULLIS_PROFILE: "",
      ...env,
    },
  });
}

function wrangler(...args: string[]): Promise<RunResult> {
  return run(process.execPath, [WRANGLER, "mtls-certificate", ...args], {
    cwd: dir,
    env: {
      CLOUDFLARE_API_BASE_URL: `${apiUrl}/client/v4`,
      CLOUDFLARE_API_TOKEN: ADMIN_TOKEN,
      CLOUDFLARE_ACCOUNT_ID: accountId,
      WRANGLER_SEND_METRICS: "false",
      NO_COLOR: "1",
      HOME: dir,
    },
  });
}

/** wrangler's stdout without its banner (` ⛅️ wrangler 4.x` and a rule). */
function withoutBanner(stdout: string): string {
  return stdout.replace(/^\n? ⛅️ wrangler [^\n]*\n─+\n/, "");
}

function assertOk(result: RunResult, what: string): void {
  assert.equal(result.code, 0, `${what}: exit ${result.code}\n${result.stdout}${result.stderr}`);
}

/** A failure is exactly one line on stderr, never a stack trace. */
function assertOneLine(result: RunResult, code: number, line: RegExp): void {
  assert.equal(result.code, code, `exit ${result.code}: ${result.stdout}${result.stderr}`);
  assert.match(result.stderr, /^error: [^\n]+\n$/, `one line: ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, line);
  assert.doesNotMatch(result.stderr, /\n\s+at /);
}

/** `mtls-certificate upload` of a certificate and its key, named NAME. */
function uploadArgs(pair: { certPath: string; keyPath: string }, name: string): string[] {
  return ["mtls-certificate", "upload", "--cert", pair.certPath, "--key", pair.keyPath, "--name", name];
}

/** A zone with one hostname the edge serves (its server certificate from its own CA) in front of the echo origin. */
async function servedHostname(zone: string, hostname: string, extra: readonly string[]): Promise<RunResult> {
  const label = hostname.replaceAll(".", "-");
  await makeCa(dir, `${label}-ca`, { subject: `/CN=${hostname} server CA` });
  const server = await makeServerCert(dir, `${label}-server`, {
    issuer: `${label}-ca`,
    san: `DNS:${hostname}`,
  });
  assertOk(await cli(["zone", "create", zone]), "zone create");
  assertOk(await cli(uploadArgs(server, `${label}-server`)), "server certificate");
  const url = (origin as EchoOrigin).url;
  const created = await cli([
    "hostname",
    "create",
    hostname,
    "--origin",
    url,
    "--server-cert",
    `${label}-server`,
    ...extra,
  ]);
  assertOk(created, "hostname create");
  return created;
}

/** curl through the edge to https://HOSTNAME/PATH: the status and the response head. */
async function viaEdge(
  hostname: string,
  path: string,
  args: readonly string[] = [],
): Promise<{ status: number; head: string }> {
  const result = await run("curl", [
    "-sk",
    "-D",
    "-",
    "-o",
    "/dev/null",
    "--max-time",
    "5",
    "--resolve",
    `${hostname}:${edgePort}:127.0.0.1`,
    ...args,
    `https://${hostname}:${edgePort}${path}`,
  ]);
  return { status: Number(/^HTTP\/\S+ (\d{3})/.exec(result.stdout)?.[1] ?? 0), head: result.stdout };
}

before(async () => {
  ({ path: dir, cleanup } = await tempDir("portcullis-cli-"));
  apiPort = await freePort();
  edgePort = await freePort();
  up = await startUp(["--data", join(dir, "data"), ...listen(edgePort, apiPort)]);
  proxy = await recordingProxy(apiPort);
  apiUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  origin = await startEchoOrigin();
  const account = await cli(["account", "create", "workers", "--json"]);
  assertOk(account, "account create");
  accountId = JSON.parse(account.stdout).id;
});

after(async () => {
  await up?.stop();
  await origin?.stop();
  await new Promise((resolve) => proxy?.close(resolve));
  await cleanup();
});

test("mtls-certificate upload, list and delete print what wrangler prints", {
  skip: missingPeer("openssl"),
}, async () => {
  await makeCa(dir, "wca", { subject: "/CN=Workers Test CA" });
  const leaf = await makeClientCert(dir, "worker", { issuer: "wca" });

  const upload = await cli(uploadArgs(leaf, "ours"));
  assertOk(upload, "upload");
  const id = /^ID: ([0-9a-f]{32})$/m.exec(upload.stdout)?.[1] as string;
  assert.ok(id, upload.stdout);
  const theirs = await wrangler("upload", "--cert", leaf.certPath, "--key", leaf.keyPath, "--name", "theirs");
  assertOk(theirs, "wrangler upload");
  const theirId = /^ID: ([0-9a-f]{32})$/m.exec(theirs.stdout)?.[1] as string;
  assert.equal(
    upload.stdout,
    withoutBanner(theirs.stdout).replaceAll("theirs", "ours").replaceAll(theirId, id),
    "upload: wrangler's lines",
  );
  assert.match(
    upload.stdout,
    /^Uploading mTLS Certificate ours\.\.\.\nSuccess! Uploaded mTLS Certificate ours\nID: /,
  );
  // Without --name, both print the lines without one (and list prints no Name: line).
  const pair = ["--cert", leaf.certPath, "--key", leaf.keyPath];
  const unnamed = await cli(["mtls-certificate", "upload", ...pair]);
  const theirUnnamed = await wrangler("upload", ...pair);
  const [ourId, theirUnnamedId] = [unnamed, theirUnnamed].map(
    (r) => /^ID: ([0-9a-f]{32})$/m.exec(r.stdout)?.[1] as string,
  );
  assert.equal(
    unnamed.stdout,
    withoutBanner(theirUnnamed.stdout).replaceAll(theirUnnamedId as string, ourId as string),
  );
  assert.match(unnamed.stdout, /^Uploading mTLS Certificate\.\.\.\nSuccess! Uploaded mTLS Certificate\nID: /);
  const unnamedList = await cli(["mtls-certificate", "list"]);
  assert.equal(unnamedList.stdout, withoutBanner((await wrangler("list")).stdout));
  assert.match(unnamedList.stdout, new RegExp(`ID: ${ourId}\\nIssuer: `));
  const unnamedDelete = await cli(["mtls-certificate", "delete", "--id", ourId as string, "-y"]);
  assert.equal(unnamedDelete.stdout, `Deleted certificate ${ourId} successfully\n`);
  assertOk(await cli(["mtls-certificate", "delete", "--id", theirUnnamedId as string, "-y"]), "delete");

  const list = await cli(["mtls-certificate", "list"]);
  assertOk(list, "list");
  const wranglerList = await wrangler("list");
  assertOk(wranglerList, "wrangler list");
  assert.equal(list.stdout, withoutBanner(wranglerList.stdout), "list: byte for byte wrangler's");
  assert.match(list.stdout, new RegExp(`ID: ${id}\\nName: ours\\nIssuer: CN=Workers Test CA\\nCreated on: `));

  const json = await cli(["mtls-certificate", "list", "--json"]);
  assertOk(json, "list --json");
  const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
  assert.deepEqual(listed.map((c) => c.name).sort(), ["ours", "theirs"]);
  assert.ok(listed.every((c) => !("private_key" in c)));

  // Usage mistakes: wrangler's words, exit 2, the API is never asked.
  const before = recorded.length;
  const both = await cli(["mtls-certificate", "delete", "--id", id, "--name", "ours"]);
  assertOneLine(both, 2, /^error: can't provide both --id and --name\./);
  const neither = await cli(["mtls-certificate", "delete"]);
  assertOneLine(neither, 2, /^error: must provide --id or --name\./);
  assert.equal(recorded.length, before, "no API call for a usage mistake");

  const missing = await cli(["mtls-certificate", "delete", "--name", "nope"]);
  assertOneLine(missing, 3, /^error: certificate not found with name "nope"\n$/);

  // Two certificates with one name: wrangler's error, for both CLIs.
  for (let i = 0; i < 2; i++) {
    assertOk(await cli(uploadArgs(leaf, "dup")), "dup");
  }
  const dup = await cli(["mtls-certificate", "delete", "--name", "dup"]);
  assertOneLine(dup, 1, /^error: multiple certificates found with name "dup"\n$/);
  assert.match(
    (await wrangler("delete", "--name", "dup")).stderr,
    /multiple certificates found with name "dup"/,
  );

  // Without a terminal: wrangler's question and its non-interactive "yes", then the deletion.
  const removed = await cli(["mtls-certificate", "delete", "--name", "ours"]);
  assertOk(removed, "delete");
  const wranglerRemoved = await wrangler("delete", "--id", theirId);
  assertOk(wranglerRemoved, "wrangler delete");
  assert.equal(
    removed.stdout,
    withoutBanner(wranglerRemoved.stdout).replaceAll("theirs", "ours").replaceAll(theirId, id),
  );
  assert.equal(
    removed.stdout,
    `? Are you sure you want to delete certificate ${id} (ours)?\n` +
      "🤖 Using fallback value in non-interactive context: yes\n" +
      `Deleted certificate ${id} (ours) successfully\n`,
  );
  const gone = await cli(["mtls-certificate", "delete", "--id", id, "-y"]);
  assertOneLine(gone, 3, new RegExp(`^error: \\[1003\\] mtls_certificate ${id} not found`));

  const ids = JSON.parse((await cli(["mtls-certificate", "list", "--json"])).stdout) as { id: string }[];
  const quiet = await cli(["mtls-certificate", "delete", "--id", ids[0]?.id as string, "-y"]);
  assertOk(quiet, "delete -y");
  assert.equal(quiet.stdout, `Deleted certificate ${ids[0]?.id} (dup) successfully\n`, "-y asks nothing");
});

test("a client certificate made with a local key: the key stays here (0600), the edge accepts it, revocation reaches the CRL", {
  skip: missingPeer("openssl", "curl"),
}, async () => {
  const created = await servedHostname("example.test", "app.example.test", [
    "--mode",
    "enforce",
    "--forward",
    "X-Client-Serial=ssl_client_serial",
  ]);
  assert.match(
    created.stdout,
    /^Created hostname app\.example\.test \([0-9a-f]{32}\) in zone example\.test: mTLS enforce\n$/,
  );

  const since = recorded.length;
  const issued = await cli([
    "client-certificate",
    "create",
    "--zone",
    "example.test",
    "--cn",
    "device-1",
    "--o",
    "Acme",
    "--out",
    "device-1",
  ]);
  assertOk(issued, "client-certificate create");
  const keyPath = join(dir, "device-1-key.pem");
  const certPath = join(dir, "device-1.pem");
  assert.equal((await stat(keyPath)).mode & 0o777, 0o600, "the key file is 0600");
  const keyPem = await readFile(keyPath, "utf8");
  const keyBody = keyPem.split("\n").slice(1, -2).join("");
  assert.ok(keyBody.length > 40);
  // What the API received: only a CSR, nothing of the key.
  const sent = recorded.slice(since);
  const post = sent.find((r) => r.method === "POST" && r.url.endsWith("/client_certificates"));
  assert.ok(post, "the CSR was posted");
  assert.deepEqual(Object.keys(JSON.parse(post.body)), ["csr"]);
  for (const request of sent) {
    assert.doesNotMatch(request.body, /PRIVATE KEY/);
    assert.ok(
      !request.body.includes(keyBody.slice(0, 40)),
      `${request.method} ${request.url} carries no key`,
    );
  }
  // The certificate is for the local key.
  const certKey = await openssl(["x509", "-in", certPath, "-noout", "-pubkey"]);
  const localKey = await openssl(["pkey", "-in", keyPath, "-pubout"]);
  assert.equal(certKey.stdout, localKey.stdout);
  assert.match((await openssl(["x509", "-in", certPath, "-noout", "-subject"])).stdout, /CN ?= ?device-1/);

  assertOk(
    await cli(["hostname-association", "set", "--zone", "example.test", "app.example.test"]),
    "association",
  );
  const listed = await cli(["hostname-association", "list", "--zone", "example.test"]);
  assert.equal(listed.stdout, "app.example.test\n");

  const curl = async (withCert: boolean) =>
    String(
      (await viaEdge("app.example.test", "/", withCert ? ["--cert", certPath, "--key", keyPath] : [])).status,
    );
  await waitFor(async () => (await curl(true)) === "200", 15_000);
  assert.equal(await curl(false), "403");

  const certs = JSON.parse(
    (await cli(["client-certificate", "list", "--zone", "example.test", "--json"])).stdout,
  ) as {
    id: string;
    serial_number: string;
  }[];
  const [certificate] = certs;
  assert.ok(certificate);
  const serial = (await openssl(["x509", "-in", certPath, "-noout", "-serial"])).stdout
    .trim()
    .replace("serial=", "");
  assert.equal(certificate.serial_number, serial.replace(/^0+/, ""));
  const revoked = await cli(["client-certificate", "revoke", "--zone", "example.test", certificate.id, "-y"]);
  assertOk(revoked, "revoke");
  assert.match(
    revoked.stdout,
    /^Revoked client certificate [0-9a-f]{32} \(serial [0-9A-F]+\): (pending_revocation|revoked)\n$/,
  );

  const crl = await cli(["client-certificate", "crl", "--zone", "example.test"]);
  assertOk(crl, "crl");
  const text = await openssl(["crl", "-noout", "-text"], { input: crl.stdout });
  assert.match(text.stdout, new RegExp(`Serial Number: 0*${certificate.serial_number}\\b`));
  const crlJson = JSON.parse(
    (await cli(["client-certificate", "crl", "--zone", "example.test", "--json"])).stdout,
  );
  assert.deepEqual(
    crlJson.revoked.map((entry: { serial_number: string }) => entry.serial_number),
    [certificate.serial_number],
  );
  await waitFor(async () => (await curl(true)) === "403", 15_000);

  const host = JSON.parse((await cli(["hostname", "get", "app.example.test", "--json"])).stdout);
  assert.equal(host.mtls.mode, "enforce");
  assert.deepEqual(host.forward, [{ header: "X-Client-Serial", variable: "ssl_client_serial" }]);

  // A CSR made elsewhere: the certificate comes back on stdout.
  const csrKey = join(dir, "other-key.pem");
  await openssl([
    "req",
    "-new",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    csrKey,
    "-subj",
    "/CN=other",
    "-out",
    join(dir, "other.csr"),
  ]);
  const fromCsr = await cli(["client-certificate", "create", "--zone", "example.test", "--csr", "other.csr"]);
  assertOk(fromCsr, "create --csr");
  assert.match(fromCsr.stdout, /^-----BEGIN CERTIFICATE-----\n/);
  const refused = await cli([
    "client-certificate",
    "create",
    "--zone",
    "example.test",
    "--cn",
    "device-1",
    "--out",
    "device-1",
  ]);
  assertOneLine(refused, 1, /device-1\.pem already exists/);
  assert.equal(await readFile(keyPath, "utf8"), keyPem, "an existing key is never overwritten");
});

test("login writes a 0600 profile that later commands use", async () => {
  const login = await cli(["login", "--api-url", `${apiUrl}/client/v4`, "--token", ADMIN_TOKEN], {
    PORTCULLIS_API_URL: "",
    PORTCULLIS_API_TOKEN: "",
  });
  assertOk(login, "login");
  const file = join(dir, "config", "portcullis", "config.json");
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.equal((await stat(dirname(file))).mode & 0o777, 0o700);
  const saved = JSON.parse(await readFile(file, "utf8"));
  assert.deepEqual(saved.profiles.default, { api_url: apiUrl, token: ADMIN_TOKEN });
  const status = await cli(["status", "--json"], { PORTCULLIS_API_URL: "", PORTCULLIS_API_TOKEN: "" });
  assertOk(status, "status from the profile");
  const result = JSON.parse(status.stdout);
  assert.equal(result.api_url, apiUrl);
  assert.equal(result.token.status, "active");
  assert.ok(result.accounts >= 1);
  assert.equal(result.edge.events, true, "the edge's events answer");
  assert.ok(result.edge.totals.requests >= 2, "the requests of the test before are counted");
  const human = await cli(["status"]);
  assert.match(
    human.stdout,
    /^API: +http:\/\/127\.0\.0\.1:\d+ \(answered in \d+ ms\)\nToken: +[0-9a-f]{32} \(active\)\n/,
  );
  assert.match(human.stdout, /^Edge: +serving; last 5 min: requests \d+, verified \d+/m);

  const badLogin = await cli(["login", "--api-url", apiUrl, "--token", "pct_wrong", "--profile", "bad"]);
  assertOneLine(badLogin, 1, /^error: \[10000\] Authentication error\n$/);
  assert.equal(JSON.parse(await readFile(file, "utf8")).profiles.bad, undefined, "a bad token is not saved");

  // A second profile, its token from stdin (out of the shell's history); list masks tokens.
  const noEnv = { PORTCULLIS_API_URL: "", PORTCULLIS_API_TOKEN: "" };
  const set = await portcullis(
    ["profile", "set", "--profile", "other", "--api-url", "http://10.9.9.9:9000", "--token", "-"],
    {
      cwd: dir,
      input: "pct_other_token\n",
      env: { XDG_CONFIG_HOME: join(dir, "config"), ...noEnv },
    },
  );
  assertOk(set, "profile set");
  assert.equal(JSON.parse(await readFile(file, "utf8")).profiles.other.token, "pct_other_token");
  const profiles = await cli(["profile", "list"], noEnv);
  assert.match(profiles.stdout, /^\* +default +http:\/\/127\.0\.0\.1:\d+ +- +pct_test…$/m);
  assert.match(profiles.stdout, /^ +other +http:\/\/10\.9\.9\.9:9000 +- +pct_othe…$/m);
  assert.doesNotMatch(profiles.stdout, /pct_other_token|pct_test_admin/);
  assertOk(await cli(["profile", "use", "other"], noEnv), "profile use");
  assert.equal(JSON.parse(await readFile(file, "utf8")).current_profile, "other");
  assertOk(await cli(["profile", "delete", "other"], noEnv), "profile delete");
  assert.equal(JSON.parse(await readFile(file, "utf8")).current_profile, "default");
  assertOneLine(await cli(["profile", "use", "other"], noEnv), 3, /^error: no profile "other"/);

  const noToken = await cli(["zone", "list"], {
    PORTCULLIS_API_TOKEN: "",
    XDG_CONFIG_HOME: join(dir, "empty"),
  });
  assertOneLine(noToken, 2, /^error: no API token/);
});

test("errors: one line with the API's code, and the documented exit codes", async () => {
  const badToken = await cli(["zone", "list"], { PORTCULLIS_API_TOKEN: "pct_not_a_token" });
  assertOneLine(badToken, 1, /^error: \[10000\] Authentication error\n$/);
  assert.equal(badToken.stdout, "");

  const unknownFlag = await cli(["hostname", "list", "--zone", "example.test", "--bogus"]);
  assertOneLine(unknownFlag, 2, /^error: unknown flag --bogus /);

  const closed = await freePort();
  const unreachable = await cli(["zone", "list"], { PORTCULLIS_API_URL: `http://127.0.0.1:${closed}` });
  assertOneLine(
    unreachable,
    1,
    new RegExp(`^error: cannot reach the API at http://127\\.0\\.0\\.1:${closed}: ECONNREFUSED\\n$`),
  );

  const notFound = await cli(["hostname", "get", "nope.example.test"]);
  assertOneLine(notFound, 3, /^error: no hostname nope\.example\.test in zone example\.test\n$/);

  const invalid = await cli(["hostname", "create", "x.example.test", "--origin", "ftp://x"]);
  assertOneLine(invalid, 1, /^error: \[1001\] body\.origin\.url: /);

  const zones = await cli(["zone", "list", "--json"]);
  assertOk(zones, "zone list --json");
  assert.deepEqual(
    (JSON.parse(zones.stdout) as { name: string }[]).map((zone) => zone.name),
    ["example.test"],
  );
  const table = await cli(["zone", "list"]);
  assert.match(
    table.stdout,
    /^ID {2,}NAME {2,}ACCOUNT {2,}CREATED\n[0-9a-f]{32} {2}example\.test {2}workers {2}/,
  );
});

test("ruleset put from YAML, check and test; the edge blocks by it and events tail shows it, also live", {
  skip: missingPeer("openssl", "curl"),
}, async () => {
  await servedHostname("rules.test", "api.rules.test", ["--mode", "permissive"]);
  const expression = '(not cf.tls_client_auth.cert_verified) and http.request.uri.path in {"/admin"}';
  const check = await cli(["ruleset", "check", expression]);
  assert.equal(check.stdout, "valid\n");
  const broken = await cli(["ruleset", "check", "http.host eq"]);
  assert.equal(broken.code, 1);
  assert.match(broken.stderr, /^ {2}http\.host eq\n {14}\^\nerror: invalid expression at character 12: /);
  const matching = await cli([
    "ruleset",
    "test",
    expression,
    "--host",
    "api.rules.test",
    "--uri",
    "/admin?x=1",
  ]);
  assert.equal(matching.stdout, "match\n");
  const verified = await cli([
    "ruleset",
    "test",
    expression,
    "--uri",
    "/admin",
    "--tls",
    "cert_verified=true",
    "--json",
  ]);
  assert.deepEqual(JSON.parse(verified.stdout), { matches: false });

  const missing = await cli(["ruleset", "get", "--zone", "rules.test"]);
  assertOneLine(missing, 3, /^error: \[1003\] /);
  await writeFile(
    join(dir, "rules.yaml"),
    `rules:\n  - description: admin needs a verified certificate\n    action: block\n    expression: '${expression}'\n`,
  );
  const put = await cli(["ruleset", "put", "--zone", "rules.test", "rules.yaml"]);
  assertOk(put, "ruleset put");
  assert.match(put.stdout, /^Saved the custom rules of zone rules\.test: version 1, 1 rules\n$/);
  const saved = JSON.parse((await cli(["ruleset", "get", "--zone", "rules.test", "--json"])).stdout);
  assert.equal(saved.rules[0].expression, expression);
  // What `get --json` prints goes back unchanged.
  await writeFile(join(dir, "rules.json"), JSON.stringify(saved));
  assertOk(await cli(["ruleset", "put", "--zone", "rules.test", "rules.json"]), "round trip");
  await writeFile(join(dir, "bad.yaml"), "rules:\n  - action: block\n    expression: 'http.host eq'\n");
  const bad = await cli(["ruleset", "put", "--zone", "rules.test", "bad.yaml"]);
  assertOneLine(bad, 1, /^error: \[\d+\] body\.rules\[0\]\.expression: /);

  const curl = async (path: string) => String((await viaEdge("api.rules.test", path)).status);
  await waitFor(async () => (await curl("/admin")) === "403", 15_000);
  assert.equal(await curl("/public"), "200");

  const tail = await cli(["events", "tail", "--host", "api.rules.test", "--action", "block", "--limit", "5"]);
  assertOk(tail, "events tail");
  assert.match(tail.stdout, /^\S+Z 403 block\(\w+\) GET api\.rules\.test\/admin from 127\.0\.0\.1/m);
  const json = await cli(["events", "tail", "--host", "api.rules.test", "--limit", "50", "--json"]);
  const events = json.stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { id: number; path: string });
  assert.ok(events.some((event) => event.path === "/public"));
  assert.deepEqual(
    events.map((e) => e.id),
    events.map((e) => e.id).sort((a, b) => a - b),
    "oldest first",
  );

  // --follow: a request made after the tail started is printed as it happens.
  const follower = spawn(
    PORTCULLIS_BIN,
    ["events", "tail", "--follow", "--limit", "0", "--host", "api.rules.test"],
    {
      env: {
        ...process.env,
        XDG_CONFIG_HOME: join(dir, "config"),
        PORTCULLIS_API_URL: apiUrl,
        PORTCULLIS_API_TOKEN: ADMIN_TOKEN,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let live = "";
  let notes = "";
  follower.stdout.on("data", (chunk: Buffer) => {
    live += chunk.toString();
  });
  follower.stderr.on("data", (chunk: Buffer) => {
    notes += chunk.toString();
  });
  const seen = (path: string) =>
    waitFor(async () => {
      await curl(path);
      return live.includes(`api.rules.test${path}`);
    }, 20_000);
  try {
    await seen("/live-check");
    assert.match(live, /^\S+Z 200 forward(\(\w+\))? GET api\.rules\.test\/live-check from 127\.0\.0\.1/m);
    // The API restarts: the tail says so once, reconnects, and goes on.
    await up?.stop();
    up = await startUp(["--data", join(dir, "data"), ...listen(edgePort, apiPort)]);
    await seen("/after-restart");
    assert.match(
      notes,
      /^warning: the event stream from http:\/\/127\.0\.0\.1:\d+ broke off; reconnecting every 2 s\n/m,
    );
    assert.match(notes, /^warning: reconnected to http:\/\/127\.0\.0\.1:\d+\n/m);
    assert.equal(follower.exitCode, null, "still following");
  } finally {
    follower.kill("SIGINT");
  }
});

test("seed 002 with the CLI: an Access mTLS CA, an app checked on every request, a common-name policy, a service token", {
  skip: missingPeer("openssl", "curl"),
}, async () => {
  await makeCa(dir, "aca", { subject: "/CN=Access Testing CA" });
  const james = await makeClientCert(dir, "james", { issuer: "aca", subject: "/CN=James Royal/O=Access" });
  const other = await makeClientCert(dir, "other", { issuer: "aca", subject: "/CN=Someone Else" });
  await servedHostname("access.test", "auth.access.test", []);
  const certificate = await cli([
    "access",
    "certificate",
    "create",
    "--name",
    "Access Testing CA",
    "--cert",
    join(dir, "aca.pem"),
    "--hostname",
    "auth.access.test",
  ]);
  assertOk(certificate, "access certificate create");
  assert.match(
    certificate.stdout,
    /^Added Access certificate Access Testing CA \([0-9a-f]{32}\) for auth\.access\.test\n$/,
  );
  const app = await cli([
    "access",
    "app",
    "create",
    "--domain",
    "auth.access.test",
    "--name",
    "Auth",
    "--session-duration",
    "0s",
  ]);
  assertOk(app, "access app create");
  const token = await cli(["access", "service-token", "create", "--name", "robot", "--json"]);
  assertOk(token, "service-token create");
  const { client_id: clientId, client_secret: clientSecret } = JSON.parse(token.stdout);
  assert.match(clientSecret, /^[0-9a-f]{32,}$/);
  assertOk(
    await cli([
      "access",
      "policy",
      "create",
      "--app",
      "Auth",
      "--name",
      "James or robot",
      "--decision",
      "non_identity",
      "--include",
      "common_name=James Royal",
      "--include",
      "service_token=robot",
    ]),
    "policy create",
  );
  const policies = JSON.parse((await cli(["access", "policy", "list", "--app", "Auth", "--json"])).stdout);
  assert.deepEqual(policies[0].include[0], { common_name: { common_name: "James Royal" } });

  const curl = (args: string[]) => viaEdge("auth.access.test", "/", args);
  const jamesCert = ["--cert", james.certPath, "--key", james.keyPath];
  await waitFor(async () => (await curl(jamesCert)).status === 200, 15_000);
  assert.match((await curl(jamesCert)).head, /^set-cookie: CF_Authorization=[\w-]+\.[\w-]+\.[\w-]+;/im);
  assert.equal((await curl([])).status, 403, "no certificate");
  assert.equal((await curl(["--cert", other.certPath, "--key", other.keyPath])).status, 403, "another CN");
  const tokenHeaders = [
    "-H",
    `CF-Access-Client-Id: ${clientId}`,
    "-H",
    `CF-Access-Client-Secret: ${clientSecret}`,
  ];
  assert.equal((await curl(tokenHeaders)).status, 200, "the service token");

  const refused = await cli(["access", "certificate", "delete", "Access Testing CA", "-y"]);
  assertOneLine(refused, 1, /^error: \[1005\] /);
  assertOk(await cli(["access", "app", "delete", "Auth", "-y"]), "app delete");
  assertOk(
    await cli(["access", "certificate", "update", "Access Testing CA", "--clear-hostnames"]),
    "update",
  );
  assertOk(await cli(["access", "certificate", "delete", "Access Testing CA", "-y"]), "certificate delete");
  assert.equal((await cli(["access", "certificate", "list"])).stdout, "No Access certificates.\n");
});

test("on a terminal, delete asks wrangler's question: n keeps the certificate, Enter deletes it", {
  skip: missingPeer("openssl", "script"),
}, async () => {
  await makeCa(dir, "tca", { subject: "/CN=TTY CA" });
  const leaf = await makeClientCert(dir, "tty", { issuer: "tca" });
  const upload = await cli([...uploadArgs(leaf, "tty"), "--json"]);
  assertOk(upload, "upload");
  const id = JSON.parse(upload.stdout).id as string;
  // script(1) runs the command on a pseudo-terminal, typing what it reads from stdin.
  const onTerminal = (answer: string) =>
    run("script", ["-qec", `${PORTCULLIS_BIN} mtls-certificate delete --name tty`, "/dev/null"], {
      cwd: dir,
      input: answer,
      env: {
        XDG_CONFIG_HOME: join(dir, "config"),
        PORTCULLIS_API_URL: apiUrl,
        PORTCULLIS_API_TOKEN: ADMIN_TOKEN,
        CI: "",
      },
    });
  const kept = await onTerminal("n\n");
  assert.equal(kept.code, 0, kept.stdout);
  assert.match(
    kept.stdout,
    new RegExp(`\\? Are you sure you want to delete certificate ${id} \\(tty\\)\\? \\(Y/n\\)`),
  );
  assert.match(kept.stdout, /Not deleting\r?\n/);
  assert.doesNotMatch(kept.stdout, /non-interactive/);
  assert.equal((await cli(["mtls-certificate", "get", id])).code, 0, "still there");
  const deleted = await onTerminal("\n");
  assert.equal(deleted.code, 0, deleted.stdout);
  assert.match(deleted.stdout, new RegExp(`Deleted certificate ${id} \\(tty\\) successfully`));
  assertOneLine(await cli(["mtls-certificate", "get", id]), 3, /^error: \[1003\] /);
});

test("tokens with scopes, hostname update and delete, zone delete, origin pulls: what the CLI says is what the API did", {
  skip: missingPeer("openssl"),
}, async () => {
  await servedHostname("ops.test", "www.ops.test", ["--mode", "permissive", "--path", "/admin=enforce"]);
  const updated = await cli([
    "hostname",
    "update",
    "www.ops.test",
    "--mode",
    "enforce",
    "--clear-paths",
    "--forward",
    "cloudflare",
    "--crl",
    "https://pki.ops.test/ca.crl",
    "--stale-crl",
    "allow",
    "--ocsp",
    "on",
    "--json",
  ]);
  assertOk(updated, "hostname update");
  const host = JSON.parse(updated.stdout);
  assert.equal(host.mtls.mode, "enforce");
  assert.deepEqual(host.mtls.paths, []);
  assert.deepEqual(host.forward, ["cloudflare"]);
  assert.deepEqual(host.mtls.crls, ["https://pki.ops.test/ca.crl"]);
  assert.equal(host.mtls.stale_crl, "allow");
  assert.equal(host.mtls.ocsp.enabled, true);
  assert.ok(host.server_certificate_id, "what was not given stays");
  const listed = await cli(["hostname", "list", "--zone", "ops.test"]);
  const everywhere = await cli(["hostname", "list", "--json"]);
  assert.ok(
    ["app.example.test", "www.ops.test"].every((name) =>
      JSON.parse(everywhere.stdout).some((h: { hostname: string }) => h.hostname === name),
    ),
    "without --zone: every zone's hostnames",
  );
  assert.match(
    listed.stdout,
    /^ID +HOSTNAME +ZONE +MODE +PATHS +ORIGIN +DEFAULT\n[0-9a-f]{32} {2}www\.ops\.test {2}ops\.test {2}enforce {2}- +http:/,
  );

  // A zone-scoped token: it sees its zone, not the others, and stops working once revoked.
  const created = await cli(["token", "create", "--name", "ops-ci", "--scope", "zone:ops.test:edit"]);
  assertOk(created, "token create");
  const value = /^Token \(shown once\): (\S+)$/m.exec(created.stdout)?.[1] as string;
  const id = /^Created token ops-ci \(([0-9a-f]{32})\)/.exec(created.stdout)?.[1] as string;
  assert.ok(value && id, created.stdout);
  const scoped = await cli(["zone", "list", "--json"], { PORTCULLIS_API_TOKEN: value });
  assertOk(scoped, "zone list with the scoped token");
  assert.deepEqual(
    JSON.parse(scoped.stdout).map((z: { name: string }) => z.name),
    ["ops.test"],
  );
  const outside = await cli(["hostname", "list", "--zone", "example.test"], { PORTCULLIS_API_TOKEN: value });
  assert.notEqual(outside.code, 0);
  assert.match(outside.stderr, /^error: /);
  const tokens = await cli(["token", "list"]);
  assert.match(tokens.stdout, new RegExp(`^${id} {2}ops-ci +active {2}zone:[0-9a-f]{32}:edit`, "m"));
  assertOk(await cli(["token", "revoke", id, "-y"]), "token revoke");
  assertOneLine(await cli(["zone", "list"], { PORTCULLIS_API_TOKEN: value }), 1, /^error: \[10000\] /);

  // Origin pulls: a zone certificate, enabled; a hostname's own, bound then unbound.
  await makeCa(dir, "opca", { subject: "/CN=Origin Pull CA" });
  const pull = await makeClientCert(dir, "pull", { issuer: "opca" });
  const pullUpload = [
    "origin-pull",
    "upload",
    "--zone",
    "ops.test",
    "--cert",
    pull.certPath,
    "--key",
    pull.keyPath,
  ];
  const zoneCert = await cli([...pullUpload, "--json"]);
  assertOk(zoneCert, "origin-pull upload");
  const zoneCertId = JSON.parse(zoneCert.stdout).id as string;
  assertOk(await cli(["origin-pull", "enable", "--zone", "ops.test"]), "enable");
  const hostCert = await cli([...pullUpload, "--hostname", "www.ops.test", "--json"]);
  assertOk(hostCert, "origin-pull upload --hostname");
  const bound = JSON.parse(hostCert.stdout);
  assert.deepEqual(
    bound.associations.map((a: { hostname: string; enabled: boolean }) => [a.hostname, a.enabled]),
    [["www.ops.test", true]],
  );
  const pulls = JSON.parse((await cli(["origin-pull", "list", "--zone", "ops.test", "--json"])).stdout);
  assert.equal(pulls.enabled, true);
  assert.deepEqual(
    pulls.zone_certificates.map((c: { id: string }) => c.id),
    [zoneCertId],
  );
  const busy = await cli(["origin-pull", "delete", "--zone", "ops.test", bound.certificate.id, "-y"]);
  assertOneLine(busy, 1, /^error: \[1005\] /);
  assertOk(await cli(["origin-pull", "unbind", "--zone", "ops.test", "www.ops.test"]), "unbind");
  assertOk(await cli(["origin-pull", "delete", "--zone", "ops.test", bound.certificate.id, "-y"]), "delete");
  assertOk(await cli(["origin-pull", "delete", "--zone", "ops.test", zoneCertId, "-y"]), "delete zone cert");

  // A zone with hostnames is not deleted; once empty, it is.
  assertOneLine(
    await cli(["zone", "delete", "ops.test", "-y"]),
    1,
    /^error: \[1005\] zone ops\.test still has hostnames/,
  );
  const removed = await cli(["hostname", "delete", "www.ops.test", "-y"]);
  assert.match(removed.stdout, /^Deleted hostname www\.ops\.test \([0-9a-f]{32}\)\n$/);
  assertOk(await cli(["zone", "delete", "ops.test", "-y"]), "zone delete");
  assertOneLine(await cli(["zone", "delete", "ops.test", "-y"]), 3, /^error: no zone named "ops\.test"\n$/);
});
