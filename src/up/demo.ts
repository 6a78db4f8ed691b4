/**
 * `portcullis up --demo`: a zone `localhost` whose hostname `app.localhost` is enforced by the zone's
 * managed CA, in front of a built-in echo origin that answers with the identity it received; a client
 * certificate (key made here, never sent anywhere) written to DATA/demo/. Re-running reuses what exists.
 */
import { mkdir } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { createManagedCa, issueClientCertificate } from "../ca/managed.ts";
import { checkUpload } from "../control/pem.ts";
import { writeFilesAtomically } from "../files.ts";
import { csrToPem, generateCsr } from "../pki/csr.ts";
import { loadIssuer } from "../pki/issuer.ts";
import { exportPrivateKeyPem, generatePrivateKey } from "../pki/keys.ts";
import { parseSigningConfig } from "../pki/profile.ts";
import { generateCertificate, initCa } from "../pki/sign.ts";
import { newId, timestamp } from "../store/ids.ts";
import type { Hostname, MtlsCertificate, Store } from "../store/types.ts";

export const DEMO_HOSTNAME = "app.localhost";
const DEMO_ZONE = "localhost";
const P256 = { algo: "ecdsa", size: 256 } as const;

export interface Demo {
  dir: string;
  originUrl: string;
  stopOrigin(): Promise<void>;
}

/** Seeds the demo into the store (once) and starts its echo origin. */
export async function startDemo(store: Store, dataDir: string): Promise<Demo> {
  const origin = await startEchoOrigin();
  const dir = join(dataDir, "demo");
  await mkdir(dir, { recursive: true });
  const existing = await store.getHostnameByName(DEMO_HOSTNAME);
  if (existing) {
    // The origin's port is new on every start.
    await store.transaction(async (tx) => {
      await tx.putHostname({
        ...existing,
        origin: { ...existing.origin, url: origin.url },
        updatedAt: timestamp(new Date()),
      });
      await tx.audit({
        tokenId: null,
        action: "demo.origin",
        resource: `hostnames/${existing.id}`,
        before: null,
        after: { origin: origin.url },
      });
    });
  } else {
    await seed(store, dir, origin.url);
  }
  return { dir, originUrl: origin.url, stopOrigin: origin.stop };
}

async function seed(store: Store, dir: string, originUrl: string): Promise<void> {
  const now = new Date();
  const account = { id: newId(), name: "Demo", createdAt: timestamp(now) };
  const zone = { id: newId(), accountId: account.id, name: DEMO_ZONE, createdAt: timestamp(now) };
  const { ca, keyPem: caKeyPem } = await createManagedCa(zone, now);

  // The server certificate for app.localhost, from a demo CA that curl is then told to trust.
  const serverCa = await initCa({ CN: "Portcullis Demo Server CA", hosts: [], key: P256, names: [] });
  const serverIssuer = await loadIssuer(serverCa.cert, serverCa.key ?? "");
  const serverProfile = parseSigningConfig({
    signing: {
      default: { usages: ["digital signature", "key encipherment", "server auth"], expiry: "8760h" },
    },
  }).default;
  const server = await generateCertificate(
    { CN: DEMO_HOSTNAME, hosts: [DEMO_HOSTNAME, "localhost", "127.0.0.1"], key: P256, names: [] },
    serverIssuer,
    serverProfile,
  );
  const serverRecord = certificateRecord(
    account.id,
    `${DEMO_HOSTNAME} (demo)`,
    server.cert,
    server.key ?? "",
    now,
  );

  // The client's key is made here and stays in DATA/demo; only its CSR goes to the CA.
  const clientKey = await generatePrivateKey(P256);
  const clientRequest = { CN: "demo-client", hosts: [], key: P256, names: [{ O: "Portcullis Demo" }] };
  const csr = csrToPem(await generateCsr(clientRequest, clientKey));
  const client = await issueClientCertificate(ca, caKeyPem, csr, 365, now);

  const hostname: Hostname = {
    id: newId(),
    zoneId: zone.id,
    hostname: DEMO_HOSTNAME,
    isDefault: true,
    serverCertificateId: serverRecord.id,
    mtls: {
      mode: "enforce",
      paths: [],
      staleCrl: "deny",
      maxChainDepth: 4,
      crls: [],
      ocsp: { enabled: false, timeoutMs: 2000 },
    },
    origin: {
      url: originUrl,
      caCertificateId: null,
      servername: null,
      connectTimeoutMs: 5000,
      responseTimeoutMs: 60000,
      bodyTimeoutMs: 60000,
    },
    forward: [{ format: "cloudflare" }],
    createdAt: timestamp(now),
    updatedAt: timestamp(now),
  };
  await store.transaction(async (tx) => {
    await tx.insertAccount(account);
    await tx.insertZone(zone);
    await tx.insertManagedCa(ca, caKeyPem);
    await tx.insertClientCertificate(client);
    await tx.insertMtlsCertificate(serverRecord, server.key);
    await tx.putHostname(hostname);
    await tx.replaceHostnameAssociations(zone.id, null, [DEMO_HOSTNAME]);
    await tx.audit({
      tokenId: null,
      action: "demo.seed",
      resource: `zones/${zone.id}`,
      before: null,
      after: { hostname: DEMO_HOSTNAME },
    });
  });
  await writeFilesAtomically([
    { path: join(dir, "client.pem"), content: client.certificatePem, mode: 0o644 },
    { path: join(dir, "client-key.pem"), content: exportPrivateKeyPem(clientKey), mode: 0o600 },
    { path: join(dir, "server-ca.pem"), content: serverCa.cert, mode: 0o644 },
  ]);
}

/** An uploaded-certificate record for a leaf with its key, checked as the API checks uploads. */
function certificateRecord(
  accountId: string,
  name: string,
  pem: string,
  keyPem: string,
  now: Date,
): MtlsCertificate {
  const checked = checkUpload({ certificates: pem, private_key: keyPem, ca: false }, now);
  return {
    id: newId(),
    accountId,
    name,
    ca: false,
    certificates: checked.certificates,
    hasPrivateKey: true,
    issuer: checked.issuer,
    serialNumber: checked.serialNumber,
    signature: checked.signature,
    expiresOn: checked.expiresOn,
    uploadedOn: timestamp(now),
    updatedAt: timestamp(now),
  };
}

/** The built-in origin: answers every request with the identity headers the edge sent it. */
async function startEchoOrigin(): Promise<{ url: string; stop(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const identity: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (name.startsWith("cf-cert-") && typeof value === "string") identity[name] = value;
    }
    const body = JSON.stringify(
      { origin: "portcullis demo echo", method: req.method, path: req.url, identity },
      null,
      2,
    );
    res.writeHead(200, { "content-type": "application/json" });
    res.end(`${body}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
