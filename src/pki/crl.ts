/**
 * Certificate revocation lists: create (as `cfssl gencrl` does, plus CRL Number and reasons), parse,
 * verify, and the cfssl serials file (one decimal serial per line).
 */
import type { Certificate } from "./certificate.ts";
import { PkiError } from "./errors.ts";
import type { Issuer } from "./issuer.ts";
import { derBlocks, encodePem } from "./pem.ts";
import { subjectKeyIdOf } from "./sign.ts";
import { x509 } from "./x509.ts";

/** RFC 5280 §5.3.1 CRLReason codes, by their ASN.1 names (7 is unused). */
const REASON_CODES = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  removeFromCRL: 8,
  privilegeWithdrawn: 9,
  aACompromise: 10,
} as const;

export type CrlReason = keyof typeof REASON_CODES;

export const CRL_REASONS = Object.keys(REASON_CODES) as CrlReason[];

/** As cfssl: a CRL is valid for one week unless told otherwise. */
export const DEFAULT_CRL_VALIDITY_SECONDS = 7 * 24 * 60 * 60;

const OID_CRL_NUMBER = "2.5.29.20";
const OID_CRL_REASON = "2.5.29.21";
const PEM_LABEL = "X509 CRL";

export interface CrlEntryInput {
  /** A non-negative serial: a bigint or a decimal string. */
  serial: bigint | string;
  /** Defaults to the CRL's thisUpdate. */
  revokedAt?: Date;
  reason?: CrlReason;
}

export interface CreateCrlOptions {
  entries: readonly CrlEntryInput[];
  /** Defaults to now (whole seconds). */
  thisUpdate?: Date;
  /** Defaults to thisUpdate + 7 days, as cfssl. */
  nextUpdate?: Date;
  /** Defaults to thisUpdate in Unix seconds, so later CRLs get larger numbers. */
  crlNumber?: bigint;
}

export interface EncodedCrl {
  der: Buffer;
  pem: string;
}

/**
 * A v2 CRL signed by `issuer` with the algorithm cfssl would use: issuer name byte-identical to the CA
 * certificate's subject, Authority Key Identifier and CRL Number extensions, and a reasonCode on each
 * entry that has a reason.
 */
export async function createCrl(issuer: Issuer, options: CreateCrlOptions): Promise<EncodedCrl> {
  const thisUpdate = crlTime(options.thisUpdate ?? new Date(), "thisUpdate");
  const nextUpdate = crlTime(
    options.nextUpdate ?? new Date(thisUpdate.getTime() + DEFAULT_CRL_VALIDITY_SECONDS * 1000),
    "nextUpdate",
  );
  if (nextUpdate <= thisUpdate) {
    throw new PkiError("E_FIELD", "must be later than thisUpdate", { field: "nextUpdate" });
  }
  const crlNumber = options.crlNumber ?? BigInt(Math.floor(thisUpdate.getTime() / 1000));
  // RFC 5280 §5.2.3: a non-negative integer of at most 20 octets.
  if (crlNumber < 0n || unsignedOctets(crlNumber).length > 20) {
    throw new PkiError("E_FIELD", "must be a non-negative integer of at most 20 octets", {
      field: "crlNumber",
    });
  }

  const seen = new Set<bigint>();
  const entries = options.entries.map((entry, index): x509.X509CrlEntryParams => {
    const field = `entries[${index}]`;
    const serial = toSerial(entry.serial, `${field}.serial`);
    if (seen.has(serial)) throw new PkiError("E_FIELD", `serial ${serial} is listed twice`, { field });
    seen.add(serial);
    if (entry.reason !== undefined && !Object.hasOwn(REASON_CODES, entry.reason)) {
      throw new PkiError("E_FIELD", unknownReasonMessage(String(entry.reason)), { field: `${field}.reason` });
    }
    return {
      serialNumber: unsignedOctets(serial).toString("hex"),
      revocationDate: crlTime(entry.revokedAt ?? thisUpdate, `${field}.revokedAt`),
      // Built here rather than by @peculiar/x509, which drops reason 0 (unspecified).
      extensions: entry.reason === undefined ? [] : [reasonExtension(entry.reason)],
    };
  });

  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.cert.subjectName, // re-encodes to the same bytes (string types and RDN order kept)
    thisUpdate,
    nextUpdate,
    signingAlgorithm: issuer.algorithm.signParams,
    signingKey: issuer.signingKey,
    extensions: [
      new x509.AuthorityKeyIdentifierExtension(await subjectKeyIdOf(issuer.cert)),
      new x509.Extension(OID_CRL_NUMBER, false, derElement(0x02, unsignedOctets(crlNumber))),
    ],
    entries,
  });
  const der = Buffer.from(crl.rawData);
  return { der, pem: encodePem(PEM_LABEL, der) };
}

export interface CrlEntry {
  serial: bigint;
  revokedAt: Date;
  reason?: CrlReason;
}

