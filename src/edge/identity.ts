/**
 * The client identity of one TLS connection, in every format of docs formats.md: computed once per
 * distinct certificate chain (the caller caches it by fingerprint), then reused by headers, rules,
 * Access, functions, the API and events.
 *
 * The certificate is read with a small DER walk rather than `crypto.X509Certificate`: Node has no
 * subject key identifiers, its DN strings are neither RFC 2253 nor OpenSSL's legacy one-line form
 * (that needs the raw bytes and string type of each value), and one walk yields every field in the
 * exact text OpenSSL prints (nginx's `$ssl_client_*` variables are that text), faster than building an
 * X509Certificate. The certificate has already been parsed by OpenSSL during the handshake (which
 * refuses name values of other types, bad UTF-8, odd-length BMPStrings and surrogates), so a DER error
 * here means a BER-only encoding OpenSSL tolerated; certificateFields throws `Error` for it.
 */
import { createHash } from "node:crypto";

/** One attribute of a distinguished name, in certificate (DER) order. */
export interface NameAttribute {
  /** Dotted object identifier, e.g. `2.5.4.3`. */
  oid: string;
  /** OpenSSL's short name (`CN`, `emailAddress`, …), or the dotted OID when OpenSSL has none. */
  name: string;
  /** The value as text (UTF-8, BMP, universal and 8-bit strings decoded), "" for a non-string value. */
  value: string;
}

/** Every formats.md field of one presented client certificate; computed once per distinct chain, then reused. */
export interface CertificateFields {
  /** RFC 2253, as `openssl x509 -nameopt RFC2253` and nginx `$ssl_client_s_dn` print it. */
  subjectDn: string;
  issuerDn: string;
  /** OpenSSL's one-line form (`X509_NAME_oneline`), nginx `$ssl_client_s_dn_legacy`. */
  subjectDnLegacy: string;
  issuerDnLegacy: string;
  /** Uppercase hex, no colons, as `openssl x509 -serial` (negative serials get a leading "-"). */
  serial: string;
  /** Serial of the direct issuer certificate, "" when unknown. */
  issuerSerial: string;
  /** Lowercase hex of the DER. */
  fingerprintSha256: string;
  fingerprintSha1: string;
  /** `Mar  1 13:35:00 2022 GMT` (OpenSSL's ASN1_TIME_print: day padded with a space); "" if unreadable. */
  notBefore: string;
  notAfter: string;
  /** NaN when the time is unreadable. */
  notBeforeMs: number;
  notAfterMs: number;
  /** Uppercase hex of the SubjectKeyIdentifier, "" when absent. */
  ski: string;
  /** The issuer certificate's SKI, else the leaf's AuthorityKeyIdentifier keyId, else "". */
  issuerSki: string;
  der: Buffer;
  pem: string;
  /** The certificates the client sent after the leaf. */
  chainDer: Buffer[];
  /** `:base64(DER):`; "" and too large when the value is over 10 KiB. */
  rfc9440: string;
  rfc9440TooLarge: boolean;
  /** `:b64:, :b64:` of chainDer; "" and too large when over 16 KiB. */
  chainRfc9440: string;
  chainRfc9440TooLarge: boolean;
  /** Subject alternative names; IPs in RFC 5952 text (`192.0.2.1`, `2001:db8::1`). */
  sans: { dns: string[]; email: string[]; uri: string[]; ip: string[] };
  subjectAttributes: NameAttribute[];
  issuerAttributes: NameAttribute[];
}

/** The per-request view: static fields + this request's verification and revocation status. */
export interface ClientAuth {
  presented: boolean;
  /** Chain verified to a trusted CA of the host (true even when revoked, like Cloudflare). */
  verified: boolean;
  revoked: boolean;
  /** "SUCCESS" | "NONE" | "FAILED:<reason>" (nginx $ssl_client_verify style). */
  verify: string;
  cert: CertificateFields | null;
}

export const NO_CLIENT_AUTH: ClientAuth = Object.freeze({
  presented: false,
  verified: false,
  revoked: false,
  verify: "NONE",
  cert: null,
});

