/**
 * The API under stress, through the real `portcullis up` process on its embedded store: 200 concurrent
 * writers lose and duplicate nothing; a SIGKILL in the middle of writes leaves a consistent store (every
 * acknowledged write is there, and every record has its audit entry and no audit entry lacks its record).
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { test } from "node:test";
import { freePort } from "../helpers/openssl-server.ts";
import { PORTCULLIS_BIN, tempDir } from "../helpers/run.ts";

const TOKEN = "pct_reliability_admin_token_0123456789";

interface Api {
  child: ChildProcess;
  call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }>;
}

async function startUp(dataDir: string, apiPort: number, edgePort: number): Promise<Api> {
  const child = spawn(
    PORTCULLIS_BIN,
    ["up", "--data", dataDir, "--api", `127.0.0.1:${apiPort}`, "--edge", `127.0.0.1:${edgePort}`],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, PORTCULLIS_ADMIN_TOKEN: TOKEN } },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const since = Date.now();
  while (!output.includes("Ctrl-C stops")) {
    if (child.exitCode !== null || Date.now() - since > 30_000)
      throw new Error(`up did not start: ${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    async call(method, path, body) {
      const res = await fetch(`http://127.0.0.1:${apiPort}/client/v4${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body ? { "content-type": "application/json" } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    },
  };
}

async function stop(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill(signal);
  await exited;
}

/** Every account with its `account.create` audit entry, and no entry without its account. */
async function assertConsistent(api: Api): Promise<string[]> {
  const accounts = (await api.call("GET", "/accounts?per_page=1000")).json.result as { id: string }[];
  const audit = (await api.call("GET", "/audit_logs?action=account.create&per_page=1000")).json.result as {
    resource: string;
  }[];
  const audited = audit.map((entry) => entry.resource.replace("accounts/", "")).sort();
  const ids = accounts.map((account) => account.id).sort();
  assert.deepEqual(audited, ids, "every account has exactly one audit entry, and the other way round");
  return ids;
}

test("200 concurrent writers: none lost, none duplicated; SIGKILL mid-write leaves the store consistent", async (t) => {
  const { path: dir, cleanup } = await tempDir();
  const apiPort = await freePort();
  const edgePort = await freePort();
  let api = await startUp(dir, apiPort, edgePort);
  try {
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => api.call("POST", "/accounts", { name: `tenant-${i}` })),
    );
    assert.deepEqual(
      results.filter((r) => r.status !== 200).map((r) => r.json),
      [],
    );
    const created = results.map((r) => (r.json.result as { id: string }).id);
    assert.equal(new Set(created).size, 200);
    const ids = await assertConsistent(api);
    for (const id of created) assert.ok(ids.includes(id));

    // Writes in flight when the process is killed: every acknowledged one survives, nothing is half-made.
    const acknowledged: string[] = [];
    const writers = Array.from({ length: 400 }, (_, i) =>
      api
        .call("POST", "/accounts", { name: `killed-${i}` })
        .then((r) => {
          if (r.status === 200) acknowledged.push((r.json.result as { id: string }).id);
        })
        .catch(() => {}),
    );
    await new Promise((r) => setTimeout(r, 150));
    await stop(api.child, "SIGKILL");
    await Promise.all(writers);
    api = await startUp(dir, apiPort, edgePort);
    const after = await assertConsistent(api);
    t.diagnostic(
      `killed with ${acknowledged.length} of 400 writes acknowledged; ${after.length - 200} stored`,
    );
    assert.ok(acknowledged.length < 400, "the kill landed while writes were still in flight");
    for (const id of [...created, ...acknowledged])
      assert.ok(after.includes(id), `acknowledged account ${id} survived`);
  } finally {
    await stop(api.child, "SIGTERM");
    await cleanup();
  }
});
