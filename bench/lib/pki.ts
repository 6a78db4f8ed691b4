/**
 * The benchmark's PKI, minted in process with node:crypto and the DER writer: CAs, server and client
 * certificates (ECDSA P-256 or RSA-2048), and CRLs of any size (1,000,000 serials in well under a second).
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  sign,
} from "node:crypto";
import {
  bitString,
  bool,
  explicit,
  integer,
  lengthBytes,
  NULL,
  octets,
  oid,
  pem,
  seq,
  set,
  time,
  tlv,
  utf8,
} from "./der.ts";

export type KeyKind = "ec" | "rsa";

export interface Cert {
  der: Buffer;
  pem: string;
  key: KeyObject;
  keyPem: string;
  kind: KeyKind;
  /** The subject Name, DER: the issuer field of what this certificate signs. */
  name: Buffer;
  /** Subject key identifier. */
  ski: Buffer;
  /** Serial magnitude, big-endian. */
  serial: Buffer;
}

const DAY = 86_400_000;

export function newKey(kind: KeyKind): KeyObject {
  return kind === "ec"
    ? generateKeyPairSync("ec", { namedCurve: "prime256v1" }).privateKey
    : generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey;
}

function signatureAlgorithm(kind: KeyKind): Buffer {
  return kind === "ec" ? seq(oid("1.2.840.10045.4.3.2")) : seq(oid("1.2.840.113549.1.1.11"), NULL);
}

function signed(tbs: Buffer, issuer: { key: KeyObject; kind: KeyKind }): Buffer {
  const signature = sign("sha256", tbs, issuer.key);
  return seq(tbs, signatureAlgorithm(issuer.kind), bitString(signature));
}

