/** An internal failure is a 500 with a generic message (no details leak) and one log line. */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { test } from "node:test";
import pino from "pino";
import { buildApi } from "../../src/control/app.ts";
import { ensureBootstrapToken } from "../../src/control/tokens.ts";
import { type Store, StoreError } from "../../src/store/types.ts";
import { openTestStore } from "./helpers.ts";

test("an unexpected error is a generic 500 and a log line; a store outage is a 503", async () => {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-500-"));
  const store = await openTestStore(dir);
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(String(chunk));
      done();
    },
  });
  // The real store, with one read made to fail the way a bug or an outage would.
  let failure: Error = new Error("secret internal detail");
  const failing = new Proxy(store, {
    get(target, key, receiver) {
      if (key === "listAccounts") return async () => Promise.reject(failure);
      const value = Reflect.get(target, key, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  }) as Store;
  const token = (await ensureBootstrapToken(store)) as string;
  const app = buildApi({ store: failing, logger: pino({ level: "error" }, sink) });
  try {
    const headers = { authorization: `Bearer ${token}` };
    const reply = await app.inject({ method: "GET", url: "/client/v4/accounts", headers });
    assert.equal(reply.statusCode, 500);
    assert.deepEqual(reply.json().errors, [{ code: 10001, message: "Internal server error" }]);
    assert.ok(!reply.body.includes("secret internal detail"));
    assert.ok(
      lines.some((line) => line.includes("secret internal detail")),
      "the log has the cause",
    );

    failure = new StoreError("unavailable", "database is locked");
    const outage = await app.inject({ method: "GET", url: "/client/v4/accounts", headers });
    assert.equal(outage.statusCode, 503);
    assert.equal(outage.json().success, false);
  } finally {
    await app.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
});
