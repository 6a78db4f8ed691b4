/**
 * The functions runtime on the real workerd binary: bindings reach `env` exactly, a changed function
 * starts beside the old one (requests in flight finish on the old one), a killed process comes back.
 */
import assert from "node:assert/strict";
import { readdirSync, readlinkSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { pino } from "pino";
import { FunctionsRuntime } from "../../src/functions/runtime.ts";
import type { FunctionScript, FunctionsConfig } from "../../src/functions/types.ts";
import { waitFor } from "../helpers/up.ts";

function script(source: string, bindings: FunctionScript["bindings"] = []): FunctionScript {
  return {
    key: "acct/fn",
    name: "fn",
    mainModule: "worker.js",
    source,
    compatibilityDate: "2025-01-01",
    compatibilityFlags: [],
    cpuMs: 5000,
    bindings,
  };
}

const config = (s: FunctionScript): FunctionsConfig => ({ scripts: [s], routes: [], timeoutMs: 5000 });

/** The pid of the workerd whose working directory is under `dir`. */
function workerdPids(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`).startsWith(dir)) pids.push(Number(entry));
    } catch {
      // gone, or not ours
    }
  }
  return pids;
}

test("stop() ends every workerd, those still draining after a deploy included", async () => {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-runtime-"));
  const runtime = new FunctionsRuntime({
    logger: pino({ level: "silent" }),
    dir: join(dir, "functions"),
    outbound: { allow: ["public"], trustedCasPem: [] },
    drainMs: 60_000,
  });
  try {
    await runtime.ensure(config(script("export default { fetch() { return new Response('1'); } };")));
    const endpoints = await runtime.ensure(
      config(script("export default { fetch() { return new Response('2'); } };")),
    );
    runtime.applied(endpoints);
    assert.equal(workerdPids(dir).length, 2, "the old one drains");
    await runtime.stop();
    assert.deepEqual(workerdPids(dir), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

describe("functions runtime (workerd)", () => {
  let dir: string;
  let runtime: FunctionsRuntime;
  const changes: string[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "portcullis-runtime-"));
    runtime = new FunctionsRuntime({
      logger: pino({ level: "silent" }),
      dir: join(dir, "functions"),
      outbound: { allow: ["public"], trustedCasPem: [] },
      drainMs: 200,
    });
    runtime.onChange((why) => changes.push(why));
  });
  after(async () => {
    await runtime.stop();
    assert.deepEqual(workerdPids(dir), [], "every workerd stopped");
    await rm(dir, { recursive: true, force: true });
  });

  test("text and JSON bindings reach env exactly (quotes, backslashes, control characters, UTF-8)", async () => {
    const tricky = 'a "quoted" \\ back\nslash\ttab \u0001 é ✓ 😀';
    const endpoints = await runtime.ensure(
      config(
        script("export default { fetch(r, env) { return Response.json({ t: env.T, j: env.J }); } };", [
          { type: "text", name: "T", text: tricky },
          { type: "json", name: "J", json: JSON.stringify({ tricky, n: [1, 2] }) },
        ]),
      ),
    );
    const body = (await (await fetch(endpoints["acct/fn"] as string)).json()) as { t: string; j: unknown };
    assert.equal(body.t, tricky);
    assert.deepEqual(body.j, { tricky, n: [1, 2] });
  });

  test("a changed function starts beside the old one: a request in flight finishes on the old version", async () => {
    const slow = (version: string) =>
      script(
        `export default { async fetch() { await new Promise((r) => setTimeout(r, 700)); return new Response("${version}"); } };`,
      );
    const first = (await runtime.ensure(config(slow("v1"))))["acct/fn"] as string;
    const inFlight = fetch(first).then((r) => r.text());
    await new Promise((r) => setTimeout(r, 100));
    const second = (await runtime.ensure(config(slow("v2"))))["acct/fn"] as string;
    assert.notEqual(second, first);
    runtime.applied({ "acct/fn": second });
    assert.equal(await inFlight, "v1");
    assert.equal(await (await fetch(second)).text(), "v2");
    // The old process is stopped once drained.
    await waitFor(async () => {
      try {
        await fetch(first, { signal: AbortSignal.timeout(500) });
        return false;
      } catch {
        return true;
      }
    });
  });

  test("a workerd that dies is restarted, on new ports, and the edge is told to reload", async () => {
    const endpoints = await runtime.ensure(
      config(script("export default { fetch() { return new Response('alive'); } };")),
    );
    const before = endpoints["acct/fn"] as string;
    const pids = workerdPids(join(dir, "functions"));
    assert.ok(pids.length >= 1);
    changes.length = 0;
    for (const pid of pids) process.kill(pid, "SIGKILL");
    await waitFor(async () => changes.length > 0, 10_000);
    assert.match(changes[0] as string, /function fn restarted/);
    const after = runtime.endpoints()["acct/fn"] as string;
    assert.notEqual(after, before);
    assert.equal(await (await fetch(after)).text(), "alive");
  });
});
