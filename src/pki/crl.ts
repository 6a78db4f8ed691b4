/**
 * Certificate revocation lists: create (as `cfssl gencrl` does, plus CRL Number and reasons), parse,
 * verify, and the cfssl serials file (one decimal serial per line).
 */
import { AsnConvert, OctetString } from "@peculiar/asn1-schema";
import * as asn1X509 from "@peculiar/asn1-x509";
import * as asn1js from "asn1js";
import { signatureAlgorithmName, UNKNOWN_SIGNATURE_ALGORITHM } from "./algorithm-names.ts";
import type { Certificate } from "./certificate.ts";
import { PkiError } from "./errors.ts";
import type { Issuer } from "./issuer.ts";
import { derBlocks, encodePem } from "./pem.ts";
import { subjectKeyIdOf } from "./sign.ts";
import { x509 } from "./x509.ts";

/** An RFC 5280 §5.3.1 CRLReason, by its ASN.1 name (`keyCompromise`…). */
export type CrlReason = keyof typeof x509.X509CrlReason;

/** The reason names in code order (the enum's keys also hold its reverse mapping, code to name). */
export const CRL_REASONS = Object.keys(x509.X509CrlReason).filter((key) =>
  Number.isNaN(Number(key)),
) as CrlReason[];

/** As cfssl: a CRL is valid for one week unless told otherwise. */
export const DEFAULT_CRL_VALIDITY_SECONDS = 7 * 24 * 60 * 60;

const OID_CRL_NUMBER = "2.5.29.20";
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
 * entry that has a reason other than unspecified.
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
  if (crlNumber < 0n || integerOctets(crlNumber).length > 20) {
    throw new PkiError("E_FIELD", "must be a non-negative integer of at most 20 octets", {
      field: "crlNumber",
    });
  }

  const seen = new Set<bigint>();
  const revokedCertificates = options.entries.map((entry, index) => {
    const field = `entries[${index}]`;
    const serial = toSerial(entry.serial, `${field}.serial`);
    if (seen.has(serial)) throw new PkiError("E_FIELD", `serial ${serial} is listed twice`, { field });
    seen.add(serial);
    if (entry.reason !== undefined && !CRL_REASONS.includes(entry.reason)) {
      throw new PkiError("E_FIELD", unknownReasonMessage(String(entry.reason)), { field: `${field}.reason` });
    }
    const revoked = new asn1X509.RevokedCertificate({
      userCertificate: integerOctets(serial).slice().buffer,
      revocationDate: new asn1X509.Time(crlTime(entry.revokedAt ?? thisUpdate, `${field}.revokedAt`)),
    });
    // RFC 5280 §5.3.1: the reasonCode unspecified SHOULD be absent. §5.1: crlEntryExtensions is
    // SIZE (1..MAX), so an entry without extensions leaves it out (@peculiar/x509's generator writes an
    // empty SEQUENCE, which pkijs refuses).
    if (entry.reason && entry.reason !== "unspecified") {
      revoked.crlEntryExtensions = [
        new asn1X509.Extension({
          extnID: asn1X509.id_ce_cRLReasons,
          critical: false,
          extnValue: new OctetString(
            AsnConvert.serialize(new asn1X509.CRLReason(asn1X509.CRLReasons[entry.reason])),
          ),
        }),
      ];
    }
    return revoked;
  });

  const extensions = [
    new x509.AuthorityKeyIdentifierExtension(await subjectKeyIdOf(issuer.cert)),
    new x509.Extension(OID_CRL_NUMBER, false, asn1js.Integer.fromBigInt(crlNumber).toBER()),
  ];
  // What X509CrlGenerator.create does, minus the empty crlEntryExtensions.
  const signingAlgorithm = { ...issuer.algorithm.signParams, ...issuer.signingKey.algorithm };
  const algorithmId = new x509.AlgorithmProvider().toAsnAlgorithm(signingAlgorithm);
  const tbsCertList = new asn1X509.TBSCertList({
    version: asn1X509.Version.v2,
    signature: algorithmId,
    // The CA's subject re-encoded: the same bytes (string types and RDN order kept).
    issuer: AsnConvert.parse(issuer.cert.subjectName.toArrayBuffer(), asn1X509.Name),
    thisUpdate: new asn1X509.Time(thisUpdate),
    nextUpdate: new asn1X509.Time(nextUpdate),
    crlExtensions: new asn1X509.Extensions(
      extensions.map((extension) => AsnConvert.parse(extension.rawData, asn1X509.Extension)),
    ),
    ...(revokedCertificates.length > 0 ? { revokedCertificates } : {}),
  });
  const tbs = AsnConvert.serialize(tbsCertList);
  const signature = await x509.cryptoProvider.get().subtle.sign(signingAlgorithm, issuer.signingKey, tbs);
  const crl = new asn1X509.CertificateList({
    tbsCertList,
    signatureAlgorithm: algorithmId,
    signature: asnSignature(signingAlgorithm, signature),
  });
  const der = Buffer.from(AsnConvert.serialize(crl));
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
      ...(crlNumber ? { crlNumber: readInteger(asn1js.fromBER(crlNumber.value).result) } : {}),
      ...(aki?.keyId ? { authorityKeyId: aki.keyId } : {}),
      entries: crl.entries.map((entry) => {
        // An entry without a reasonCode has no reason (RFC 5280: that means unspecified).
        const reason = entry.reason === undefined ? undefined : x509.X509CrlReason[entry.reason];
        const revoked = asn1js.fromBER(entry.rawData).result as asn1js.Sequence;
        return {
          // The serial straight from the DER INTEGER (the library's hex drops the sign).
          serial: readInteger(revoked.valueBlock.value[0]),
          revokedAt: entry.revocationDate,
          ...(reason ? { reason: reason as CrlReason } : {}),
        };
      }),
      signatureAlgorithm: crlSignatureAlgorithm(crl),
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

/** The signature as the CRL holds it, by @peculiar/x509's own formatters (ECDSA: r|s to DER), in its order. */
function asnSignature(algorithm: Algorithm, signature: ArrayBuffer): ArrayBuffer {
  for (const formatter of [new x509.AsnEcSignatureFormatter(), new x509.AsnDefaultSignatureFormatter()]) {
    const formatted = formatter.toAsnSignature(algorithm, signature);
    if (formatted) return formatted;
  }
  throw new PkiError("E_KEY", `cannot encode a ${algorithm.name} signature`);
}

/** Content octets of a DER INTEGER: minimal, with a leading 0 when a non-negative value's high bit is set. */
function integerOctets(value: bigint): Uint8Array {
  return asn1js.Integer.fromBigInt(value).valueBlock.valueHexView;
}

/** The value of a parsed DER INTEGER (two's complement); anything else is an E_CRL error. */
function readInteger(block: asn1js.AsnType | undefined): bigint {
  const isInteger = block instanceof asn1js.Integer && !(block instanceof asn1js.Enumerated);
  if (!isInteger || block.valueBlock.valueHexView.length === 0) {
    throw new PkiError("E_CRL", "expected a DER INTEGER");
  }
  return block.toBigInt();
}

/** The Go (cfssl) name of the CRL's signature algorithm. */
function crlSignatureAlgorithm(crl: x509.X509Crl): string {
  try {
    return signatureAlgorithmName(crl.signatureAlgorithm);
  } catch {
    return UNKNOWN_SIGNATURE_ALGORITHM; // @peculiar/x509 throws on an algorithm it cannot name
  }
}
