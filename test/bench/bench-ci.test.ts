/**
 * The benchmark harness never rots: `npm run bench:ci` (a few seconds per scenario, small counts, no
 * thresholds) runs against real nginx and the real edge, and writes its table with every row measured.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

/** Rows with no nginx equivalent: the store build, the rule evaluation, (h) firewall and (i) functions. */
const PORTCULLIS_ONLY = new Set(["g.store", "rules.1", "rules.10", "rules.100"]);
const portcullisOnly = (id: string) => PORTCULLIS_ONLY.has(id) || id.startsWith("h.") || id.startsWith("i.");

test("npm run bench:ci runs every scenario and writes the table", {
  skip: missingPeer("nginx", "ab", "taskset"),
  timeout: 180_000,
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const result = await run(process.execPath, ["bench/run.ts", "--ci", "--results", dir], {
      cwd: join(import.meta.dirname, "../.."),
      timeoutMs: 170_000,
    });
    assert.equal(result.code, 0, `bench:ci failed: ${result.stderr}`);
    const json = JSON.parse(await readFile(join(dir, "ci-latest.json"), "utf8")) as {
      rows: { id: string; nginx: number | null; portcullis: number | null }[];
      notes: string[];
    };
    const ids = json.rows.map((row) => row.id);
    for (const scenario of ["a.", "b.", "c.", "d.", "e.", "f.", "g.", "h.", "i."]) {
      assert.ok(
        ids.some((id) => id.startsWith(scenario)),
        `no row for ${scenario}: ${ids.join(" ")}`,
      );
    }
    const failed = json.notes.filter((note) => note.includes("failed:"));
    assert.deepEqual(failed, [], "a scenario failed");
    for (const row of json.rows) {
      if (row.id.startsWith("rules.") && row.portcullis === null) continue; // rules bench not there (yet)
      assert.equal(typeof row.portcullis, "number", `row ${row.id} has no Portcullis value`);
      if (!portcullisOnly(row.id))
        assert.equal(typeof row.nginx, "number", `row ${row.id} has no nginx value`);
    }
    const markdown = await readFile(join(dir, "ci-latest.md"), "utf8");
    assert.match(markdown, /\| metric \| unit \| nginx \| Portcullis \| ratio \| target \| result \|/);
    assert.equal(
      markdown.split("\n").filter((line) => /^\| \((a|b|c|d|e|f|g|h|i)\)/.test(line)).length,
      json.rows.filter((r) => !r.id.startsWith("rules.")).length,
    );
    assert.match(result.stdout, /full mTLS handshakes\/s, ECDSA P-256/);
  } finally {
    await cleanup();
  }
});
