/**
 * How long the edge takes to build its config and Snapshot from the store with N hostnames (default
 * 10,000) sharing one zone, its managed CA and one server certificate:
 *   node bench/snapshot-build.ts [N]
 * (The full side-by-side benchmark against nginx is issue 6's `npm run bench`.)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CRL_REFRESH_MS, DEFAULT_LIMITS } from "../src/config/defaults.ts";
import { type EdgeBase, edgeConfigFromStore } from "../src/snapshot/from-store.ts";
import { compileSnapshot } from "../src/snapshot/snapshot.ts";
import { newId, timestamp } from "../src/store/ids.ts";
import { openStore } from "../src/store/index.ts";
import { startDemo } from "../src/up/demo.ts";

const count = Number(process.argv[2] ?? 10_000);
const dir = await mkdtemp(join(tmpdir(), "portcullis-bench-"));
const store = await openStore({ dataDir: dir });
const demo = await startDemo(store, dir);
try {
  const template = (await store.listHostnames())[0];
  if (!template) throw new Error("the demo has no hostname");
  const names = Array.from({ length: count }, (_, i) => `h${i}.localhost`);
  await store.transaction(async (tx) => {
    for (const hostname of names) {
      await tx.putHostname({
        ...template,
        id: newId(),
        hostname,
        isDefault: false,
        createdAt: timestamp(),
        updatedAt: timestamp(),
      });
    }
    await tx.replaceHostnameAssociations(template.zoneId, null, [template.hostname, ...names]);
  });
  const base: EdgeBase = {
    listen: { https: { host: "127.0.0.1", port: 0 } },
    dataDir: dir,
    log: { level: "silent" },
    crlRefreshIntervalMs: DEFAULT_CRL_REFRESH_MS,
    limits: DEFAULT_LIMITS,
  };
  for (const run of ["cold", "warm"]) {
    let started = performance.now();
    const config = await edgeConfigFromStore(store, base);
    const readMs = performance.now() - started;
    started = performance.now();
    const { snapshot, caches } = compileSnapshot(config, new Map());
    const compileMs = performance.now() - started;
    process.stdout.write(
      `${run}: ${snapshot.hosts.length} hostnames: read from the store ${readMs.toFixed(0)} ms, compile ${compileMs.toFixed(0)} ms\n`,
    );
    for (const pool of caches.origins.values()) await pool.dispatcher.close();
  }
} finally {
  await demo.stopOrigin();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