export interface ParsedCrl {
  /** The issuer DN, e.g. `CN=Example CA, O=Example`. */
  issuer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  crlNumber?: bigint;
  /** Hex keyIdentifier of the Authority Key Identifier extension. */
  authorityKeyId?: string;
  entries: CrlEntry[];
  /** Go/cfssl name (`ECDSAWithSHA256`, `SHA256WithRSA`, `Ed25519`…). */
  signatureAlgorithm: string;
  der: Buffer;
}

/** Reads one CRL, PEM (`X509 CRL`) or DER. Anything else is an E_CRL error. */
export function parseCrl(data: string | Buffer, field = "crl"): ParsedCrl {
  let blocks: Buffer[];
  try {
    blocks = derBlocks(data, [PEM_LABEL, "CRL"], "CRL", field);
  } catch (err) {
    if (err instanceof PkiError) throw new PkiError("E_CRL", err.detail, { field });
    throw err;
  }
  if (blocks.length !== 1) {
    throw new PkiError("E_CRL", `expected one CRL, found ${blocks.length}`, { field });
  }
  const der = blocks[0] as Buffer;
  try {
    const crl = new x509.X509Crl(new Uint8Array(der));
    const crlNumber = crl.getExtension(OID_CRL_NUMBER);
    const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
    const nextUpdate = crl.nextUpdate;
    return {
      issuer: crl.issuer,
      thisUpdate: crl.thisUpdate,
      ...(nextUpdate ? { nextUpdate } : {}),
      ...(crlNumber ? { crlNumber: readInteger(Buffer.from(crlNumber.value)) } : {}),
      ...(aki?.keyId ? { authorityKeyId: aki.keyId } : {}),
      entries: crl.entries.map((entry) => {
        const reason = CRL_REASONS.find((name) => REASON_CODES[name] === entry.reason);
        return {
          // The serial straight from the DER INTEGER (the library's hex drops the sign).
          serial: readInteger(readElement(Buffer.from(entry.rawData)).content),
          revokedAt: entry.revocationDate,
          ...(reason ? { reason } : {}),
        };
      }),
      signatureAlgorithm: signatureAlgorithmName(crl),
      der,
    };
  } catch (err) {
    if (err instanceof PkiError) throw err;
    throw new PkiError("E_CRL", "not a valid X.509 CRL", { field });
  }
}

/**
 * True when `issuerCert` issued the CRL: the same name (compared as OpenSSL does, so cfssl's CRLs, whose
 * issuer Go re-encodes, still match) and a valid signature by its key.
 */
export async function verifyCrl(crl: ParsedCrl, issuerCert: Certificate): Promise<boolean> {
  const parsed = new x509.X509Crl(new Uint8Array(crl.der));
  if (canonicalName(parsed.issuerName) !== canonicalName(issuerCert.subjectName)) return false;
  try {
    // The CA's public key, not the certificate: the library would take the certificate's own
    // signature algorithm, which need not be the CRL's.
    return await parsed.verify({ publicKey: issuerCert.publicKey });
  } catch {
    return false;
  }
}

/** A name by attribute types and values, ignoring string types, letter case and runs of spaces (RFC 5280 §7.1). */
function canonicalName(name: x509.Name): string {
  const rdns = name.toJSON().map((rdn) =>
    Object.entries(rdn)
      .flatMap(([type, values]) =>
        values.map((value) => `${type}=${value.trim().replace(/\s+/g, " ").toLowerCase()}`),
      )
      .sort(),
  );
  return JSON.stringify(rdns);
}

/** The revoked serials as decimal strings, for fast lookup of a presented certificate's serial. */
export function revokedSerials(crl: ParsedCrl): Set<string> {
  return new Set(crl.entries.map((entry) => entry.serial.toString()));
}

export interface SerialsFileEntry {
  serial: bigint;
  reason?: CrlReason;
}

/**
 * Reads a cfssl serials file: one decimal serial per line. Blank lines and `#` comments are ignored; a
 * second column may name the reason (`123456 keyCompromise`). A serial listed twice is kept once, unless
 * its reasons differ.
 */