const RFC9440_MAX = 10 * 1024;
const RFC9440_CHAIN_MAX = 16 * 1024;

export function certificateFields(
  leafDer: Buffer,
  chainDer: readonly Buffer[],
  issuerDer?: Buffer,
): CertificateFields {
  const der = Buffer.isBuffer(leafDer) ? leafDer : Buffer.from(leafDer);
  const tbs = walkCertificate(der);
  const issuer = issuerDer ? walkCertificate(issuerDer) : undefined;
  const subjectAvas = nameAttributes(der, tbs.subject);
  const issuerAvas = nameAttributes(der, tbs.issuer);
  const notBefore = readTime(der, tbs.notBefore);
  const notAfter = readTime(der, tbs.notAfter);
  const rfc9440 = `:${der.toString("base64")}:`;
  const chain = chainDer.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)));
  const chainRfc9440 = chain.map((c) => `:${c.toString("base64")}:`).join(", ");
  return {
    subjectDn: rfc2253(der, subjectAvas),
    issuerDn: rfc2253(der, issuerAvas),
    subjectDnLegacy: oneline(der, subjectAvas),
    issuerDnLegacy: oneline(der, issuerAvas),
    serial: serialHex(der, tbs.serial),
    issuerSerial: issuer ? serialHex(issuerDer as Buffer, issuer.serial) : "",
    fingerprintSha256: createHash("sha256").update(der).digest("hex"),
    fingerprintSha1: createHash("sha1").update(der).digest("hex"),
    notBefore: notBefore.text,
    notAfter: notAfter.text,
    notBeforeMs: notBefore.ms,
    notAfterMs: notAfter.ms,
    ski: tbs.ski,
    issuerSki: issuer?.ski || tbs.akiKeyId,
    der,
    pem: pemOf(der),
    chainDer: chain,
    rfc9440: rfc9440.length > RFC9440_MAX ? "" : rfc9440,
    rfc9440TooLarge: rfc9440.length > RFC9440_MAX,
    chainRfc9440: chainRfc9440.length > RFC9440_CHAIN_MAX ? "" : chainRfc9440,
    chainRfc9440TooLarge: chainRfc9440.length > RFC9440_CHAIN_MAX,
    sans: tbs.sans,
    subjectAttributes: subjectAvas.map((a) => publicAttribute(der, a)),
    issuerAttributes: issuerAvas.map((a) => publicAttribute(der, a)),
  };
}

/** The certificate as PEM, 64 columns, as OpenSSL writes it. */
export function pemOf(der: Buffer): string {
  const b64 = der.toString("base64");
  let body = "";
  for (let i = 0; i < b64.length; i += 64) body += `${b64.slice(i, i + 64)}\n`;
  return `-----BEGIN CERTIFICATE-----\n${body}-----END CERTIFICATE-----\n`;
}

/** Rules fields `cf.tls_client_auth.*` (keys without the prefix). Without a cert: strings "" and bools false. */
export function tlsClientAuthFields(auth: ClientAuth): Record<string, string | boolean> {
  const c = auth.cert;
  return {
    cert_presented: auth.presented,
    cert_verified: auth.verified,
    cert_revoked: auth.revoked,
    cert_issuer_dn: c?.issuerDn ?? "",
    cert_subject_dn: c?.subjectDn ?? "",
    cert_issuer_dn_rfc2253: c?.issuerDn ?? "",
    cert_subject_dn_rfc2253: c?.subjectDn ?? "",
    cert_issuer_dn_legacy: c?.issuerDnLegacy ?? "",
    cert_subject_dn_legacy: c?.subjectDnLegacy ?? "",
    cert_serial: c?.serial ?? "",
    cert_issuer_serial: c?.issuerSerial ?? "",
    cert_fingerprint_sha256: c?.fingerprintSha256 ?? "",
    cert_fingerprint_sha1: c?.fingerprintSha1 ?? "",
    cert_not_before: c?.notBefore ?? "",
    cert_not_after: c?.notAfter ?? "",
    cert_ski: c?.ski ?? "",
    cert_issuer_ski: c?.issuerSki ?? "",
    cert_rfc9440: c?.rfc9440 ?? "",
    cert_rfc9440_too_large: c?.rfc9440TooLarge ?? false,
    cert_chain_rfc9440: c?.chainRfc9440 ?? "",
    cert_chain_rfc9440_too_large: c?.chainRfc9440TooLarge ?? false,
  };
}

