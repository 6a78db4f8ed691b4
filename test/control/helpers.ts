/**
 * Shared test setup: a real store in a temp dir, the API listening on a random port, a small HTTP
 * client returning status and parsed envelope, and openssl-made certificates.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildApi } from "../../src/control/app.ts";
import { ensureBootstrapToken } from "../../src/control/tokens.ts";
import type { EventLog } from "../../src/events/log.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store } from "../../src/store/types.ts";
import { makeCa, makeClientCert } from "../helpers/openssl-pki.ts";
import { POSTGRES_URL, temporarySchema } from "../helpers/postgres.ts";

/**
 * A real store with a fresh secret key: the embedded SQLite in `dir`, or, with
 * PORTCULLIS_TEST_API_STORE=postgres (`npm run test:api-postgres`), PostgreSQL in a schema of its own.
 */
export async function openTestStore(dir: string): Promise<Store> {
  if (process.env.PORTCULLIS_TEST_API_STORE !== "postgres") {
    return openStore({ dataDir: dir, secretKey: randomBytes(32) });
  }
  const { schema, drop } = await temporarySchema();
  const store = await openStore({
    dataDir: dir,
    secretKey: randomBytes(32),
    databaseUrl: POSTGRES_URL,
    schema,
  });
  const close = store.close.bind(store);
  // The schema goes with the store.
  return Object.assign(store, {
    close: async () => {
      await close();
      await drop();
    },
  });
}

export interface Envelope {
  success: boolean;
  errors: { code: number; message: string }[];
  messages: unknown[];
  result: unknown;
  result_info?: { page: number; per_page: number; count: number; total_count: number };
}

export interface Reply {
  status: number;
  body: Envelope;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary result fields
  result: any;
}

export interface Harness {
  dir: string;
  store: Store;
  url: string;
  adminToken: string;
  call(
    method: string,
    path: string,
    options?: { token?: string | null; body?: unknown; raw?: string; headers?: Record<string, string> },
  ): Promise<Reply>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { caQuota?: number; bodyLimit?: number; events?: EventLog } = {},
): Promise<Harness> {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-control-"));
  const store = await openTestStore(dir);
  const adminToken = (await ensureBootstrapToken(store)) as string;
  const app = buildApi({ store, ...options });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  assert(address && typeof address === "object");
  const url = `http://127.0.0.1:${address.port}`;
  return {
    dir,
    store,
    url,
    adminToken,
    async call(method, path, callOptions = {}) {
      const token = callOptions.token === undefined ? adminToken : callOptions.token;
      const headers: Record<string, string> = { ...callOptions.headers };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      let payload: string | undefined = callOptions.raw;
      if (callOptions.body !== undefined) payload = JSON.stringify(callOptions.body);
      if (payload !== undefined) headers["content-type"] ??= "application/json";
      const response = await fetch(`${url}/client/v4${path}`, { method, headers, body: payload });
      const text = await response.text();
      let body: Envelope;
      try {
        body = JSON.parse(text) as Envelope;
      } catch {
        assert.fail(`${method} ${path}: not JSON (${response.status}): ${text.slice(0, 200)}`);
      }
      return { status: response.status, body, result: body.result };
    },
    async close() {
      await app.close();
      await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Asserts a failed envelope with this status whose first error message matches. */
export function assertError(reply: Reply, status: number, message?: RegExp | string): void {
  assert.equal(reply.status, status, JSON.stringify(reply.body));
  assert.equal(reply.body.success, false);
  assert.deepEqual(reply.body.messages, []);
  assert.equal(reply.body.result, null);
  assert.ok(reply.body.errors.length >= 1);
  for (const error of reply.body.errors) {
    assert.equal(typeof error.code, "number");
    assert.equal(typeof error.message, "string");
  }
  if (message !== undefined) {
    const text = reply.body.errors[0]?.message ?? "";
    if (typeof message === "string") assert.equal(text, message);
    else assert.match(text, message);
  }
}

export function assertOk(reply: Reply): void {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  assert.equal(reply.body.success, true);
  assert.deepEqual(reply.body.errors, []);
  assert.deepEqual(reply.body.messages, []);
}

export async function createAccountAndZone(h: Harness, zoneName = "example.test") {
  const account = await h.call("POST", "/accounts", { body: { name: "acme" } });
  assertOk(account);
  const zone = await h.call("POST", "/zones", {
    body: { name: zoneName, account: { id: account.result.id } },
  });
  assertOk(zone);
  return { accountId: account.result.id as string, zoneId: zone.result.id as string };
}

export interface Pki {
  caPem: string;
  caKeyPem: string;
  intermediatePem: string;
  leafPem: string;
  leafKeyPem: string;
  otherKeyPem: string;
}

/** openssl: root CA, an intermediate under it, a client leaf under the intermediate, an unrelated key. */
export async function makePki(dir: string): Promise<Pki> {
  const root = await makeCa(dir, "root");
  const intermediate = await makeCa(dir, "intermediate", { issuer: "root" });
  const leaf = await makeClientCert(dir, "leaf", { issuer: "intermediate" });
  const other = await makeClientCert(dir, "other", { issuer: "root" });
  const read = (path: string) => readFile(path, "utf8");
  return {
    caPem: await read(root.certPath),
    caKeyPem: await read(root.keyPath),
    intermediatePem: await read(intermediate.certPath),
    leafPem: await read(leaf.certPath),
    leafKeyPem: await read(leaf.keyPath),
    otherKeyPem: await read(other.keyPath),
  };
}
