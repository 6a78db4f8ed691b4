/**
 * Access in the edge config from the store: the Access CA joins the host's trust and turns an `off` host
 * `permissive`, forwarding adds the `access` format, apps attach to their host with their path, and after a
 * rotation both keys are published while the newest signs.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, test } from "node:test";
import { hostAccess, withAccess } from "../../src/access/from-store.ts";
import { newSigningKey } from "../../src/access/keys.ts";
import { createManagedCa } from "../../src/ca/managed.ts";
import type { HostConfig } from "../../src/config/types.ts";
import { initCa } from "../../src/pki/sign.ts";
import { newId, timestamp } from "../../src/store/ids.ts";
import { openStore } from "../../src/store/index.ts";
import type { Store, Zone } from "../../src/store/types.ts";
import { tempDir } from "../helpers/run.ts";

let store: Store;
let dir: { path: string; cleanup: () => Promise<void> };
let zone: Zone;
let managedPem: string;
let uploadedCaPem: string;
const accountId = newId();
const now = new Date();

before(async () => {
  dir = await tempDir();
  store = await openStore({ dataDir: dir.path, secretKey: randomBytes(32) });
  zone = { id: newId(), accountId, name: "example.com", createdAt: timestamp(now) };
  const { ca, keyPem } = await createManagedCa(zone, now);
  managedPem = ca.certificatePem;
  uploadedCaPem = (
    await initCa({ CN: "Access Testing CA", hosts: [], key: { algo: "ecdsa", size: 256 }, names: [] })
  ).cert;
  const older = await newSigningKey(accountId, new Date(now.getTime() - 43 * 86_400_000));
  const newer = await newSigningKey(accountId, new Date(now.getTime() - 3_600_000));
  const app = (id: string, domain: string, sessionDuration: string) => ({
    id,
    accountId,
    name: id,
    domain,
    type: "self_hosted" as const,
    sessionDuration,
    aud: randomBytes(32).toString("hex"),
    createdAt: timestamp(now),
    updatedAt: timestamp(now),
  });
  await store.transaction(async (tx) => {
    await tx.insertAccount({ id: accountId, name: "a", createdAt: timestamp(now) });
    await tx.insertZone(zone);
    await tx.insertManagedCa(ca, keyPem);
    const certificate = (id: string, pem: string, hostnames: string[]) => ({
      id,
      accountId,
      name: id,
      certificate: pem,
      fingerprint: id,
      associatedHostnames: hostnames,
      expiresOn: timestamp(now),
      createdAt: timestamp(now),
      updatedAt: timestamp(now),
    });
    await tx.access.insertCertificate(certificate(newId(), uploadedCaPem, ["auth.example.com"]));
    // The managed CA's own certificate, uploaded as an Access CA (re-encoded with other line breaks).
    await tx.access.insertCertificate(
      certificate(newId(), managedPem.replaceAll("\n", "\r\n"), ["iot.example.com"]),
    );
    await tx.access.replaceCertificateSettings(accountId, [
      { hostname: "auth.example.com", chinaNetwork: false, clientCertificateForwarding: true },
    ]);
    await tx.access.putApp(app("whole", "auth.example.com", "24h"));
    await tx.access.putApp(app("admin", "auth.example.com/admin/*", "0s"));
    await tx.access.putPolicy({
      id: newId(),
      appId: "whole",
      name: "certs",
      decision: "non_identity",
      include: [{ certificate: {} }],
      exclude: [],
      require: [],
      precedence: 1,
      createdAt: timestamp(now),
      updatedAt: timestamp(now),
    });
    await tx.access.insertKey(older.key, older.privateKeyPem);
    await tx.access.insertKey(newer.key, newer.privateKeyPem);
  });
});
after(async () => {
  await store.close();
  await dir.cleanup();
});

function host(hostname: string, mode: "off" | "enforce"): HostConfig {
  return {
    hostname,
    isDefault: false,
    tls: [],
    mtls: {
      mode,
      trustedCasPem: [],
      crls: [],
      staleCrl: "deny",
      maxChainDepth: 4,
      paths: [],
      ocsp: { enabled: false, timeoutMs: 1000 },
    },
    origin: { url: "http://127.0.0.1:1", connectTimeoutMs: 1, responseTimeoutMs: 1, bodyTimeoutMs: 1 },
    forward: [],
  } as HostConfig;
}

test("an Access host: trust, permissive, forwarding, apps with paths, both keys published", async () => {
  const inputs = await hostAccess(store, zone, "auth.example.com", managedPem);
  const config = withAccess(host("auth.example.com", "off"), inputs);
  assert.equal(config.mtls.mode, "permissive");
  assert.equal(config.mtls.trustedCasPem.length, 1);
  assert.deepEqual(config.forward, [{ format: "access" }]);
  const access = config.access;
  assert.ok(access);
  assert.deepEqual(access.apps.map((a) => [a.id, a.path, a.sessionMs, a.policies.length]).sort(), [
    ["admin", "/admin/", 0, 0],
    ["whole", "", 86_400_000, 1],
  ]);
  const keys = await store.access.listKeys(accountId);
  assert.deepEqual(
    access.keys.map((k) => k.kid),
    keys.map((k) => k.kid),
    "the previous key is still published: a 24 h session it signed may be valid",
  );
  assert.equal(access.signing?.kid, keys[0]?.kid, "the newest key signs");
  assert.equal(access.keys[0]?.jwk.alg, "RS256");
  assert.equal(withAccess(host("auth.example.com", "enforce"), inputs).mtls.mode, "enforce");
});

test("the managed CA uploaded as an Access CA is the managed CA (so its revocations apply)", async () => {
  const inputs = await hostAccess(store, zone, "iot.example.com", managedPem);
  assert.deepEqual(inputs.trustedCasPem, [managedPem]);
  assert.equal(inputs.access, undefined, "no app on this host");
});

test("a host without Access is left as it is", async () => {
  const plain = host("www.example.com", "off");
  assert.equal(withAccess(plain, await hostAccess(store, zone, "www.example.com", managedPem)), plain);
});
