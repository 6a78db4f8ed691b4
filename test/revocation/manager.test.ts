import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { readFile, rename, stat, writeFile } from "node:fs/promises";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, afterEach, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { CrlSource, HostConfig } from "../../src/config/types.ts";
import { CrlManager, type CrlStatus, RevocationError } from "../../src/revocation/index.ts";
import { makeCa } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";
import { type OpensslCrl, opensslGencrl } from "./crl-fixtures.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

let dir: { path: string; cleanup: () => Promise<void> };
const at = (name: string) => join(dir.path, name);
let caPem: string;
let otherCaPem: string;
let crlCounter = 0;

type SourceSpec = { kind: "file"; path: string } | { kind: "url"; url: string };

/** A host of EdgeConfig.hosts with these trusted CAs and CRL sources (fields as the config loader names them). */
function host(index: number, trustedCasPem: string[], sources: SourceSpec[]): HostConfig {
  const crls = sources.map(
    (source, i) => ({ ...source, field: `hostnames[${index}].mtls.crls[${i}]` }) as CrlSource,
  );
  return {
    hostname: `h${index}.example.test`,
    isDefault: index === 0,
    tls: [],
    mtls: {
      mode: "enforce",
      trustedCasPem,
      crls,
      staleCrl: "deny",
      maxChainDepth: 2,
      paths: [],
      ocsp: { enabled: false, timeoutMs: 1000 },
    },
    origin: {
      url: "http://127.0.0.1:1",
      connectTimeoutMs: 1000,
      responseTimeoutMs: 1000,
      bodyTimeoutMs: 1000,
    },
    forward: [],
  };
}

/** A CRL by `ca` revoking `serials`, with CRL Number `crlNumber`. */
function gencrl(serials: bigint[], crlNumber: bigint, ca = "ca"): Promise<OpensslCrl> {
  return opensslGencrl(
    dir.path,
    ca,
    `crl-${++crlCounter}`,
    serials.map((serial) => ({ serial })),
    { crlNumber },
  );
}

