/**
 * Several `portcullis up` nodes on one PostgreSQL: a write through one node's API reaches every node's
 * edge within a second; each node keeps its last good config on disk (sealed), keeps serving while the
 * database is down, starts from that file while it is down, and catches up when it returns.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import net from "node:net";
import { join } from "node:path";
import { type TestContext, test } from "node:test";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { missingPostgres, POSTGRES_URL, temporarySchema } from "../helpers/postgres.ts";
import { portcullis, tempDir } from "../helpers/run.ts";
import { apiClient, demoStatus, listen, type Started, startUp, waitFor } from "../helpers/up.ts";

const LAST_GOOD = "last-good-edge.json.enc";
const skip = missingPeer("curl") || (await missingPostgres());

interface Node {
  dataDir: string;
  edgePort: number;
  apiPort: number;
  process: Started;
}

/** Nodes sharing one database, one secret key and one schema, each on a URL of its own (a proxy, say). */
function cluster(schema: string, root: string) {
  const env = {
    PORTCULLIS_DATABASE_SCHEMA: schema,
    PORTCULLIS_SECRET_KEY: randomBytes(32).toString("hex"),
  };
  return async (
    name: string,
    options: { databaseUrl: string; demo?: boolean; ports?: { edgePort: number; apiPort: number } },
  ): Promise<Node> => {
    const edgePort = options.ports?.edgePort ?? (await freePort());
    const apiPort = options.ports?.apiPort ?? (await freePort());
    const dataDir = join(root, name);
    const args = [
      ...(options.demo ? ["--demo"] : []),
      "--data",
      dataDir,
      "--database-url",
      options.databaseUrl,
      ...listen(edgePort, apiPort),
    ];
    return { dataDir, edgePort, apiPort, process: await startUp(args, env) };
  };
}

/** Polls until the node's edge answers `want` for the demo client certificate; the milliseconds it took. */
async function timeUntil(node: Node, demoDir: string, want: string, limitMs: number): Promise<number> {
  const since = Date.now();
  for (;;) {
    const status = await demoStatus(node.edgePort, demoDir);
    const elapsed = Date.now() - since;
    if (status === want) return elapsed;
    assert.ok(elapsed < limitMs, `edge :${node.edgePort} still answers ${status} after ${elapsed} ms`);
  }
}

/** The demo client certificate's zone and id, as A's API lists them. */
async function demoCertificate(apiPort: number): Promise<{ zone: unknown; id: unknown }> {
  const api = apiClient(apiPort);
  const zone = (await api("GET", "/zones?name=localhost")).result[0];
  const certs = (await api("GET", `/zones/${zone?.id}/client_certificates?status=all`)).result;
  const demo = certs.find((c) => c.common_name === "demo-client");
  assert.ok(demo, JSON.stringify(certs));
  return { zone: zone?.id, id: demo.id };
}

async function revokeDemoCertificate(apiPort: number): Promise<void> {
  const { zone, id } = await demoCertificate(apiPort);
  const revoked = await apiClient(apiPort)("DELETE", `/zones/${zone}/client_certificates/${id}`);
  assert.equal(revoked.result.status, "pending_revocation", JSON.stringify(revoked));
}

async function reactivateDemoCertificate(apiPort: number): Promise<void> {
  const { zone, id } = await demoCertificate(apiPort);
  const answer = await apiClient(apiPort)("PATCH", `/zones/${zone}/client_certificates/${id}`, {
    reactivate: true,
  });
  assert.equal(answer.result.status, "pending_reactivation", JSON.stringify(answer));
}

/** The last good file: there, 0600, and no private key (nor anything else) in the clear. */
async function assertSealed(dataDir: string): Promise<void> {
  const path = join(dataDir, LAST_GOOD);
  const info = await stat(path);
  assert.equal(info.mode & 0o777, 0o600, `${path} mode`);
  const text = await readFile(path, "utf8");
  assert.doesNotMatch(text, /PRIVATE KEY/);
  assert.doesNotMatch(text, /app\.localhost|BEGIN CERTIFICATE/);
}

async function stopAll(nodes: (Node | undefined)[]): Promise<void> {
  await Promise.all(nodes.map((node) => node?.process.stop()));
}

test("two nodes on one PostgreSQL: both serve the demo; a revocation through A reaches both edges within 1 s", {
  skip,
}, async (t: TestContext) => {
  const { schema, drop } = await temporarySchema();
  const { path: root, cleanup } = await tempDir();
  const nodes: (Node | undefined)[] = [];
  try {
    const start = cluster(schema, root);
    const a = await start("a", { databaseUrl: POSTGRES_URL, demo: true });
    nodes.push(a);
    const b = await start("b", { databaseUrl: POSTGRES_URL });
    nodes.push(b);
    const demoDir = join(a.dataDir, "demo");
    assert.equal(await demoStatus(a.edgePort, demoDir), "200");
    assert.equal(await demoStatus(b.edgePort, demoDir), "200");
    assert.equal(await demoStatus(b.edgePort, demoDir, false), "403");
    await waitFor(async () => (await stat(join(b.dataDir, LAST_GOOD)).catch(() => undefined)) !== undefined);
    await assertSealed(a.dataDir);
    await assertSealed(b.dataDir);

    await revokeDemoCertificate(a.apiPort);
    const [onA, onB] = await Promise.all([
      timeUntil(a, demoDir, "403", 1000),
      timeUntil(b, demoDir, "403", 1000),
    ]);
    t.diagnostic(`revocation enforced after ${onA} ms on A (the writer), ${onB} ms on B`);
  } finally {
    await stopAll(nodes);
    await drop();
    await cleanup();
  }
});

