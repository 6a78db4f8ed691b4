/**
 * Edge functions on real workerd, end to end: `portcullis up`, the real CLI (`portcullis functions
 * deploy` with a wrangler.toml), curl as the client, and nginx with `ssl_verify_client on` as the
 * mTLS origin. The seed's worker code is deployed as written (only its placeholder origin URL points
 * at the test's nginx), with the seed's `mtls_certificates` wrangler.toml shape.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readlinkSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import tls from "node:tls";
import { clientCertArgs, curlEdge, type EdgePki, makeEdgePki } from "../helpers/edge.ts";
import { startClientCertNginx } from "../helpers/nginx.ts";
import { makeCa, makeClientCert, makeServerCert, openssl } from "../helpers/openssl-pki.ts";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { PORTCULLIS_BIN, portcullis, run, tempDir } from "../helpers/run.ts";
import { ADMIN_TOKEN, apiClient, listen, type Started, startUp, waitFor } from "../helpers/up.ts";

const skip = missingPeer("openssl", "curl", "nginx");
const WRANGLER = join(
  dirname(createRequire(import.meta.url).resolve("wrangler/package.json")),
  "bin",
  "wrangler.js",
);
const HOST = "api.example.test";

/** The seed's worker (Cloudflare's mTLS-for-Workers example), byte for byte but for the origin URL. */
const seedWorker = (origin: string) => `export default {
    async fetch(request, environment) {
        return await environment.MY_CERT.fetch("${origin}")
    }
}
`;