/** A CRL server: serves `body` with an ETag, answers If-None-Match with 304, records each request. */
class CrlServer {
  body: Buffer | string = "";
  status = 200;
  requests: IncomingHttpHeaders[] = [];
  readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      this.requests.push(req.headers);
      const etag = `"${createHash("sha256").update(this.body).digest("hex").slice(0, 16)}"`;
      if (this.status !== 200) {
        res.writeHead(this.status).end("nope");
      } else if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag }).end();
      } else {
        res.writeHead(200, { "content-type": "application/pkix-crl", etag }).end(this.body);
      }
    });
  }

  async listen(): Promise<string> {
    this.server.listen(0, "127.0.0.1");
    await once(this.server, "listening");
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/ca.crl`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const cleanups: (() => Promise<void>)[] = [];
function manager(options: Partial<ConstructorParameters<typeof CrlManager>[0]> = {}): CrlManager {
  const m = new CrlManager({
    dataDir: at("data"),
    refreshIntervalMs: 60_000,
    fetchTimeoutMs: 5000,
    ...options,
  });
  cleanups.push(() => m.stop());
  return m;
}
async function server(): Promise<{ crlServer: CrlServer; url: string }> {
  const crlServer = new CrlServer();
  const url = await crlServer.listen();
  cleanups.push(() => crlServer.close());
  return { crlServer, url };
}

function okStatus(status: CrlStatus | undefined): Extract<CrlStatus, { ok: true }> {
  assert.ok(status, "no status");
  assert.ok(status.ok, `not ok: ${status.ok ? "" : status.error}`);
  return status;
}

/** Resolves on the next "change", or fails after `ms`. */
function nextChange(m: CrlManager, ms = 3000): Promise<unknown[]> {
  return once(m, "change", { signal: AbortSignal.timeout(ms) });
}

async function until(condition: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(20);
  }
}

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  await makeCa(dir.path, "ca", { key: "p256", subject: "/O=Portcullis Test/CN=Manager CA" });
  await makeCa(dir.path, "other", { key: "p256", subject: "/CN=Other CA" });
  caPem = await readFile(at("ca.pem"), "utf8");
  otherCaPem = await readFile(at("other.pem"), "utf8");
});

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

after(async () => {
  await dir?.cleanup();
});

test(
  "file sources, PEM and DER, load and verify; a source two hosts list loads once",
  needsOpenssl,
  async () => {
    const crl = await gencrl([0x0an, 2n ** 127n + 1n], 7n);
    const m = manager();
    await m.load([
      host(0, [otherCaPem, caPem], [{ kind: "file", path: crl.pemPath }]),
      host(
        1,
        [caPem],
        [
          { kind: "file", path: crl.derPath },
          { kind: "file", path: crl.pemPath },
        ],
      ),
    ]);
    const status = m.status();
    assert.deepEqual([...status.keys()], [`file:${crl.pemPath}`, `file:${crl.derPath}`]);
    for (const entry of status.values()) {
      const { crl: info } = okStatus(entry);
      assert.deepEqual(info.serials, new Set(["A", "80000000000000000000000000000001"]));
      assert.equal(info.crlNumber, "7");
      assert.equal(info.fromCache, false);
      assert.equal(
        info.issuerFingerprint256,
        new X509Certificate(caPem).fingerprint256.replaceAll(":", "").toLowerCase(),
      );
      assert.ok(info.nextUpdateMs !== null && info.nextUpdateMs > info.thisUpdateMs);
    }
    assert.equal(okStatus(status.get(`file:${crl.pemPath}`)).crl.source.field, "hostnames[0].mtls.crls[0]");
  },
);

test("a bad file source throws, naming the YAML field and the file", needsOpenssl, async () => {
  const otherCrl = await opensslGencrl(dir.path, "other", "other-crl", [{ serial: 1n }]);
  const good = await gencrl([1n], 1n);
  await writeFile(at("garbage.crl"), "this is not a CRL\n");
  const cases: [HostConfig[], string][] = [
    [
      [host(0, [caPem], [{ kind: "file", path: at("missing.crl") }])],
      `hostnames[0].mtls.crls[0]: ${at("missing.crl")}: cannot read: no such file`,
    ],
    [
      [host(0, [caPem], [{ kind: "file", path: at("garbage.crl") }])],
      `hostnames[0].mtls.crls[0]: ${at("garbage.crl")}: not a valid CRL: neither DER nor a PEM block labelled X509 CRL`,
    ],
    [
      [
        host(
          0,
          [caPem],
          [
            { kind: "file", path: good.pemPath },
            { kind: "file", path: otherCrl.pemPath },
          ],
        ),
      ],
      `hostnames[0].mtls.crls[1]: ${otherCrl.pemPath}: not issued and signed by any of the host's trusted CAs (issuer name and signature checked)`,
    ],
    [
      // Shared: the second host does not trust the CA that signed it.
      [
        host(0, [caPem], [{ kind: "file", path: good.pemPath }]),
        host(1, [otherCaPem], [{ kind: "file", path: good.pemPath }]),
      ],
      `hostnames[1].mtls.crls[0]: ${good.pemPath}: not issued and signed by any of the host's trusted CAs (issuer name and signature checked)`,
    ],
  ];
  for (const [hosts, message] of cases) {
    await assert.rejects(manager().load(hosts), (err: unknown) => {
      assert.ok(err instanceof RevocationError, String(err));
      assert.equal(err.message, message);
      return true;
    });
  }
});

test(
  "a URL is fetched and cached on disk; with the server down a new manager loads the cache",
  needsOpenssl,
  async () => {
    const { crlServer, url } = await server();
    const crl = await gencrl([0x42n], 3n);
    crlServer.body = crl.der;
    const hosts = [host(0, [caPem], [{ kind: "url", url }])];

    const first = manager();
    await first.load(hosts);
    const fetched = okStatus(first.status().get(`url:${url}`)).crl;
    assert.equal(fetched.fromCache, false);
    assert.deepEqual(fetched.serials, new Set(["42"]));

    const base = join(at("data"), "crls", createHash("sha256").update(url).digest("hex"));
    assert.ok((await readFile(`${base}.der`)).equals(crl.der), "the DER is cached");
    const meta = JSON.parse(await readFile(`${base}.json`, "utf8"));
    assert.equal(meta.url, url);
    assert.equal(meta.crlNumber, "3");

    await crlServer.close();
    const second = manager();
    await second.load(hosts);
    const status = okStatus(second.status().get(`url:${url}`));
    assert.equal(status.crl.fromCache, true);
    assert.deepEqual(status.crl.serials, new Set(["42"]));
    assert.equal(status.crl.fetchedAtMs, fetched.fetchedAtMs);
    assert.match(
      status.lastError ?? "",
      /^hostnames\[0\]\.mtls\.crls\[0\]: GET http:\/\/127\.0\.0\.1:\d+\/ca\.crl: ECONNREFUSED/,
    );
  },
);

