/**
 * A 1,000,000-entry CRL, built and signed here (openssl ca would take minutes): parseCrlFast must read
 * every serial right. Time and memory are printed, not asserted (machines differ).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { HostConfig } from "../../src/config/types.ts";
import {
  CrlManager,
  crlDer,
  findCrlIssuer,
  normalizeSerial,
  parseCrlFast,
} from "../../src/revocation/index.ts";
import { makeCa } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";
import { buildCrl, opensslAcceptsCrl, subjectDer } from "./crl-fixtures.ts";

const needsOpenssl = { skip: missingPeer("openssl") };
const COUNT = 1_000_000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

let dir: { path: string; cleanup: () => Promise<void> };
let caPem: string;
let der: Buffer;
let serials: Buffer[];

/** Serials as a CA would issue them: mostly 16 random octets, a third with the high bit set (a leading 00 in DER). */
function makeSerials(count: number): Buffer[] {
  const pool = randomBytes(count * 16);
  const out: Buffer[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const bytes = pool.subarray(i * 16, i * 16 + 16);
    if (i % 3 === 0) {
      bytes[0] = (bytes[0] as number) | 0x80;
      out[i] = Buffer.concat([Buffer.from([0]), bytes]);
    } else {
      bytes[0] = ((bytes[0] as number) & 0x7f) | 0x01; // non-zero: minimal DER without a leading 00
      out[i] = bytes;
    }
  }
  return out;
}

function expectedSerial(contents: Buffer): string {
  return normalizeSerial(contents.toString("hex"));
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  const ca = await makeCa(dir.path, "big-ca", { key: "p256" });
  caPem = await readFile(ca.certPath, "utf8");
  serials = makeSerials(COUNT);
  const started = performance.now();
  der = buildCrl({
    issuer: subjectDer(caPem),
    keyPem: await readFile(ca.keyPath, "utf8"),
    serials,
    crlNumber: 42n,
  });
  console.log(
    `# built a ${COUNT}-entry CRL (${mib(der.length)} DER) in ${(performance.now() - started).toFixed(0)} ms`,
  );
  await writeFile(join(dir.path, "big.der"), der);
});

after(async () => {
  await dir?.cleanup();
});

test(
  "OpenSSL accepts the hand-built million-entry CRL (so the fixture is a real CRL)",
  needsOpenssl,
  async () => {
    assert.ok(await opensslAcceptsCrl(dir.path, der, join(dir.path, "big-ca.pem")));
  },
);

test(`parseCrlFast reads all ${COUNT} serials; time and memory printed`, needsOpenssl, (t) => {
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  let started = performance.now();
  const crl = parseCrlFast(der);
  const firstMs = performance.now() - started;
  gc();
  const retained = process.memoryUsage().heapUsed - heapBefore;

  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    started = performance.now();
    parseCrlFast(der);
    times.push(performance.now() - started);
  }
  started = performance.now();
  const issuer = findCrlIssuer(crl, [caPem]);
  const verifyMs = performance.now() - started;

  let lookups = 0;
  started = performance.now();
  for (let i = 0; i < COUNT; i++) if (crl.serials.has(expectedSerial(serials[i] as Buffer))) lookups++;
  const lookupNs = ((performance.now() - started) * 1e6) / COUNT;

  t.diagnostic(
    `parseCrlFast, first run: ${firstMs.toFixed(0)} ms; warm: ${times.map((ms) => ms.toFixed(0)).join(", ")} ms`,
  );
  t.diagnostic(`heap retained by the parsed CRL (Set of ${crl.serials.size} strings): ${mib(retained)}`);
  t.diagnostic(
    `signature check (findCrlIssuer, ECDSA P-256 over ${mib(crl.tbs.length)}): ${verifyMs.toFixed(0)} ms`,
  );
  t.diagnostic(`normalizeSerial + Set.has per certificate: ${lookupNs.toFixed(0)} ns`);

  assert.equal(crl.entryCount, COUNT);
  assert.equal(crl.serials.size, COUNT);
  assert.equal(lookups, COUNT, "every serial is found under its normalized spelling");
  assert.ok(issuer, "the CA verifies the signature");
  assert.equal(crl.crlNumber, "42");
  for (const i of [0, 1, 2, 499_999, COUNT - 1]) {
    assert.ok(crl.serials.has(expectedSerial(serials[i] as Buffer)), `serial #${i}`);
  }
  assert.ok(!crl.serials.has("1"), "an unlisted serial is not revoked");
});

test("CrlManager loads the million-entry CRL from a PEM file; time printed", needsOpenssl, async (t) => {
  const pemPath = join(dir.path, "big.pem");
  const b64 = der.toString("base64").replace(/.{64}/g, "$&\n");
  await writeFile(pemPath, `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`);
  assert.ok(crlDer(await readFile(pemPath)).equals(der));
  const host = {
    hostname: "big.example.test",
    mtls: {
      trustedCasPem: [caPem],
      crls: [{ kind: "file", path: pemPath, field: "hostnames[0].mtls.crls[0]" }],
    },
  } as unknown as HostConfig;
  const manager = new CrlManager({ dataDir: dir.path, refreshIntervalMs: 60_000 });
  const started = performance.now();
  await manager.load([host]);
  t.diagnostic(
    `CrlManager.load (read + PEM decode + parse + verify + hash): ${(performance.now() - started).toFixed(0)} ms`,
  );
  const status = manager.status().get(`file:${pemPath}`);
  assert.ok(status?.ok);
  assert.equal(status.crl.serials.size, COUNT);
});