describe("edge functions on workerd", { skip, timeout: 300_000 }, () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let pki: EdgePki;
  let nginx: ChildProcess;
  let nginxUrl: string;
  let origin: http.Server;
  let up: Started;
  let edgePort: number;
  let api: ReturnType<typeof apiClient>;
  let accountId: string;
  let certA: string;
  let certB: string;
  const cliEnv = () => ({
    PORTCULLIS_API_URL: `http://127.0.0.1:${apiPort}`,
    PORTCULLIS_API_TOKEN: ADMIN_TOKEN,
    HOME: dir,
  });
  const cli = (args: string[]) => portcullis(args, { cwd: dir, env: cliEnv() });
  let apiPort: number;

  /** Deploys `source` as function `name` through the CLI, with a wrangler.toml holding `toml`. */
  async function deploy(name: string, source: string, toml: string, route: string) {
    await writeFile(join(dir, `${name}.js`), source);
    await writeFile(join(dir, `${name}.toml`), `name = "${name}"\nmain = "${name}.js"\n${toml}`);
    const result = await cli([
      "functions",
      "deploy",
      `./${name}.js`,
      "--config",
      `${name}.toml`,
      "--route",
      route,
    ]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    return result;
  }

  const edge = (path: string, args: string[] = clientCertArgs(pki.client)) =>
    curlEdge(pki, edgePort, `https://${HOST}${path}`, args);

  /** Until the edge serves the new config (every store write reaches it within about a second). */
  async function until(path: string, check: (status: number, body: string) => boolean) {
    let last = "";
    await waitFor(async () => {
      try {
        const res = await edge(path);
        last = `${res.status} ${res.body}`;
        return check(res.status, res.body);
      } catch (err) {
        // Not served yet (the hostname's first Snapshot is on its way).
        last = (err as Error).message;
        return false;
      }
    }, 15_000).catch(() => assert.fail(`${path}: still ${last}`));
  }

  before(async () => {
    ({ path: dir, cleanup } = await tempDir());
    pki = await makeEdgePki(dir, [HOST]);
    // The mTLS origin: its server certificate, and the CA of the certificates it requires.
    await makeCa(dir, "origin-ca", { subject: "/CN=Origin CA" });
    await makeServerCert(dir, "origin", { issuer: "origin-ca" });
    await makeCa(dir, "workers-ca", { subject: "/CN=Workers CA" });
    await makeClientCert(dir, "worker-a", { issuer: "workers-ca", subject: "/O=Portcullis/CN=worker-a" });
    await makeClientCert(dir, "worker-b", { issuer: "workers-ca", subject: "/O=Portcullis/CN=worker-b" });
    const nginxPort = await freePort();
    nginx = await startClientCertNginx(dir, nginxPort, "workers-ca");
    nginxUrl = `https://localhost:${nginxPort}/whoami`;
    origin = http.createServer((_req, res) => res.end("from the origin\n"));
    await new Promise<void>((resolve) => origin.listen(0, "127.0.0.1", resolve));

    edgePort = await freePort();
    apiPort = await freePort();
    up = await startUp(["--data", join(dir, "data"), ...listen(edgePort, apiPort)], {
      // Functions trust the origin's private CA, and may reach loopback (the test's nginx).
      PORTCULLIS_FUNCTIONS_CA: join(dir, "origin-ca.pem"),
      PORTCULLIS_FUNCTIONS_OUTBOUND: "public,private",
      PORTCULLIS_FUNCTIONS_TIMEOUT_MS: "10000",
    });
    api = apiClient(apiPort);
    accountId = (await api("POST", "/accounts", { name: "workers" })).result.id as string;
    const zone = (await api("POST", "/zones", { name: "example.test", account: { id: accountId } })).result;
    const upload = async (name: string, key: boolean, ca = false) =>
      (
        await api("POST", `/accounts/${accountId}/mtls_certificates`, {
          name,
          certificates: await readFile(join(dir, `${name}.pem`), "utf8"),
          ...(key ? { private_key: await readFile(join(dir, `${name}-key.pem`), "utf8") } : {}),
          ca,
        })
      ).result.id as string;
    const server = await upload("server", true);
    const clientCa = await upload("client-ca", false, true);
    certA = await upload("worker-a", true);
    certB = await upload("worker-b", true);
    const host = await api("POST", `/zones/${zone.id}/hostnames`, {
      hostname: HOST,
      server_certificate_id: server,
      mtls: { mode: "permissive" },
      origin: { url: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` },
    });
    assert.equal(host.status, 200, JSON.stringify(host));
    const association = await api("PUT", `/zones/${zone.id}/certificate_authorities/hostname_associations`, {
      hostnames: [HOST],
      mtls_certificate_id: clientCa,
    });
    assert.equal(association.status, 200, JSON.stringify(association));
    await until("/", (status) => status === 200);
  });

  after(async () => {
    await up?.stop();
    nginx?.kill("SIGTERM");
    origin?.closeAllConnections();
    origin?.close();
    await cleanup?.();
  });

  test("the seed's worker: env.MY_CERT.fetch presents the uploaded certificate; nginx answers 200", async () => {
    const deployed = await deploy(
      "mtls-worker",
      seedWorker(nginxUrl),
      `compatibility_date = "2024-09-23"\nmtls_certificates = [\n  { binding = "MY_CERT", certificate_id = "${certA}" }\n]\n`,
      `${HOST}/mtls*`,
    );
    assert.match(deployed.stdout, /Uploaded mtls-worker/);
    assert.match(deployed.stdout, new RegExp(`MY_CERT \\(mtls_certificate\\): ${certA}`));
    await until("/mtls", (status, body) => status === 200 && body.startsWith("verify="));
    const res = await edge("/mtls");
    assert.equal(res.body.trim(), "verify=SUCCESS dn=CN=worker-a,O=Portcullis");
    // Other paths still go to the origin.
    assert.equal((await edge("/other")).body, "from the origin\n");
  });

  test("wrangler deploy itself, pointed at Portcullis, deploys the seed's project (and again, as a new version)", async () => {
    const project = join(dir, "wrangler-project");
    await mkdir(project);
    await writeFile(join(project, "index.js"), seedWorker(nginxUrl));
    await writeFile(
      join(project, "wrangler.toml"),
      `name = "seed-worker"\nmain = "index.js"\ncompatibility_date = "2024-09-23"\n\n` +
        `mtls_certificates = [\n  { binding = "MY_CERT", certificate_id = "${certA}" }\n]\n\n` +
        `routes = [\n  { pattern = "${HOST}/wrangler*", zone_name = "example.test" }\n]\n`,
    );
    const wrangler = () =>
      run(process.execPath, [WRANGLER, "deploy"], {
        cwd: project,
        env: {
          CLOUDFLARE_API_BASE_URL: `http://127.0.0.1:${apiPort}/client/v4`,
          CLOUDFLARE_API_TOKEN: ADMIN_TOKEN,
          CLOUDFLARE_ACCOUNT_ID: accountId,
          WRANGLER_SEND_METRICS: "false",
          NO_COLOR: "1",
          HOME: project,
        },
        timeoutMs: 120_000,
      });
    const first = await wrangler();
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /Uploaded seed-worker/);
    assert.match(
      first.stdout,
      new RegExp(`${HOST.replaceAll(".", "\\.")}/wrangler\\* \\(zone name: example\\.test\\)`),
    );
    await until("/wrangler", (status, body) => status === 200 && body.startsWith("verify="));
    assert.equal((await edge("/wrangler")).body.trim(), "verify=SUCCESS dn=CN=worker-a,O=Portcullis");
    // A second deploy goes through wrangler's versions and deployments calls.
    await writeFile(
      join(project, "index.js"),
      'export default { fetch() { return new Response("second\\n"); } };\n',
    );
    const second = await wrangler();
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.doesNotMatch(second.stdout + second.stderr, /WARNING|ERROR/);
    await until("/wrangler", (status, body) => status === 200 && body === "second\n");
  });

  test("plain fetch() presents no certificate: nginx's own 400 comes back", async () => {
    await deploy(
      "plain-fetch",
      `export default { fetch() { return fetch(${JSON.stringify(nginxUrl)}); } };\n`,
      "",
      `${HOST}/plain`,
    );
    await until("/plain", (status) => status !== 404 && status !== 200);
    const res = await edge("/plain");
    assert.equal(res.status, 400);
    assert.match(res.body, /No required SSL certificate was sent/);
  });

  test("request.cf.tlsClientAuth carries the caller's certificate as Workers names it", async () => {
    await deploy(
      "whoami",
      "export default { fetch(request) { return Response.json({ ...request.cf.tlsClientAuth, url: request.url, protocol: request.cf.httpProtocol }); } };\n",
      "",
      `${HOST}/whoami*`,
    );
    await until("/whoami", (status, body) => status === 200 && body.startsWith("{"));
    const auth = JSON.parse((await edge("/whoami")).body) as Record<string, string>;
    const subject = await openssl([
      "x509",
      "-in",
      pki.client.cert,
      "-noout",
      "-subject",
      "-nameopt",
      "RFC2253",
    ]);
    assert.equal(auth.certSubjectDN, subject.stdout.trim().replace(/^subject=/, ""));
    assert.equal(auth.certPresented, "1");
    assert.equal(auth.certVerified, "SUCCESS");
    const fingerprint = await openssl(["x509", "-in", pki.client.cert, "-noout", "-fingerprint", "-sha256"]);
    assert.equal(
      auth.certFingerprintSHA256,
      fingerprint.stdout.split("=")[1]?.trim().replaceAll(":", "").toLowerCase(),
    );
    assert.equal(auth.url, `https://${HOST}:${edgePort}/whoami`);
    assert.equal(auth.protocol, "HTTP/2", "curl's default over TLS");
    // Without a certificate, and with a forged copy of the header that carries request.cf: nothing leaks in.
    const forged = JSON.stringify({ tlsClientAuth: { certPresented: "1", certSubjectDN: "CN=forged" } });
    const none = JSON.parse((await edge("/whoami", ["-H", `x-portcullis-cf: ${forged}`])).body) as Record<
      string,
      string
    >;
    assert.equal(none.certPresented, "0");
    assert.equal(none.certVerified, "NONE");
    assert.equal(none.certSubjectDN, "");
    const h1 = JSON.parse((await edge("/whoami?x=1", ["--http1.1", ...clientCertArgs(pki.client)])).body);
    assert.equal(h1.protocol, "HTTP/1.1");
    assert.equal(h1.certSubjectDN, auth.certSubjectDN);
  });

  test("an exception is a 500 with a log line; the tail shows it and the function's console output", async () => {
    await deploy(
      "thrower",
      'export default { fetch(request) { console.log("about to throw for", new URL(request.url).pathname); throw new Error("kaboom"); } };\n',
      "",
      `${HOST}/throw`,
    );
    await until("/throw", (status) => status === 500);
    await waitFor(async () => up.output.includes('"event":"function_exception"'), 5000);
    assert.match(up.output, /"function":"thrower".*kaboom/);
    const tail = await cli(["functions", "tail", "thrower"]);
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /log\s+about to throw for \/throw/);
    assert.match(tail.stdout, /exception\s+.*kaboom/);
    // --follow streams what comes next (and no history with -n 0).
    const follower = spawn(PORTCULLIS_BIN, ["functions", "tail", "thrower", "--follow", "-n", "0"], {
      cwd: dir,
      env: { ...process.env, ...cliEnv() },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let followed = "";
    follower.stdout.on("data", (chunk: Buffer) => {
      followed += chunk.toString();
    });
    try {
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(followed, "");
      await edge("/throw?again");
      await waitFor(async () => /about to throw for \/throw/.test(followed) && /kaboom/.test(followed), 5000);
    } finally {
      follower.kill("SIGINT");
    }
    // The edge is fine.
    assert.equal((await edge("/other")).status, 200);
  });

  test("a function that never yields is stopped at its CPU limit (503); the edge and the function recover", async () => {
    await deploy(
      "spinner",
      'export default { fetch(request) { const path = new URL(request.url).pathname; if (path === "/spin/forever") { for (;;) {} } if (path === "/spin/echo") return new Response(request.body); return new Response("still here\\n"); } };\n',
      "[limits]\ncpu_ms = 1000\n",
      `${HOST}/spin/*`,
    );
    await until("/spin/ok", (status, body) => status === 200 && body === "still here\n");
    const echoed = await edge("/spin/echo", [
      "--data-binary",
      "a request body",
      ...clientCertArgs(pki.client),
    ]);
    assert.equal(echoed.body, "a request body");
    const spun = await edge("/spin/forever", [
      "-H",
      "Accept: application/json",
      ...clientCertArgs(pki.client),
    ]);
    assert.equal(spun.status, 503);
    assert.match(JSON.parse(spun.body).error.reason, /^function_(unavailable|timeout)$/);
    await waitFor(async () => /"event":"function_cpu_limit".*"function":"spinner"/.test(up.output), 5000);
    // The edge serves the next request, and the function comes back.
    assert.equal((await edge("/other")).body, "from the origin\n");
    await until("/spin/ok", (status, body) => status === 200 && body === "still here\n");
  });

  test("a function reaches only its own certificate", async () => {
    // worker-a's egress secret, as the runtime wrote it for the seed's function.
    const functionsDir = join(dir, "data", "functions");
    const seedDir = (await readdir(functionsDir)).find((name) => name.includes("_mtls-worker-"));
    assert.ok(seedDir, "the seed function's workerd directory");
    const seedConfig = await readFile(join(functionsDir, seedDir, "config.capnp"), "utf8");
    const secretA = /value = "([A-Za-z0-9_-]{43})"/.exec(seedConfig)?.[1];
    const egress = /address = "(127\.0\.0\.1:\d+)"/.exec(seedConfig)?.[1];
    assert.ok(secretA && egress);
    await deploy(
      "other-team",
      `export default { async fetch(request, env) {
  const path = new URL(request.url).pathname;
  if (path === "/team/env") return Response.json(Object.keys(env).sort());
  if (path === "/team/forged") return env.MY_CERT.fetch(${JSON.stringify(nginxUrl)}, { headers: { "x-portcullis-egress": env.STOLEN } });
  if (path === "/team/direct") return fetch("http://${egress}/", { headers: { "x-portcullis-egress": "guess" } });
  return env.MY_CERT.fetch(${JSON.stringify(nginxUrl)});
} };\n`,
      `mtls_certificates = [{ binding = "MY_CERT", certificate_id = "${certB}" }]\n[vars]\nSTOLEN = "${secretA}"\n`,
      `${HOST}/team/*`,
    );
    await until("/team/own", (status, body) => status === 200 && body.includes("worker-b"));
    assert.equal((await edge("/team/own")).body.trim(), "verify=SUCCESS dn=CN=worker-b,O=Portcullis");
    assert.deepEqual(JSON.parse((await edge("/team/env")).body), ["MY_CERT", "STOLEN"]);
    // Even with worker-a's secret in hand, its binding's header is replaced by its own.
    assert.equal((await edge("/team/forged")).body.trim(), "verify=SUCCESS dn=CN=worker-b,O=Portcullis");
    // The egress server refuses a request without a binding's secret.
    const direct = await edge("/team/direct");
    assert.equal(direct.status, 403);
    assert.equal(direct.headers["x-portcullis-reason"], "unknown_binding");
  });

  test("a WebSocket on a function's route is the function's (not the origin's)", async () => {
    await deploy(
      "socket",
      `export default { fetch(request) {
  if (request.headers.get("upgrade") !== "websocket") return new Response("upgrade please", { status: 426 });
  const [client, server] = Object.values(new WebSocketPair());
  server.accept();
  server.send("hello from workerd");
  return new Response(null, { status: 101, webSocket: client });
} };\n`,
      "",
      `${HOST}/ws`,
    );
    await until("/ws", (status) => status === 426);
    const socket = tls.connect({
      port: edgePort,
      host: "127.0.0.1",
      servername: HOST,
      ca: await readFile(pki.serverCa),
      ALPNProtocols: ["http/1.1"],
    });
    let received = "";
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", () => resolve());
      socket.once("error", reject);
    });
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: ${HOST}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    await waitFor(async () => received.includes("hello from workerd"), 10_000).catch(() =>
      assert.fail(`got: ${JSON.stringify(received)}`),
    );
    assert.match(received, /^HTTP\/1\.1 101 /);
    socket.destroy();
  });

  test("the API refuses a binding to a certificate without a key, or from another account", async () => {
    const caOnly = (await api("GET", `/accounts/${accountId}/mtls_certificates?name=client-ca`)).result[0]
      ?.id;
    const put = (certificateId: string) =>
      api("PUT", `/accounts/${accountId}/workers/scripts/bad-binding`, {
        main_module: "worker.js",
        script: "export default { fetch() { return new Response('x'); } };",
        bindings: [{ type: "mtls_certificate", name: "MY_CERT", certificate_id: certificateId }],
      });
    for (const id of [caOnly as string, "0123456789abcdef0123456789abcdef"]) {
      const refused = await put(id);
      assert.equal(refused.status, 400, JSON.stringify(refused));
      assert.equal((refused as unknown as { errors: { code: number }[] }).errors[0]?.code, 10120);
    }
    const broken = await api("PUT", `/accounts/${accountId}/workers/scripts/broken`, {
      main_module: "worker.js",
      script: "export default { fetch() { return new Response('x') ",
    });
    assert.equal(broken.status, 400);
    assert.match(JSON.stringify(broken), /SyntaxError/);
  });

  test("list and delete: a deleted function's route goes back to the origin", async () => {
    const list = await cli(["functions", "list"]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /mtls-worker\s+api\.example\.test\/mtls\*\s+MY_CERT/);
    const removed = await cli(["functions", "delete", "plain-fetch", "-y"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /Deleted function plain-fetch/);
    await until("/plain", (status, body) => status === 200 && body === "from the origin\n");
    const missing = await cli(["functions", "delete", "plain-fetch", "-y"]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /\[10007\]/);
  });

  test("killing portcullis up outright leaves no workerd behind", async () => {
    const functionsDir = join(dir, "data", "functions");
    assert.ok(workerdsUnder(functionsDir).length >= 1, "functions are running");
    await up.kill();
    await waitFor(async () => workerdsUnder(functionsDir).length === 0, 5000).catch(() =>
      assert.fail(`still running: ${workerdsUnder(functionsDir).join(", ")}`),
    );
  });
});

/** The pids of the processes whose working directory is below `dir`. */
function workerdsUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((entry) => {
      try {
        return /^\d+$/.test(entry) && readlinkSync(`/proc/${entry}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}
