/**
 * How long the edge takes to load a config file (YAML, every certificate and CA file parsed and checked)
 * and compile its Snapshot (one SecureContext per distinct certificate/CA set):
 *   node bench/tools/build-time.ts portcullis.yaml
 * Prints one JSON line: {hosts, loadMs, compileMs, rebuildMs}. rebuildMs is a second compile of the same
 * config, as on a reload that changed nothing the contexts depend on (they are reused).
 */
import { loadEdgeConfig } from "../../src/config/load.ts";
import { compileSnapshot } from "../../src/snapshot/snapshot.ts";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: node bench/tools/build-time.ts CONFIG.yaml\n");
  process.exit(2);
}
let started = performance.now();
const config = await loadEdgeConfig(file);
const loadMs = performance.now() - started;
started = performance.now();
const first = compileSnapshot(config, new Map());
const compileMs = performance.now() - started;
started = performance.now();
const second = compileSnapshot(config, new Map(), first.caches);
const rebuildMs = performance.now() - started;
for (const pool of second.caches.origins.values()) await pool.dispatcher.close();
process.stdout.write(
  `${JSON.stringify({
    hosts: first.snapshot.hosts.length,
    loadMs: Math.round(loadMs),
    compileMs: Math.round(compileMs),
    rebuildMs: Math.round(rebuildMs),
  })}\n`,
);
