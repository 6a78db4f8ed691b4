/**
 * Every certificate, key and CRL the benchmark uses, written as PEM files into one directory. Both
 * servers read the same files.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Cert, crlPem, crlSerial, type KeyKind, makeCert, makeCrl } from "./pki.ts";

export interface ClientFiles {
  cert: string;
  key: string;
  /** Certificate then key in one file (`ab -E`). */
  combined: string;
}

export interface KindFiles {
  serverCert: string;
  serverKey: string;
  clientCa: string;
  client: ClientFiles;
}

export interface BenchPki {
  dir: string;
  serverCa: string;
  ec: KindFiles;
  rsa: KindFiles;
  /** An ECDSA client certificate (of `ec.clientCa`) whose serial is in the big CRL. */
  revokedClient: ClientFiles;
  /** PEM CRL of `ec.clientCa` with `crlCount` serials (the revoked client's among them). */
  bigCrl: string;
  crlCount: number;
  /** The ECDSA client CA itself, to sign more CRLs (scenario e). */
  clientCaCert: Cert;
  validClientSerial: Buffer;
}

export const DOMAIN = "bench.test";

async function writeClient(dir: string, name: string, cert: Cert): Promise<ClientFiles> {
  const files = {
    cert: join(dir, `${name}.pem`),
    key: join(dir, `${name}-key.pem`),
    combined: join(dir, `${name}-combined.pem`),
  };
  await writeFile(files.cert, cert.pem);
  await writeFile(files.key, cert.keyPem);
  await writeFile(files.combined, cert.pem + cert.keyPem);
  return files;
}

interface Minted {
  files: KindFiles;
  clientCa: Cert;
  client: Cert;
}

async function mintKind(dir: string, kind: KeyKind): Promise<Minted> {
  const serverCa = makeCert({ cn: `Bench ${kind} server CA`, kind, ca: true });
  const server = makeCert({
    cn: `${kind}.${DOMAIN}`,
    kind,
    issuer: serverCa,
    usage: "server",
    dns: [`*.${DOMAIN}`, DOMAIN, "localhost"],
    ips: ["127.0.0.1"],
  });
  const clientCa = makeCert({ cn: `Bench ${kind} client CA`, kind, ca: true });
  const client = makeCert({ cn: `bench ${kind} client`, kind, issuer: clientCa, usage: "client" });
  const files = {
    serverCert: join(dir, `${kind}-server.pem`),
    serverKey: join(dir, `${kind}-server-key.pem`),
    clientCa: join(dir, `${kind}-client-ca.pem`),
    client: await writeClient(dir, `${kind}-client`, client),
  };
  await writeFile(join(dir, `${kind}-server-ca.pem`), serverCa.pem);
  await writeFile(files.serverCert, server.pem);
  await writeFile(files.serverKey, server.keyPem);
  await writeFile(files.clientCa, clientCa.pem);
  return { files, clientCa, client };
}

export async function makeBenchPki(dir: string, crlCount: number): Promise<BenchPki> {
  const ec = await mintKind(dir, "ec");
  const rsa = await mintKind(dir, "rsa");
  const revoked = makeCert({
    cn: "bench revoked client",
    kind: "ec",
    issuer: ec.clientCa,
    usage: "client",
    serial: crlSerial(Math.floor(crlCount / 2)),
  });
  const bigCrl = join(dir, "ec-client-ca-big.crl");
  await writeFile(bigCrl, crlPem(makeCrl(ec.clientCa, { count: crlCount, number: 1 })));
  return {
    dir,
    serverCa: join(dir, "ec-server-ca.pem"),
    ec: ec.files,
    rsa: rsa.files,
    revokedClient: await writeClient(dir, "ec-revoked-client", revoked),
    bigCrl,
    crlCount,
    clientCaCert: ec.clientCa,
    validClientSerial: ec.client.serial,
  };
}

export interface ManyHosts {
  /** h0.g.bench.test … h{count-1}.g.bench.test, each trusting its own client CA. */
  sites: { hostname: string; cert: string; key: string; clientCa: string }[];
  /** The host the load goes to (the middle one), and a client certificate of its CA. */
  host: string;
  client: ClientFiles;
}

/** `count` hostnames under one wildcard server certificate, each with its own client CA. */
export async function makeManyHosts(dir: string, count: number): Promise<ManyHosts> {
  const serverCa = makeCert({ cn: "Bench g server CA", kind: "ec", ca: true });
  const server = makeCert({
    cn: `*.g.${DOMAIN}`,
    kind: "ec",
    issuer: serverCa,
    usage: "server",
    dns: [`*.g.${DOMAIN}`],
  });
  const cert = join(dir, "g-server.pem");
  const key = join(dir, "g-server-key.pem");
  await writeFile(cert, server.pem);
  await writeFile(key, server.keyPem);
  const middle = Math.floor(count / 2);
  const sites: ManyHosts["sites"] = [];
  let client: ClientFiles | undefined;
  for (let i = 0; i < count; i++) {
    const ca = makeCert({ cn: `Bench g client CA ${i}`, kind: "ec", ca: true });
    const clientCa = join(dir, `g-ca-${i}.pem`);
    await writeFile(clientCa, ca.pem);
    sites.push({ hostname: `h${i}.g.${DOMAIN}`, cert, key, clientCa });
    if (i === middle) {
      const leaf = makeCert({ cn: `bench g client ${i}`, kind: "ec", issuer: ca, usage: "client" });
      client = await writeClient(dir, "g-client", leaf);
    }
  }
  return { sites, host: `h${middle}.g.${DOMAIN}`, client: client as ClientFiles };
}
