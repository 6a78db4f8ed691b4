/**
 * How long the edge takes to build its config and Snapshot from the store with N hostnames (default
 * 10,000) sharing one zone and one server certificate, trusting the zone's managed CA, or with
 * `--own-cas` each its own uploaded CA (N SecureContexts):
 *   node bench/snapshot-build.ts [N] [--own-cas] [--json]
 * `--json` prints one line {hostnames, readMs, compileMs} (the warm run) for `npm run bench` (scenario g).
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
import { makeCert } from "./lib/pki.ts";

const args = process.argv.slice(2);
const count = Number(args.find((a) => !a.startsWith("--")) ?? 10_000);
const ownCas = args.includes("--own-cas");
const json = args.includes("--json");
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
    if (!ownCas) {
      await tx.replaceHostnameAssociations(template.zoneId, null, [template.hostname, ...names]);
      return;
    }
    const zone = await tx.getZone(template.zoneId);
    if (!zone) throw new Error("the demo hostname has no zone");
    for (const hostname of names) {
      const ca = makeCert({ cn: `${hostname} client CA`, kind: "ec", ca: true });
      const id = newId();
      await tx.insertMtlsCertificate({
        id,
        accountId: zone.accountId,
        name: hostname,
        ca: true,
        certificates: ca.pem,
        hasPrivateKey: false,
        issuer: `CN=${hostname} client CA`,
        serialNumber: ca.serial.toString("hex"),
        signature: "ECDSA-SHA256",
        expiresOn: timestamp(),
        uploadedOn: timestamp(),
        updatedAt: timestamp(),
      });
      await tx.replaceHostnameAssociations(template.zoneId, id, [hostname]);
    }
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
    if (!json) {
      process.stdout.write(
        `${run}: ${snapshot.hosts.length} hostnames: read from the store ${readMs.toFixed(0)} ms, compile ${compileMs.toFixed(0)} ms\n`,
      );
    } else if (run === "warm") {
      const result = {
        hostnames: snapshot.hosts.length,
        readMs: Math.round(readMs),
        compileMs: Math.round(compileMs),
      };
      process.stdout.write(`${JSON.stringify(result)}\n`);
    }
    for (const pool of caches.origins.values()) await pool.dispatcher.close();
  }
} finally {
  await demo.stopOrigin();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
