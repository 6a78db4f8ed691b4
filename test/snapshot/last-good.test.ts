import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import type { EdgeConfig } from "../../src/config/types.ts";
import type { EdgeConfigSource } from "../../src/edge/supervisor.ts";
import type { EdgeBase } from "../../src/snapshot/from-store.ts";
import { LAST_GOOD_FILE, LastGoodConfig, LastGoodFallbackSource } from "../../src/snapshot/last-good.ts";
import { StoreError } from "../../src/store/types.ts";
import { edgeBase } from "../../src/up/index.ts";
import { tempDir } from "../helpers/run.ts";

const KEY_PEM =
  "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n";

function base(port: number): EdgeBase {
  return edgeBase({ edge: { host: "127.0.0.1", port }, dataDir: "/data", logLevel: "warn" });
}

function config(hostname: string): EdgeConfig {
  return {
    ...base(8443),
    file: "store",
    hosts: [
      {
        hostname,
        isDefault: true,
        tls: [{ certPem: "CERT", keyPem: KEY_PEM, certFile: "store:x", keyFile: "store:x" }],
        mtls: {
          mode: "enforce",
          trustedCasPem: [],
          crls: [],
          staleCrl: "deny",
          maxChainDepth: 4,
          paths: [],
          ocsp: { enabled: false, timeoutMs: 2000 },
          revoked: [{ issuerFingerprint256: "AB", serials: ["01"] }],
        },
        origin: { url: "http://127.0.0.1:1", connectTimeoutMs: 1, responseTimeoutMs: 1, bodyTimeoutMs: 1 },
        forward: [{ format: "cloudflare" }],
      },
    ],
  };
}

/** A store-like source whose next answers the test decides. */
function scriptedSource(answers: (() => Promise<EdgeConfig>)[]): EdgeConfigSource & { loads: number } {
  const source = {
    name: "store",
    loads: 0,
    load() {
      const answer = answers[Math.min(source.loads, answers.length - 1)];
      source.loads++;
      return (answer as () => Promise<EdgeConfig>)();
    },
    watch: () => () => {},
  };
  return source;
}

const unavailable = () => Promise.reject(new StoreError("unavailable", "the database is unavailable"));

test("the last good config: sealed (no key, no hostname in the clear), 0600, read back as written", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const key = randomBytes(32);
    const file = new LastGoodConfig(path, key);
    assert.equal(await file.read(), undefined, "no file yet");
    await file.save(config("secret.example.test"));
    const text = await readFile(join(path, LAST_GOOD_FILE), "utf8");
    assert.doesNotMatch(text, /PRIVATE KEY|secret\.example\.test/);
    assert.equal((await stat(join(path, LAST_GOOD_FILE))).mode & 0o777, 0o600);
    assert.deepEqual(await new LastGoodConfig(path, key).read(), config("secret.example.test"));

    await assert.rejects(new LastGoodConfig(path, randomBytes(32)).read(), (err: StoreError) => {
      assert.equal(err.code, "invalid");
      assert.match(err.message, /cannot decrypt the last good config/);
      return true;
    });
    const sealed = JSON.parse(text);
    sealed.ciphertext = Buffer.from(sealed.ciphertext, "base64").reverse().toString("base64");
    await writeFile(join(path, LAST_GOOD_FILE), JSON.stringify(sealed));
    await assert.rejects(new LastGoodConfig(path, key).read(), /cannot decrypt/);
  } finally {
    await cleanup();
  }
});

test("fallback: the store when it answers; the last good file (with this node's base) when it is unavailable", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const lastGood = new LastGoodConfig(path, randomBytes(32));
    const warnings: string[] = [];
    const options = { lastGood, base: base(9443), warn: (m: string) => warnings.push(m) };

    // No store yet and no file: unavailable, saying which file is missing.
    await assert.rejects(new LastGoodFallbackSource(options).load(), (err: StoreError) => {
      assert.equal(err.code, "unavailable");
      assert.match(err.message, new RegExp(LAST_GOOD_FILE));
      return true;
    });

    await lastGood.save(config("cached.test"));
    const fresh = config("fresh.test");
    const store = scriptedSource([unavailable, unavailable, () => Promise.resolve(fresh)]);
    const source = new LastGoodFallbackSource(options, store);
    const first = await source.load();
    assert.equal(first.hosts[0]?.hostname, "cached.test");
    assert.equal(first.listen.https.port, 9443, "this node's listen address, not the file's");
    assert.equal(first.file, lastGood.path);
    await source.load();
    assert.deepEqual(warnings, [`store unavailable; serving the last good config from ${lastGood.path}`]);
    assert.equal((await source.load()).hosts[0]?.hostname, "fresh.test");

    // A store that answers but refuses is not an outage: its error goes through.
    const broken = new LastGoodFallbackSource(
      options,
      scriptedSource([() => Promise.reject(new StoreError("invalid", "cannot decrypt"))]),
    );
    await assert.rejects(broken.load(), /cannot decrypt/);
  } finally {
    await cleanup();
  }
});

test("fallback: after an outage it tries the store every second and reloads once it answers", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const lastGood = new LastGoodConfig(path, randomBytes(32));
    await lastGood.save(config("cached.test"));
    const store = scriptedSource([unavailable, unavailable, () => Promise.resolve(config("fresh.test"))]);
    const source = new LastGoodFallbackSource({ lastGood, base: base(8443), warn: () => {} }, store);
    const reasons: string[] = [];
    const stop = source.watch((why) => reasons.push(why));
    try {
      assert.equal((await source.load()).hosts[0]?.hostname, "cached.test");
      const since = Date.now();
      while (reasons.length === 0) {
        assert.ok(Date.now() - since < 5000, "no reload after the store came back");
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.deepEqual(reasons, ["store available again"]);
      assert.equal(store.loads, 3, "one failed retry, then the one that answered");
      assert.equal((await source.load()).hosts[0]?.hostname, "fresh.test", "the reload gets what it found");
    } finally {
      stop();
    }
  } finally {
    await cleanup();
  }
});

test("use(): switching to the store reloads from it", async () => {
  const { path, cleanup } = await tempDir();
  try {
    const lastGood = new LastGoodConfig(path, randomBytes(32));
    await lastGood.save(config("cached.test"));
    const source = new LastGoodFallbackSource({ lastGood, base: base(8443), warn: () => {} });
    const reasons: string[] = [];
    const stop = source.watch((why) => reasons.push(why));
    assert.equal((await source.load()).hosts[0]?.hostname, "cached.test");
    source.use(scriptedSource([() => Promise.resolve(config("fresh.test"))]));
    assert.deepEqual(reasons, ["store available"]);
    assert.equal((await source.load()).hosts[0]?.hostname, "fresh.test");
    stop();
  } finally {
    await cleanup();
  }
});