/** Workers `request.cf.tlsClientAuth`: every value a string, flags "1"/"0", certVerified the verify text. */
export function workersTlsClientAuth(auth: ClientAuth): Record<string, string> {
  const c = auth.cert;
  return {
    certPresented: auth.presented ? "1" : "0",
    certVerified: auth.presented ? auth.verify : "NONE",
    certRevoked: auth.revoked ? "1" : "0",
    certIssuerDN: c?.issuerDn ?? "",
    certSubjectDN: c?.subjectDn ?? "",
    certIssuerDNRFC2253: c?.issuerDn ?? "",
    certSubjectDNRFC2253: c?.subjectDn ?? "",
    certIssuerDNLegacy: c?.issuerDnLegacy ?? "",
    certSubjectDNLegacy: c?.subjectDnLegacy ?? "",
    certSerial: c?.serial ?? "",
    certIssuerSerial: c?.issuerSerial ?? "",
    certSKI: c?.ski ?? "",
    certIssuerSKI: c?.issuerSki ?? "",
    certFingerprintSHA1: c?.fingerprintSha1 ?? "",
    certFingerprintSHA256: c?.fingerprintSha256 ?? "",
    certNotBefore: c?.notBefore ?? "",
    certNotAfter: c?.notAfter ?? "",
  };
}

/** Azion's ssl_verification_status. A revoked certificate is a verification error there. */
export function verificationStatus(auth: ClientAuth): string {
  if (!auth.presented) return "MISSING_CLIENT_CERTIFICATE";
  return auth.verified && !auth.revoked ? "SUCCESS" : "CERTIFICATE_VERIFICATION_ERROR";
}

// ---------------------------------------------------------------------------------------------------
// DER walk

interface Tlv {
  tag: number;
  start: number;
  body: number;
  end: number;
}

function malformed(what: string): Error {
  return new Error(`client certificate is not DER: ${what}`);
}

function byteAt(der: Buffer, i: number): number {
  return der[i] as number;
}

function readTlv(der: Buffer, pos: number, limit: number): Tlv {
  if (pos + 2 > limit) throw malformed("truncated");
  const tag = byteAt(der, pos);
  if ((tag & 0x1f) === 0x1f) throw malformed("multi-byte tag");
  let len = byteAt(der, pos + 1);
  let body = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw malformed("indefinite length");
    if (n > 4 || body + n > limit) throw malformed("length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + byteAt(der, body++);
  }
  const end = body + len;
  if (end > limit) throw malformed("length past its container");
  return { tag, start: pos, body, end };
}

function expect(der: Buffer, pos: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(der, pos, limit);
  if (t.tag !== tag) throw malformed(`${what} has tag 0x${t.tag.toString(16)}`);
  return t;
}

interface Walked {
  serial: Tlv;
  issuer: Tlv;
  subject: Tlv;
  notBefore: Tlv;
  notAfter: Tlv;
  ski: string;
  akiKeyId: string;
  sans: CertificateFields["sans"];
}

const OID_SKI = "551d0e";
const OID_AKI = "551d23";
const OID_SAN = "551d11";

