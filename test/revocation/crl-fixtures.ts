/**
 * CRLs for the revocation tests: real ones from `openssl ca -gencrl`, and hand-built DER (a million
 * entries, odd encodings, tampering) signed with node:crypto, which OpenSSL checks where it matters.
 */
import { createPrivateKey, type KeyObject, sign, X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as asn1js from "asn1js";
import { openssl } from "../helpers/openssl-pki.ts";
import { run } from "../helpers/run.ts";

export interface RevokedInput {
  serial: bigint;
  reason?: string;
}

export interface OpensslCrl {
  pemPath: string;
  derPath: string;
  pem: string;
  der: Buffer;
}

/**
 * `openssl ca -gencrl` by the CA `ca` (`ca.pem`, `ca-key.pem` in `dir`), revoking `revoked`, with the CRL
 * Number `crlNumber` (default: openssl's counter, which counts up from 1).
 */
export async function opensslGencrl(
  dir: string,
  ca: string,
  name: string,
  revoked: readonly RevokedInput[],
  options: { crlNumber?: bigint; sigopt?: string[]; md?: string; crlHours?: number } = {},
): Promise<OpensslCrl> {
  const db = join(dir, `${ca}-index.txt`);
  const counter = join(dir, `${ca}-crlnumber`);
  await writeFile(
    db,
    revoked
      .map(({ serial, reason }) => {
        const hex = serial.toString(16).toUpperCase();
        const revokedAt = `240101000000Z${reason ? `,${reason}` : ""}`;
        return `R\t300101000000Z\t${revokedAt}\t${hex.length % 2 ? `0${hex}` : hex}\tunknown\t/CN=revoked-${hex}\n`;
      })
      .join(""),
  );
  if (options.crlNumber !== undefined) {
    const hex = options.crlNumber.toString(16).toUpperCase();
    await writeFile(counter, `${hex.length % 2 ? `0${hex}` : hex}\n`);
  } else {
    await readFile(counter).catch(() => writeFile(counter, "01\n"));
  }
  const config = join(dir, `${ca}-ca.cnf`);
  await writeFile(
    config,
    `[ca]\ndefault_ca = CA_default\n[CA_default]\ndatabase = ${db}\ncrlnumber = ${counter}\ndefault_md = default\ndefault_crl_days = 7\n`,
  );
  const pemPath = join(dir, `${name}.pem`);
  const derPath = join(dir, `${name}.der`);
  await openssl(
    ["ca", "-gencrl", "-config", config, "-cert", `${ca}.pem`, "-keyfile", `${ca}-key.pem`, "-out", pemPath]
      .concat(options.crlHours ? ["-crlhours", String(options.crlHours)] : [])
      .concat(options.md ? ["-md", options.md] : [])
      .concat((options.sigopt ?? []).flatMap((opt) => ["-sigopt", opt])),
    { cwd: dir },
  );
  await openssl(["crl", "-in", pemPath, "-outform", "DER", "-out", derPath]);
  return { pemPath, derPath, pem: await readFile(pemPath, "utf8"), der: await readFile(derPath) };
}

/** The serials `openssl crl -text` lists, as it prints them (uppercase hex, "00" for zero). */
export async function opensslCrlSerials(crlPath: string, form: "PEM" | "DER" = "PEM"): Promise<string[]> {
  const { stdout } = await openssl(["crl", "-in", crlPath, "-inform", form, "-noout", "-text"]);
  return [...stdout.matchAll(/Serial Number: (-?[0-9A-F]+)\n/g)].map((m) => m[1] as string);
}

// --- hand-built DER -------------------------------------------------------------------------------

/** A DER element: tag, definite length, contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** The contents of a DER INTEGER (minimal two's complement). */
export function integerContents(value: bigint): Buffer {
  return Buffer.from(asn1js.Integer.fromBigInt(value).valueBlock.valueHexView);
}

export const seq = (...contents: Uint8Array[]) => tlv(0x30, ...contents);
const utcTime = (date: Date) =>
  tlv(0x17, Buffer.from(`${date.toISOString().slice(2, 19).replace(/[-T:]/g, "")}Z`, "latin1"));
const generalizedTime = (date: Date) =>
  tlv(0x18, Buffer.from(`${date.toISOString().slice(0, 19).replace(/[-T:]/g, "")}Z`, "latin1"));

/** The subject Name DER of a PEM certificate (read with asn1js, independently of the code under test). */
export function subjectDer(certPem: string): Buffer {
  const cert = asn1js.fromBER(new X509Certificate(certPem).raw).result as asn1js.Sequence;
  const tbs = cert.valueBlock.value[0] as asn1js.Sequence;
  const fields = tbs.valueBlock.value;
  const offset = fields[0]?.idBlock.tagClass === 3 ? 1 : 0; // [0] version
  return Buffer.from((fields[offset + 4] as asn1js.Sequence).toBER());
}

/** AlgorithmIdentifier and node:crypto digest for a key. */
function signingAlgorithm(key: KeyObject): { algorithm: Buffer; hash: string | null } {
  switch (key.asymmetricKeyType) {
    case "ec":
      return { algorithm: Buffer.from("300a06082a8648ce3d040302", "hex"), hash: "sha256" };
    case "rsa":
      return { algorithm: Buffer.from("300d06092a864886f70d01010b0500", "hex"), hash: "sha256" };
    case "ed25519":
      return { algorithm: Buffer.from("300506032b6570", "hex"), hash: null };
    default:
      throw new Error(`no test algorithm for ${key.asymmetricKeyType}`);
  }
}

export interface BuildCrlOptions {
  issuer: Buffer;
  /** Private key PEM of the signer. */
  keyPem: string;
  thisUpdate?: Date;
  /** null leaves it out. */
  nextUpdate?: Date | null;
  crlNumber?: bigint | null;
  /** Each entry's serial as DER INTEGER contents. */
  serials: readonly Uint8Array[];
  /** Extra CRL extensions (full Extension DER). */
  extensions?: Buffer[];
  /** Each entry's extensions (full Extensions DER), by index. */
  entryExtensions?: Map<number, Buffer>;
  generalizedTimes?: boolean;
}

/** A signed CRL. The revokedCertificates are written into one buffer, so a million entries take a second. */
export function buildCrl(options: BuildCrlOptions): Buffer {
  const key = createPrivateKey(options.keyPem);
  const { algorithm, hash } = signingAlgorithm(key);
  const thisUpdate = options.thisUpdate ?? new Date(Math.floor(Date.now() / 1000) * 1000);
  const nextUpdate =
    options.nextUpdate === undefined ? new Date(thisUpdate.getTime() + 7 * 86_400_000) : options.nextUpdate;
  const time = options.generalizedTimes ? generalizedTime : utcTime;
  const revokedAt = time(new Date("2024-01-01T00:00:00Z"));

  const entries = revokedList(options.serials, revokedAt, options.entryExtensions ?? new Map());
  const extensions = [...(options.extensions ?? [])];
  if (options.crlNumber !== null) {
    const number = tlv(0x02, integerContents(options.crlNumber ?? 1n));
    extensions.push(seq(tlv(0x06, Buffer.from("551d14", "hex")), tlv(0x04, number)));
  }
  const tbs = seq(
    tlv(0x02, Buffer.from([1])),
    algorithm,
    options.issuer,
    time(thisUpdate),
    ...(nextUpdate ? [time(nextUpdate)] : []),
    ...(options.serials.length > 0 ? [entries] : []),
    ...(extensions.length > 0 ? [tlv(0xa0, seq(...extensions))] : []),
  );
  const signature = sign(hash, tbs, key);
  return seq(tbs, algorithm, tlv(0x03, Buffer.from([0]), signature));
}

function revokedList(
  serials: readonly Uint8Array[],
  revokedAt: Buffer,
  entryExtensions: Map<number, Buffer>,
) {
  let size = 0;
  const lengths = serials.map((serial, i) => {
    const body = 2 + serial.length + revokedAt.length + (entryExtensions.get(i)?.length ?? 0);
    size += 1 + derLength(body).length + body;
    return body;
  });
  const out = Buffer.allocUnsafe(size);
  let pos = 0;
  serials.forEach((serial, i) => {
    const body = lengths[i] as number;
    out[pos++] = 0x30;
    pos += derLength(body).copy(out, pos);
    out[pos++] = 0x02;
    out[pos++] = serial.length;
    out.set(serial, pos);
    pos += serial.length;
    pos += revokedAt.copy(out, pos);
    const ext = entryExtensions.get(i);
    if (ext) pos += ext.copy(out, pos);
  });
  return Buffer.concat([Buffer.from([0x30]), derLength(size), out]);
}

/** Serial number `n` of a PEM certificate as Node reports it (`0A`, `-05`). */
export function nodeSerial(certPem: string): string {
  return new X509Certificate(certPem).serialNumber;
}

/** `openssl crl -noout -CAfile` on a DER CRL: does OpenSSL accept this hand-built CRL's signature? */
export async function opensslAcceptsCrl(dir: string, der: Buffer, caPath: string): Promise<boolean> {
  const path = join(dir, `check-${Date.now()}-${Math.random()}.der`);
  await writeFile(path, der);
  const result = await run("openssl", ["crl", "-in", path, "-inform", "DER", "-CAfile", caPath, "-noout"]);
  return result.code === 0 && /verify OK/.test(result.stderr);
}