/** A TCP proxy to PostgreSQL that the test can cut (every connection dropped, new ones refused) and restore. */
async function databaseProxy() {
  const target = new URL(POSTGRES_URL);
  const port = await freePort();
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  };
  const restore = () =>
    new Promise<void>((resolve, reject) => {
      const listening = net.createServer((client) => {
        const upstream = net.connect(Number(target.port || 5432), target.hostname);
        track(client);
        track(upstream);
        client.on("close", () => upstream.destroy());
        upstream.on("close", () => client.destroy());
        client.pipe(upstream).pipe(client);
      });
      listening.once("error", reject);
      listening.listen(port, "127.0.0.1", () => resolve());
      server = listening;
    });
  const cut = async () => {
    const closing = server;
    server = undefined;
    const closed = new Promise<void>((resolve) => (closing ? closing.close(() => resolve()) : resolve()));
    for (const socket of sockets) socket.destroy();
    await closed;
  };
  await restore();
  const url = new URL(POSTGRES_URL);
  url.hostname = "127.0.0.1";
  url.port = String(port);
  return { url: url.toString(), cut, restore };
}

test("database down: both nodes keep serving, a node restarts from its last good file, both catch up", {
  skip,
}, async (t: TestContext) => {
  const { schema, drop } = await temporarySchema();
  const { path: root, cleanup } = await tempDir();
  // One proxy per node: each loses and regains the database on its own.
  const proxyA = await databaseProxy();
  const proxyB = await databaseProxy();
  const nodes: (Node | undefined)[] = [];
  try {
    const start = cluster(schema, root);
    const a = await start("a", { databaseUrl: proxyA.url, demo: true });
    nodes.push(a);
    let b = await start("b", { databaseUrl: proxyB.url });
    nodes.push(b);
    const demoDir = join(a.dataDir, "demo");
    assert.equal(await demoStatus(a.edgePort, demoDir), "200");
    assert.equal(await demoStatus(b.edgePort, demoDir), "200");
    await waitFor(async () => (await stat(join(b.dataDir, LAST_GOOD)).catch(() => undefined)) !== undefined);

    await Promise.all([proxyA.cut(), proxyB.cut()]);
    // Long enough for the change feeds' polls and LISTEN connections to notice.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(await demoStatus(a.edgePort, demoDir), "200");
    assert.equal(await demoStatus(b.edgePort, demoDir), "200");
    const down = await apiClient(a.apiPort)("GET", "/zones");
    assert.equal(down.status, 503, JSON.stringify(down));

    // B restarts while the database is down: from its last good file, without its API.
    assert.equal(await b.process.stop(), 0);
    b = await start("b", { databaseUrl: proxyB.url, ports: { edgePort: b.edgePort, apiPort: b.apiPort } });
    nodes[1] = b;
    assert.match(b.process.output, /database is unreachable: the edge serves the last good config/);
    // Log lines are written in batches (at most 50 ms late): wait for this one rather than race it.
    await waitFor(async () =>
      /store unavailable; serving the last good config from .*last-good-edge/.test(b.process.output),
    );
    assert.equal(await demoStatus(b.edgePort, demoDir), "200");
    assert.equal(await demoStatus(b.edgePort, demoDir, false), "403", "still enforcing");
    await assert.rejects(fetch(`http://127.0.0.1:${b.apiPort}/client/v4/zones`), "no API yet");

    // A gets the database back; a revocation through A while B still cannot reach it.
    await proxyA.restore();
    await waitFor(async () => (await apiClient(a.apiPort)("GET", "/zones")).status === 200, 5000);
    await revokeDemoCertificate(a.apiPort);
    await timeUntil(a, demoDir, "403", 1000);
    assert.equal(await demoStatus(b.edgePort, demoDir), "200", "B cannot know yet");

    // B gets it back: it opens the store, starts its API and catches up on the change it missed.
    await proxyB.restore();
    const restored = Date.now();
    const caughtUp = await timeUntil(b, demoDir, "403", 5000);
    t.diagnostic(`restarted B enforced the revocation it missed ${caughtUp} ms after the database returned`);
    await waitFor(async () => b.process.output.includes("The database is reachable"), 5000);
    t.diagnostic(`B's API up ${Date.now() - restored} ms after the database returned`);
    assert.equal((await apiClient(b.apiPort)("GET", "/zones?name=localhost")).result.length, 1);

    // A node that stayed up (store open all along) misses a change too and catches up.
    await proxyB.cut();
    await new Promise((r) => setTimeout(r, 500));
    await reactivateDemoCertificate(a.apiPort);
    await timeUntil(a, demoDir, "200", 1000);
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(await demoStatus(b.edgePort, demoDir), "403", "B cannot know yet");
    await proxyB.restore();
    const back = await timeUntil(b, demoDir, "200", 5000);
    t.diagnostic(`B (running) enforced the reactivation it missed ${back} ms after the database returned`);
  } finally {
    await stopAll(nodes);
    await proxyA.cut();
    await proxyB.cut();
    await drop();
    await cleanup();
  }
});

test("no database and no last good config: one clear line, exit 1", async () => {
  const { path: dataDir, cleanup } = await tempDir();
  try {
    const closed = await freePort();
    const result = await portcullis(
      ["up", "--data", dataDir, "--database-url", `postgres://postgres@127.0.0.1:${closed}/test`],
      { timeoutMs: 30_000 },
    );
    assert.equal(result.code, 1, result.stderr);
    const lines = result.stderr.trim().split("\n");
    assert.equal(lines.length, 1, result.stderr);
    assert.match(
      lines[0] ?? "",
      /^portcullis up: .*unavailable.*no last good config \(.*last-good-edge\.json\.enc\)/,
    );
  } finally {
    await cleanup();
  }
});