/** Locates the TBSCertificate fields and reads the extensions that matter here. */
function walkCertificate(der: Buffer): Walked {
  const cert = expect(der, 0, der.length, 0x30, "Certificate");
  const tbs = expect(der, cert.body, cert.end, 0x30, "TBSCertificate");
  let t = readTlv(der, tbs.body, tbs.end);
  if (t.tag === 0xa0) t = readTlv(der, t.end, tbs.end); // explicit version
  if (t.tag !== 0x02) throw malformed("serialNumber");
  const serial = t;
  const sigAlg = expect(der, serial.end, tbs.end, 0x30, "signature");
  const issuer = expect(der, sigAlg.end, tbs.end, 0x30, "issuer");
  const validity = expect(der, issuer.end, tbs.end, 0x30, "validity");
  const notBefore = readTlv(der, validity.body, validity.end);
  const notAfter = readTlv(der, notBefore.end, validity.end);
  const subject = expect(der, validity.end, tbs.end, 0x30, "subject");
  const spki = expect(der, subject.end, tbs.end, 0x30, "subjectPublicKeyInfo");
  const out: Walked = {
    serial,
    issuer,
    subject,
    notBefore,
    notAfter,
    ski: "",
    akiKeyId: "",
    sans: { dns: [], email: [], uri: [], ip: [] },
  };
  for (let p = spki.end; p < tbs.end; ) {
    const field = readTlv(der, p, tbs.end);
    p = field.end;
    if (field.tag !== 0xa3) continue; // issuerUniqueID, subjectUniqueID
    const list = expect(der, field.body, field.end, 0x30, "extensions");
    for (let q = list.body; q < list.end; ) {
      const ext = expect(der, q, list.end, 0x30, "extension");
      q = ext.end;
      const oid = expect(der, ext.body, ext.end, 0x06, "extnID");
      let v = readTlv(der, oid.end, ext.end);
      if (v.tag === 0x01) v = readTlv(der, v.end, ext.end); // critical
      if (v.tag !== 0x04) throw malformed("extnValue");
      readExtension(der, der.toString("hex", oid.body, oid.end), v, out);
    }
  }
  return out;
}

function readExtension(der: Buffer, oid: string, value: Tlv, out: Walked): void {
  if (oid === OID_SKI) {
    const id = expect(der, value.body, value.end, 0x04, "subjectKeyIdentifier");
    out.ski = der.toString("hex", id.body, id.end).toUpperCase();
  } else if (oid === OID_AKI) {
    const seq = expect(der, value.body, value.end, 0x30, "authorityKeyIdentifier");
    const first = seq.body < seq.end ? readTlv(der, seq.body, seq.end) : undefined;
    if (first?.tag === 0x80) out.akiKeyId = der.toString("hex", first.body, first.end).toUpperCase();
  } else if (oid === OID_SAN) {
    const seq = expect(der, value.body, value.end, 0x30, "subjectAltName");
    for (let p = seq.body; p < seq.end; ) {
      const gn = readTlv(der, p, seq.end);
      p = gn.end;
      if (gn.tag === 0x81) out.sans.email.push(der.toString("latin1", gn.body, gn.end));
      else if (gn.tag === 0x82) out.sans.dns.push(der.toString("latin1", gn.body, gn.end));
      else if (gn.tag === 0x86) out.sans.uri.push(der.toString("latin1", gn.body, gn.end));
      else if (gn.tag === 0x87) {
        const ip = ipText(der.subarray(gn.body, gn.end));
        if (ip) out.sans.ip.push(ip);
      }
    }
  }
}