export function parseSerialsFile(text: string): SerialsFileEntry[] {
  const entries: SerialsFileEntry[] = [];
  const firstSeen = new Map<bigint, { line: number; reason: CrlReason | undefined }>();
  text
    .replace(/^\uFEFF/, "")
    .split("\n")
    .forEach((raw, index) => {
      const line = index + 1;
      const field = `line ${line}`;
      const content = raw.replace(/#.*/, "").trim();
      if (content === "") return;
      const [serialText = "", reasonText, ...extra] = content.split(/\s+/);
      if (extra.length > 0) {
        throw new PkiError("E_FIELD", `expected "SERIAL [REASON]", got "${content}"`, { field });
      }
      const serial = toSerial(serialText, field);
      const reason = reasonText === undefined ? undefined : reasonNamed(reasonText, field);
      const previous = firstSeen.get(serial);
      if (previous) {
        if (previous.reason === reason) return;
        throw new PkiError(
          "E_FIELD",
          `serial ${serial} is already listed on line ${previous.line} with another reason`,
          {
            field,
          },
        );
      }
      firstSeen.set(serial, { line, reason });
      entries.push(reason ? { serial, reason } : { serial });
    });
  return entries;
}

/** A reason by its RFC 5280 name, in any letter case. */
function reasonNamed(text: string, field: string): CrlReason {
  const reason = CRL_REASONS.find((name) => name.toLowerCase() === text.toLowerCase());
  if (!reason) throw new PkiError("E_FIELD", unknownReasonMessage(text), { field });
  return reason;
}

function unknownReasonMessage(text: string): string {
  return `unknown revocation reason "${text}" (use one of: ${CRL_REASONS.join(", ")})`;
}

/** A serial from a bigint or a decimal string; hex gets a hint, since cfssl files are decimal. */
function toSerial(value: bigint | string, field: string): bigint {
  if (typeof value === "bigint") {
    if (value < 0n) throw new PkiError("E_FIELD", `serial ${value} is negative`, { field });
    return value;
  }
  if (/^\d+$/.test(value)) return BigInt(value);
  const hex = value.replace(/^0x/i, "").replaceAll(":", "");
  const hint = /^[0-9a-f]+$/i.test(hex) ? ` (if it is hex, write ${BigInt(`0x${hex}`)})` : "";
  throw new PkiError("E_FIELD", `"${value}" is not a decimal serial number${hint}`, { field });
}

/** Dates in a CRL are whole seconds, from 1950 (UTCTime) to 9999 (GeneralizedTime). */
function crlTime(date: Date, field: string): Date {
  const ms = date.getTime();
  if (Number.isNaN(ms)) throw new PkiError("E_FIELD", "is not a valid date", { field });
  const year = date.getUTCFullYear();
  if (year < 1950 || year > 9999) {
    throw new PkiError("E_FIELD", `year ${year} is out of range (1950 to 9999)`, { field });
  }
  return new Date(Math.floor(ms / 1000) * 1000);
}

function reasonExtension(reason: CrlReason): x509.Extension {
  return new x509.Extension(OID_CRL_REASON, false, derElement(0x0a, [REASON_CODES[reason]]));
}

/** Content octets of a non-negative DER INTEGER: minimal, with a leading 0 when the high bit is set. */
function unsignedOctets(value: bigint): Buffer {
  const hex = value.toString(16);
  const bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, "hex");
  return (bytes[0] as number) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
}

/** A short DER element (content under 128 octets: all this module writes). */
function derElement(tag: number, content: ArrayLike<number> & Iterable<number>): Uint8Array<ArrayBuffer> {
  return new Uint8Array([tag, content.length, ...content]);
}

/** The DER element at the start of `der`: its tag and content. */
function readElement(der: Buffer): { tag: number; content: Buffer } {
  const tag = der[0];
  let length = der[1];
  let offset = 2;
  if (tag === undefined || length === undefined) throw new PkiError("E_CRL", "truncated DER element");
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || der.length < 2 + count) throw new PkiError("E_CRL", "bad DER length");
    length = der.readUIntBE(2, count);
    offset += count;
  }
  if (der.length < offset + length) throw new PkiError("E_CRL", "truncated DER element");
  return { tag, content: der.subarray(offset, offset + length) };
}

/** The value of the DER INTEGER (two's complement) that `element` starts with. */
function readInteger(element: Buffer): bigint {
  const { tag, content } = readElement(element);
  if (tag !== 0x02 || content.length === 0) throw new PkiError("E_CRL", "expected a DER INTEGER");
  const value = BigInt(`0x${content.toString("hex")}`);
  return (content[0] as number) & 0x80 ? value - (1n << BigInt(content.length * 8)) : value;
}

/** How Go (and so cfssl) names the signature algorithm. */
function signatureAlgorithmName(crl: x509.X509Crl): string {
  let algorithm: Algorithm & { hash?: Algorithm };
  try {
    algorithm = crl.signatureAlgorithm;
  } catch {
    return "unknown"; // an algorithm @peculiar/x509 does not know (it throws rather than name it)
  }
  const bits = algorithm.hash?.name.replace("SHA-", "") ?? "";
  switch (algorithm.name) {
    case "RSASSA-PKCS1-v1_5":
      return bits === "1" ? "SHA1WithRSA" : `SHA${bits}WithRSA`;
    case "RSA-PSS":
      return `SHA${bits}WithRSAPSS`;
    case "ECDSA":
      return bits === "1" ? "ECDSAWithSHA1" : `ECDSAWithSHA${bits}`;
    default:
      return algorithm.name;
  }
}