function name(cn: string, org = "Portcullis Bench"): Buffer {
  return seq(set(seq(oid("2.5.4.10"), utf8(org))), set(seq(oid("2.5.4.3"), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** keyUsage bits, first octet: digitalSignature 0x80, keyEncipherment 0x20, keyCertSign 0x04, cRLSign 0x02. */
function keyUsage(bits: number): Buffer {
  let unused = 0;
  while (unused < 7 && !(bits & (1 << unused))) unused++;
  return tlv(0x03, Buffer.from([unused, bits]));
}

interface CertOptions {
  cn: string;
  kind: KeyKind;
  /** Self-signed when absent. */
  issuer?: Cert;
  ca?: boolean;
  usage?: "server" | "client";
  dns?: readonly string[];
  ips?: readonly string[];
  serial?: Buffer;
  key?: KeyObject;
}

export function makeCert(options: CertOptions): Cert {
  const key = options.key ?? newKey(options.kind);
  const spki = createPublicKey(key).export({ type: "spki", format: "der" }) as Buffer;
  const publicKeyBits = spkiKeyBits(spki);
  const ski = createHash("sha1").update(publicKeyBits).digest();
  const subject = name(options.cn);
  const issuer = options.issuer;
  const signer = issuer ?? { key, kind: options.kind, name: subject, ski };
  const serial = options.serial ?? randomSerial();
  const now = Date.now();
  const extensions: Buffer[] = [extension("2.5.29.14", false, octets(ski))];
  extensions.push(extension("2.5.29.35", false, seq(tlv(0x80, signer.ski))));
  if (options.ca) {
    extensions.push(extension("2.5.29.19", true, seq(bool(true))));
    extensions.push(extension("2.5.29.15", true, keyUsage(0x80 | 0x04 | 0x02)));
  } else {
    extensions.push(extension("2.5.29.19", true, seq()));
    extensions.push(extension("2.5.29.15", true, keyUsage(options.kind === "rsa" ? 0x80 | 0x20 : 0x80)));
    const eku = options.usage === "server" ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2";
    extensions.push(extension("2.5.29.37", false, seq(oid(eku))));
    const sans = [
      ...(options.dns ?? []).map((dns) => tlv(0x82, Buffer.from(dns, "latin1"))),
      ...(options.ips ?? []).map((ip) => tlv(0x87, Buffer.from(ip.split(".").map(Number)))),
    ];
    if (sans.length) extensions.push(extension("2.5.29.17", false, seq(...sans)));
  }
  const tbs = seq(
    explicit(0, integer(2)),
    integer(serial),
    signatureAlgorithm(signer.kind),
    issuer ? issuer.name : subject,
    seq(time(new Date(now - DAY)), time(new Date(now + 365 * DAY))),
    subject,
    spki,
    explicit(3, seq(...extensions)),
  );
  const der = signed(tbs, signer);
  const keyPem = key.export({ type: "pkcs8", format: "pem" }) as string;
  return { der, pem: pem("CERTIFICATE", der), key, keyPem, kind: options.kind, name: subject, ski, serial };
}

/** The subjectPublicKey BIT STRING's content (what the SKI hashes, RFC 5280 method 1). */
function spkiKeyBits(spki: Buffer): Buffer {
  // SEQUENCE { AlgorithmIdentifier, BIT STRING }: skip the outer header and the algorithm.
  let p = headerLength(spki, 0);
  p += totalLength(spki, p);
  const body = p + headerLength(spki, p);
  return spki.subarray(body + 1, p + totalLength(spki, p));
}

function headerLength(der: Buffer, pos: number): number {
  const first = der[pos + 1] as number;
  return first < 0x80 ? 2 : 2 + (first & 0x7f);
}

function totalLength(der: Buffer, pos: number): number {
  const first = der[pos + 1] as number;
  if (first < 0x80) return 2 + first;
  let len = 0;
  for (let i = 0; i < (first & 0x7f); i++) len = len * 256 + (der[pos + 2 + i] as number);
  return headerLength(der, pos) + len;
}

export function randomSerial(): Buffer {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] as number) & 0x3f) | 0x40; // positive, full length, never in a bench CRL range
  return bytes;
}

/** The serial of the i-th entry of a bench CRL: 8 bytes, 0x10 followed by i. */
export function crlSerial(i: number): Buffer {
  const bytes = Buffer.alloc(8);
  bytes[0] = 0x10;
  bytes.writeUIntBE(i, 2, 6);
  return bytes;
}

export interface CrlOptions {
  /** Entries 0..count-1 get serial crlSerial(i). */
  count: number;
  /** Further serials (e.g. a client certificate's) revoked too. */
  extra?: readonly Buffer[];
  number: number;
  thisUpdate?: Date;
}

/** A CRL signed by `issuer`, DER, with `count` revoked serials (27 bytes each). */
export function makeCrl(issuer: Cert, options: CrlOptions): Buffer {
  const thisUpdate = options.thisUpdate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const revokedAt = time(new Date(thisUpdate.getTime() - DAY));
  const entrySize = 2 + 10 + revokedAt.length;
  const extra = (options.extra ?? []).map((serial) => seq(integer(serial), revokedAt));
  const entriesLength = options.count * entrySize + extra.reduce((sum, e) => sum + e.length, 0);
  const entries = Buffer.alloc(entriesLength);
  let p = 0;
  for (let i = 0; i < options.count; i++) {
    entries[p] = 0x30;
    entries[p + 1] = entrySize - 2;
    entries[p + 2] = 0x02;
    entries[p + 3] = 8;
    crlSerial(i).copy(entries, p + 4);
    revokedAt.copy(entries, p + 12);
    p += entrySize;
  }
  for (const entry of extra) p += entry.copy(entries, p);
  const revoked = Buffer.concat([Buffer.from([0x30]), lengthBytes(entries.length), entries]);
  const tbs = seq(
    integer(1),
    signatureAlgorithm(issuer.kind),
    issuer.name,
    time(thisUpdate),
    time(new Date(thisUpdate.getTime() + 7 * DAY)),
    ...(entriesLength > 0 ? [revoked] : []),
    explicit(
      0,
      seq(
        extension("2.5.29.35", false, seq(tlv(0x80, issuer.ski))),
        extension("2.5.29.20", false, integer(options.number)),
      ),
    ),
  );
  return signed(tbs, issuer);
}

export function crlPem(der: Buffer): string {
  return pem("X509 CRL", der);
}