/** IPv4 dotted, IPv6 per RFC 5952 (as Go's net.IP prints, v4-mapped addresses as IPv4); "" otherwise. */
function ipText(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) return "";
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) {
    return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  let bestStart = -1;
  let bestLen = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** As `openssl x509 -serial` (i2a_ASN1_INTEGER): the magnitude's bytes in uppercase hex. */
function serialHex(der: Buffer, serial: Tlv): string {
  if (serial.end === serial.body) return "00";
  if (byteAt(der, serial.body) & 0x80) {
    const bits = BigInt((serial.end - serial.body) * 8);
    const value = BigInt(`0x${der.toString("hex", serial.body, serial.end)}`) - (1n << bits);
    const hex = (-value).toString(16).toUpperCase();
    return `-${hex.length % 2 ? "0" : ""}${hex}`;
  }
  let start = serial.body;
  while (start < serial.end - 1 && byteAt(der, start) === 0) start++;
  return der.toString("hex", start, serial.end).toUpperCase();
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const UTC_TIME = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;
const GENERALIZED_TIME = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/** A validity time as OpenSSL's ASN1_TIME_print writes it (`%s %2d %02d:%02d:%02d %d GMT`). */
function readTime(der: Buffer, t: Tlv): { text: string; ms: number } {
  const s = der.toString("latin1", t.body, t.end);
  const m = t.tag === 0x17 ? UTC_TIME.exec(s) : t.tag === 0x18 ? GENERALIZED_TIME.exec(s) : null;
  if (!m) return { text: "", ms: Number.NaN };
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const year = t.tag === 0x17 ? (y >= 50 ? 1900 : 2000) + y : y;
  const date = new Date(0);
  date.setUTCFullYear(year, mo - 1, d); // not Date.UTC, which maps years 0-99 to 1900-1999
  date.setUTCHours(h, mi, sec, 0);
  // OpenSSL rejects out-of-range fields ("Bad time value") rather than rolling them over.
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || sec > 59) {
    return { text: "", ms: Number.NaN };
  }
  const two = (n: number) => String(n).padStart(2, "0");
  const day = String(d).padStart(2, " ");
  return {
    text: `${MONTHS[mo - 1]} ${day} ${two(h)}:${two(mi)}:${two(sec)} ${year} GMT`,
    ms: date.getTime(),
  };
}

// ---------------------------------------------------------------------------------------------------
// Distinguished names, printed exactly as OpenSSL does

interface Ava {
  oid: string;
  /** OpenSSL short name; undefined for an OID OpenSSL does not know. */
  sn: string | undefined;
  /** Which RDN (SET) it belongs to; equal for the members of a multi-valued RDN. */
  set: number;
  value: Tlv;
}

/**
 * OpenSSL's short names for attributes seen in names (obj_mac.h of OpenSSL 3: X.520, PKCS #9, the
 * pilot/LDAP attributes, EV jurisdiction). An OID missing here prints dotted, with its value dumped as
 * `#hex` in RFC 2253 form, as OpenSSL does for OIDs it does not know.
 */
const SHORT_NAMES = new Map<string, string>();
for (const [prefix, list] of [
  [
    "2.5.4.",
    "3 CN,4 SN,5 serialNumber,6 C,7 L,8 ST,9 street,10 O,11 OU,12 title,13 description,14 searchGuide," +
      "15 businessCategory,16 postalAddress,17 postalCode,18 postOfficeBox,19 physicalDeliveryOfficeName," +
      "20 telephoneNumber,21 telexNumber,22 teletexTerminalIdentifier,23 facsimileTelephoneNumber," +
      "24 x121Address,25 internationaliSDNNumber,26 registeredAddress,27 destinationIndicator," +
      "28 preferredDeliveryMethod,29 presentationAddress,30 supportedApplicationContext,31 member,32 owner," +
      "33 roleOccupant,34 seeAlso,35 userPassword,36 userCertificate,37 cACertificate," +
      "38 authorityRevocationList,39 certificateRevocationList,40 crossCertificatePair,41 name,42 GN," +
      "43 initials,44 generationQualifier,45 x500UniqueIdentifier,46 dnQualifier,47 enhancedSearchGuide," +
      "48 protocolInformation,49 distinguishedName,50 uniqueMember,51 houseIdentifier,52 supportedAlgorithms," +
      "53 deltaRevocationList,54 dmdName,65 pseudonym,72 role,97 organizationIdentifier,98 c3,99 n3,100 dnsName",
  ],
  ["1.2.840.113549.1.9.", "1 emailAddress,2 unstructuredName,7 challengePassword,8 unstructuredAddress"],
  [
    "0.9.2342.19200300.100.1.",
    "1 UID,2 textEncodedORAddress,3 mail,4 info,5 favouriteDrink,6 roomNumber,7 photo,8 userClass,9 host," +
      "10 manager,11 documentIdentifier,12 documentTitle,13 documentVersion,14 documentAuthor," +
      "15 documentLocation,20 homeTelephoneNumber,21 secretary,22 otherMailbox,23 lastModifiedTime," +
      "24 lastModifiedBy,25 DC,26 aRecord,27 pilotAttributeType27,28 mXRecord,29 nSRecord,30 sOARecord," +
      "31 cNAMERecord,37 associatedDomain,38 associatedName,39 homePostalAddress,40 personalTitle," +
      "41 mobileTelephoneNumber,42 pagerTelephoneNumber,43 friendlyCountryName,44 uid,45 organizationalStatus," +
      "46 janetMailbox,47 mailPreferenceOption,48 buildingName,49 dSAQuality,50 singleLevelQuality," +
      "51 subtreeMinimumQuality,52 subtreeMaximumQuality,53 personalSignature,54 dITRedirect,55 audio," +
      "56 documentPublisher",
  ],
  ["1.3.6.1.4.1.311.60.2.1.", "1 jurisdictionL,2 jurisdictionST,3 jurisdictionC"],
] as const) {
  for (const entry of list.split(",")) {
    const [arc, sn] = entry.split(" ") as [string, string];
    SHORT_NAMES.set(prefix + arc, sn);
  }
}

function oidText(der: Buffer, t: Tlv): string {
  const arcs: number[] = [];
  let v = 0;
  for (let i = t.body; i < t.end; i++) {
    const b = byteAt(der, i);
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs[0] ?? 0;
  const top = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [top, first - top * 40, ...arcs.slice(1)].join(".");
}

function nameAttributes(der: Buffer, name: Tlv): Ava[] {
  const out: Ava[] = [];
  let set = 0;
  for (let p = name.body; p < name.end; set++) {
    const rdn = expect(der, p, name.end, 0x31, "RelativeDistinguishedName");
    p = rdn.end;
    for (let q = rdn.body; q < rdn.end; ) {
      const ava = expect(der, q, rdn.end, 0x30, "AttributeTypeAndValue");
      q = ava.end;
      const oidTlv = expect(der, ava.body, ava.end, 0x06, "attribute type");
      const oid = oidText(der, oidTlv);
      out.push({ oid, sn: SHORT_NAMES.get(oid), set, value: readTlv(der, oidTlv.end, ava.end) });
    }
  }
  return out;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).toUpperCase().padStart(2, "0"));

/**
 * The bytes OpenSSL keeps for a name value: the content (a BIT STRING's without its unused-bits byte),
 * or the whole encoding of a constructed value.
 */
function valueBytes(der: Buffer, v: Tlv): Buffer {
  if (v.tag & 0x20) return der.subarray(v.start, v.end);
  return der.subarray(v.tag === 0x03 && v.end > v.body ? v.body + 1 : v.body, v.end);
}

/**
 * RFC 2253 as X509_NAME_print_ex(XN_FLAG_RFC2253): last RDN first, "," between RDNs and "+" inside
 * one, values converted to UTF-8 with `,+"\<>;` escaped by a backslash, `#` or space escaped first and
 * space last, control bytes and bytes over 0x7F as `\XX`, and unknown types or OIDs dumped as `#`+DER hex.
 */
function rfc2253(der: Buffer, avas: readonly Ava[]): string {
  let out = "";
  for (let i = avas.length - 1; i >= 0; i--) {
    const a = avas[i] as Ava;
    if (i < avas.length - 1) out += (avas[i + 1] as Ava).set === a.set ? "+" : ",";
    out += `${a.sn ?? a.oid}=`;
    const width = a.sn === undefined ? -1 : charWidth(a.value.tag);
    out += width < 0 ? dumpDer(der, a.value) : escape2253(valueBytes(der, a.value), width);
  }
  return out;
}

/** OpenSSL's tag2nbyte: 0 = UTF-8 (printed byte by byte), 1/2/4 = code unit width, -1 = dump. */
function charWidth(tag: number): number {
  switch (tag) {
    case 0x0c:
      return 0;
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x16:
    case 0x17:
    case 0x18:
    case 0x1a:
      return 1;
    case 0x1e:
      return 2;
    case 0x1c:
      return 4;
    default:
      return -1;
  }
}

function dumpDer(der: Buffer, v: Tlv): string {
  return `#${der.toString("hex", v.start, v.end).toUpperCase()}`;
}

const FIRST = 1;
const LAST = 2;

function escape2253(bytes: Buffer, width: number): string {
  const unit = width === 0 ? 1 : width;
  if (bytes.length % unit !== 0) return `#${bytes.toString("hex").toUpperCase()}`;
  let out = "";
  for (let i = 0; i < bytes.length; i += unit) {
    let c = 0;
    for (let k = 0; k < unit; k++) c = c * 256 + byteAt(bytes, i + k);
    // OpenSSL replaces (not adds) the first-char flag with the last-char one, so "#" alone is not escaped.
    const pos = i + unit === bytes.length ? LAST : i === 0 ? FIRST : 0;
    if (width === 0 || c < 0x80) out += escapeByte(c, pos);
    else for (const b of utf8Bytes(c)) out += `\\${HEX[b]}`;
  }
  return out;
}

function escapeByte(b: number, pos: number): string {
  if (b >= 0x80 || b < 0x20 || b === 0x7f) return `\\${HEX[b]}`;
  const ch = String.fromCharCode(b);
  if ('"+,;<>\\'.includes(ch)) return `\\${ch}`;
  if ((pos === FIRST && (b === 0x23 || b === 0x20)) || (pos === LAST && b === 0x20)) return `\\${ch}`;
  return ch;
}

/** UTF-8 of one code point as OpenSSL's UTF8_putc, which refuses surrogates and values past U+10FFFF. */
function utf8Bytes(c: number): number[] {
  if (c < 0x800) return [0xc0 | (c >> 6), 0x80 | (c & 0x3f)];
  if (c < 0x10000) {
    if (c >= 0xd800 && c < 0xe000) return [];
    return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
  }
  if (c > 0x10ffff) return [];
  return [0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)];
}