test(
  "a URL that fails with no cache: status records the error, load does not throw",
  needsOpenssl,
  async () => {
    const { crlServer, url } = await server();
    crlServer.status = 404;
    const closed = createServer().listen(0, "127.0.0.1");
    await once(closed, "listening");
    const down = `http://127.0.0.1:${(closed.address() as AddressInfo).port}/never.crl`;
    await new Promise((resolve) => closed.close(resolve));
    const m = manager({ dataDir: at("empty-data") });
    await m.load([
      host(
        0,
        [caPem],
        [
          { kind: "url", url },
          { kind: "url", url: down },
        ],
      ),
    ]);
    assert.deepEqual(m.status().get(`url:${url}`), {
      ok: false,
      source: { kind: "url", url, field: "hostnames[0].mtls.crls[0]" },
      error: `hostnames[0].mtls.crls[0]: GET ${url}: HTTP 404 Not Found`,
    });
    const refused = m.status().get(`url:${down}`);
    assert.ok(refused && !refused.ok && /ECONNREFUSED/.test(refused.error), JSON.stringify(refused));

    // A served CRL signed by a CA the host does not trust is refused the same way.
    crlServer.status = 200;
    crlServer.body = (await opensslGencrl(dir.path, "other", "other-url", [{ serial: 1n }])).pem;
    const m2 = manager({ dataDir: at("empty-data") });
    await m2.load([host(0, [caPem], [{ kind: "url", url }])]);
    const untrusted = m2.status().get(`url:${url}`);
    assert.ok(untrusted && !untrusted.ok);
    assert.match(untrusted.error, /not issued and signed by any of the host's trusted CAs/);
  },
);

test(
  "refresh: a new CRL replaces the old, emits change and is cached; unchanged → 304",
  needsOpenssl,
  async () => {
    const { crlServer, url } = await server();
    crlServer.body = (await gencrl([1n], 10n)).pem;
    const m = manager({ refreshIntervalMs: 200, dataDir: at("refresh-data") });
    await m.load([host(0, [caPem], [{ kind: "url", url }])]);
    m.start();

    await until(() => crlServer.requests.length >= 2);
    assert.ok(crlServer.requests[1]?.["if-none-match"], "the refresh is conditional");
    const changes: unknown[] = [];
    m.on("change", (key) => changes.push(key));

    const next = await gencrl([1n, 2n], 11n);
    crlServer.body = next.der;
    const [key, info] = await nextChange(m);
    assert.equal(key, `url:${url}`);
    const status = okStatus(m.status().get(`url:${url}`));
    assert.equal(status.crl, info);
    assert.deepEqual(status.crl.serials, new Set(["1", "2"]));
    assert.equal(status.crl.crlNumber, "11");
    const base = join(at("refresh-data"), "crls", createHash("sha256").update(url).digest("hex"));
    // "change" comes first (enforce the new CRL at once), then the cache write.
    await until(() => existsSync(`${base}.der`) && readFileSync(`${base}.der`).equals(next.der));

    const seen = crlServer.requests.length;
    await until(() => crlServer.requests.length >= seen + 2);
    assert.equal(changes.length, 1, "the same CRL again is no change");
  },
);

test(
  "an older CRL Number is refused, on refresh and against the cache at startup",
  needsOpenssl,
  async () => {
    const { crlServer, url } = await server();
    const dataDir = at("rollback-data");
    crlServer.body = (await gencrl([5n], 5n)).der;
    const m = manager({ refreshIntervalMs: 150, dataDir });
    await m.load([host(0, [caPem], [{ kind: "url", url }])]);
    m.start();
    let changed = false;
    m.on("change", () => {
      changed = true;
    });

    crlServer.body = (await gencrl([3n], 3n)).der;
    const seen = crlServer.requests.length;
    await until(() => crlServer.requests.length >= seen + 2);
    const status = okStatus(m.status().get(`url:${url}`));
    assert.equal(status.crl.crlNumber, "5");
    assert.deepEqual(status.crl.serials, new Set(["5"]));
    assert.match(status.lastError ?? "", /refused: CRL number 3 is older than the 5 in use/);
    assert.equal(changed, false);
    await m.stop();

    // A new manager: the server still serves #3, the cache holds #5.
    const fresh = manager({ dataDir });
    await fresh.load([host(0, [caPem], [{ kind: "url", url }])]);
    const startup = okStatus(fresh.status().get(`url:${url}`));
    assert.equal(startup.crl.crlNumber, "5");
    assert.equal(startup.crl.fromCache, true);
    assert.match(startup.lastError ?? "", /refused: CRL number 3 is older/);
  },
);

test(
  "a file edited on disk, or replaced by rename, is re-read: change within a second",
  needsOpenssl,
  async () => {
    const path = at("watched.crl");
    await writeFile(path, (await gencrl([1n], 1n)).pem);
    const m = manager();
    await m.load([host(0, [caPem], [{ kind: "file", path }])]);
    m.start();
    const key = `file:${path}`;

    let started = Date.now();
    let change = nextChange(m, 1500);
    await writeFile(path, (await gencrl([1n, 2n], 2n)).der); // in place, PEM → DER
    await change;
    const inPlaceMs = Date.now() - started;
    assert.deepEqual(okStatus(m.status().get(key)).crl.serials, new Set(["1", "2"]));

    const next = await gencrl([1n, 2n, 3n], 3n);
    await writeFile(at("watched.crl.tmp"), next.pem);
    started = Date.now();
    change = nextChange(m, 1500);
    await rename(at("watched.crl.tmp"), path); // as editors and `mv` do
    await change;
    const renameMs = Date.now() - started;
    assert.deepEqual(okStatus(m.status().get(key)).crl.serials, new Set(["1", "2", "3"]));
    assert.ok(inPlaceMs < 1500 && renameMs < 1500, `${inPlaceMs} ms, ${renameMs} ms`);

    // Garbage, then an older CRL: both kept out, the last good one stays, with the error.
    let changed = false;
    m.on("change", () => {
      changed = true;
    });
    await writeFile(path, "oops");
    await until(() =>
      /not a valid CRL/.test((m.status().get(key) as { lastError?: string }).lastError ?? ""),
    );
    assert.deepEqual(okStatus(m.status().get(key)).crl.serials, new Set(["1", "2", "3"]));
    await writeFile(path, (await gencrl([9n], 2n)).pem);
    await until(() =>
      /refused: CRL number 2/.test((m.status().get(key) as { lastError?: string }).lastError ?? ""),
    );
    assert.equal(changed, false);
    assert.equal(okStatus(m.status().get(key)).crl.crlNumber, "3");
  },
);

test(
  "an empty CRL from a URL loads with no serials; an oversized body is refused",
  needsOpenssl,
  async () => {
    const { crlServer, url } = await server();
    const empty = await gencrl([], 1n);
    crlServer.body = empty.pem;
    const m = manager({ dataDir: at("empty-crl-data") });
    await m.load([host(0, [caPem], [{ kind: "url", url }])]);
    assert.equal(okStatus(m.status().get(`url:${url}`)).crl.serials.size, 0);

    const small = manager({ dataDir: at("small-data"), maxCrlBytes: 100 });
    await small.load([host(0, [caPem], [{ kind: "url", url }])]);
    const status = small.status().get(`url:${url}`);
    assert.ok(status && !status.ok);
    assert.match(status.error, /body larger than 100 bytes/);
  },
);

test("stop() aborts a download in flight and resolves promptly", needsOpenssl, async () => {
  const hanging = createServer(() => {}); // never answers
  hanging.listen(0, "127.0.0.1");
  await once(hanging, "listening");
  cleanups.push(async () => {
    hanging.closeAllConnections();
    await new Promise((resolve) => hanging.close(resolve));
  });
  const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/slow.crl`;
  const m = manager({ fetchTimeoutMs: 300, refreshIntervalMs: 50, dataDir: at("hang-data") });
  const started = Date.now();
  await m.load([host(0, [caPem], [{ kind: "url", url }])]);
  const status = m.status().get(`url:${url}`);
  assert.ok(status && !status.ok);
  assert.match(status.error, /timed out after 300 ms/);
  assert.ok(Date.now() - started < 2000);
  m.start();
  await sleep(120); // a refresh is now waiting on the server
  const stopping = Date.now();
  await m.stop();
  assert.ok(Date.now() - stopping < 250, "stop() did not wait for the fetch timeout");
  await assert.rejects(stat(join(at("hang-data"), "crls")), /ENOENT/, "nothing cached");
});
