/**
 * The API and the edge under stress, through the real `portcullis up` process on its embedded store:
 * 200 concurrent writers lose and duplicate nothing; a SIGKILL in the middle of writes leaves a consistent
 * store (every acknowledged write is there, every record has its audit entry and the other way round);
 * a config write every 100 ms while clients hammer the edge fails none of their requests.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import https from "node:https";
import { join } from "node:path";
import { test } from "node:test";
import { freePort } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";
import { apiClient, listen, type Started, startUp, upDemo } from "../helpers/up.ts";

type Api = ReturnType<typeof apiClient>;

/** Every account with its `account.create` audit entry, and no entry without its account. */
async function assertConsistent(api: Api): Promise<string[]> {
  const accounts = (await api("GET", "/accounts?per_page=1000")).result as unknown as { id: string }[];
  const audit = (await api("GET", "/audit_logs?action=account.create&per_page=1000")).result as unknown as {
    resource: string;
  }[];
  const audited = audit.map((entry) => entry.resource.replace("accounts/", "")).sort();
  const ids = accounts.map((account) => account.id).sort();
  assert.deepEqual(audited, ids, "every account has exactly one audit entry, and the other way round");
  return ids;
}

test("200 concurrent writers: none lost, none duplicated; SIGKILL mid-write leaves the store consistent", async (t) => {
  const { path: dir, cleanup } = await tempDir();
  const ports = listen(await freePort(), await freePort());
  const api = apiClient(Number(ports[3]?.split(":")[1]));
  let up: Started | undefined;
  try {
    up = await startUp(["--data", dir, ...ports]);
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api("POST", "/accounts", { name: `tenant-${i}` })),
    );
    assert.deepEqual(
      results.filter((r) => r.status !== 200),
      [],
    );
    const created = results.map((r) => (r.result as unknown as { id: string }).id);
    assert.equal(new Set(created).size, 200);
    const ids = await assertConsistent(api);
    for (const id of created) assert.ok(ids.includes(id));

    // Writes in flight when the process is killed: every acknowledged one survives, nothing is half-made.
    const acknowledged: string[] = [];
    const writers = Array.from({ length: 400 }, (_, i) =>
      api("POST", "/accounts", { name: `killed-${i}` })
        .then((r) => {
          if (r.status === 200) acknowledged.push((r.result as unknown as { id: string }).id);
        })
        .catch(() => {}),
    );
    await new Promise((r) => setTimeout(r, 150));
    await up.kill();
    await Promise.all(writers);
    up = await startUp(["--data", dir, ...ports]);
    const after = await assertConsistent(api);
    t.diagnostic(
      `killed with ${acknowledged.length} of 400 writes acknowledged; ${after.length - 200} stored`,
    );
    assert.ok(acknowledged.length < 400, "the kill landed while writes were still in flight");
    for (const id of [...created, ...acknowledged])
      assert.ok(after.includes(id), `acknowledged account ${id} survived`);
  } finally {
    await up?.stop();
    await cleanup();
  }
});

test("a config write every 100 ms under load: no failed request", {
  skip: missingPeer("curl"),
}, async (t) => {
  const { path: dir, cleanup } = await tempDir();
  const edgePort = await freePort();
  const apiPort = await freePort();
  const api = apiClient(apiPort);
  let up: Started | undefined;
  try {
    up = await upDemo(dir, edgePort, apiPort);
    const demo = join(dir, "demo");
    const agent = new https.Agent({
      keepAlive: true,
      ca: await readFile(join(demo, "server-ca.pem")),
      cert: await readFile(join(demo, "client.pem")),
      key: await readFile(join(demo, "client-key.pem")),
    });
    const get = () =>
      new Promise<number>((resolve) => {
        const req = https.get(
          {
            host: "127.0.0.1",
            port: edgePort,
            servername: "app.localhost",
            headers: { host: "app.localhost" },
            agent,
          },
          (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode ?? 0));
          },
        );
        req.on("error", () => resolve(-1));
      });
    const statuses: number[] = [];
    let running = true;
    const clients = Array.from({ length: 8 }, async () => {
      while (running) statuses.push(await get());
    });
    let writes = 0;
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      const write = await api("POST", "/accounts", { name: `churn-${writes}` });
      assert.equal(write.status, 200);
      writes++;
      await new Promise((r) => setTimeout(r, 100));
    }
    running = false;
    await Promise.all(clients);
    agent.destroy();
    const failed = statuses.filter((status) => status !== 200);
    t.diagnostic(`${statuses.length} requests during ${writes} config writes`);
    assert.ok(writes >= 20 && statuses.length > 100, `${writes} writes, ${statuses.length} requests`);
    assert.deepEqual(failed, [], "no request failed while the config changed");
  } finally {
    await up?.stop();
    await cleanup();
  }
});