/**
 * OpenSSL's X509_NAME_oneline (nginx `$ssl_client_s_dn_legacy`): `/` before each RDN, `+` inside a
 * multi-valued one, the raw value bytes with `/` and `+` backslash-escaped and bytes outside
 * 0x20..0x7E as `\xXX`.
 */
function oneline(der: Buffer, avas: readonly Ava[]): string {
  let out = "";
  let prevSet = -1;
  for (const a of avas) {
    out += `${a.set === prevSet ? "+" : "/"}${a.sn ?? a.oid}=`;
    prevSet = a.set;
    const bytes = valueBytes(der, a.value);
    const keep = generalStringMask(a.value.tag, bytes);
    for (let i = 0; i < bytes.length; i++) {
      if (!(keep & (1 << (i & 3)))) continue;
      const b = byteAt(bytes, i);
      if (b < 0x20 || b > 0x7e) out += `\\x${HEX[b]}`;
      else out += b === 0x2f || b === 0x2b ? `\\${String.fromCharCode(b)}` : String.fromCharCode(b);
    }
  }
  return out;
}

/** X509_NAME_oneline prints only every 4th byte of a GeneralString that looks like UCS-4 of Latin-1. */
function generalStringMask(tag: number, bytes: Buffer): number {
  if (tag !== 0x1b || bytes.length % 4 !== 0) return 0b1111;
  for (let i = 0; i < bytes.length; i++) if ((i & 3) !== 3 && bytes[i] !== 0) return 0b1111;
  return 0b1000;
}

const UTF8 = new TextDecoder("utf-8");
const UTF16BE = new TextDecoder("utf-16be");

function publicAttribute(der: Buffer, a: Ava): NameAttribute {
  return { oid: a.oid, name: a.sn ?? a.oid, value: decodeValue(der, a.value) };
}

/** The value as text the way Go's crypto/x509 decodes it (T61 as Latin-1); "" for non-strings. */
function decodeValue(der: Buffer, v: Tlv): string {
  const bytes = der.subarray(v.body, v.end);
  switch (v.tag) {
    case 0x0c:
      return UTF8.decode(bytes);
    case 0x12:
    case 0x13:
    case 0x14:
    case 0x16:
    case 0x1a:
      return bytes.toString("latin1");
    case 0x1e:
      return UTF16BE.decode(bytes);
    case 0x1c: {
      let s = "";
      for (let i = 0; i + 4 <= bytes.length; i += 4) {
        const c = bytes.readUInt32BE(i);
        s += c > 0x10ffff ? "\ufffd" : String.fromCodePoint(c);
      }
      return s;
    }
    default:
      return "";
  }
}
