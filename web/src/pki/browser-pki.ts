/**
 * Client-certificate cryptography done in the browser, so a private key made here never leaves it: an
 * ECDSA P-256 key from WebCrypto, a PKCS#10 CSR signed with it (only the CSR goes to the server), and a
 * PKCS#12 file (certificate, chain, key) for browsers and keychains — PBES2 with PBKDF2-HMAC-SHA256 and
 * AES-256-CBC, an HMAC-SHA256 MAC: what OpenSSL 3 writes by default. pkijs supplies the ASN.1.
 * Pure WebCrypto + pkijs: it runs the same in Node (where the tests check it with openssl).
 */
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";

const OID = {
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  organizationalUnit: "2.5.4.11",
  country: "2.5.4.6",
  keyBag: "1.2.840.113549.1.12.10.1.2",
  certBag: "1.2.840.113549.1.12.10.1.3",
  x509Certificate: "1.2.840.113549.1.9.22.1",
  friendlyName: "1.2.840.113549.1.9.20",
  localKeyId: "1.2.840.113549.1.9.21",
} as const;

export const PKCS12_ITERATIONS = 100_000;

export interface SubjectInput {
  commonName: string;
  organization?: string;
  organizationalUnit?: string;
}

export interface BrowserKeyAndCsr {
  /** PKCS#8 PEM of the new private key: kept in the page, offered only as a download. */
  keyPem: string;
  keyPkcs8: Uint8Array;
  csrPem: string;
}

export function toPem(label: string, der: ArrayBuffer | Uint8Array): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const base64 = btoa(binary);
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of every PEM block with `label` in `text`, in order. */
export function fromPem(text: string, label: string): Uint8Array[] {
  const pattern = new RegExp(`-----BEGIN ${label}-----([^-]+)-----END ${label}-----`, "g");
  return [...text.matchAll(pattern)].map((match) => {
    const binary = atob((match[1] ?? "").replace(/\s+/g, ""));
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  });
}

function copy(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer;
}

/** One attribute per RDN (O=…, OU=…, CN=…), not one multi-valued RDN. */
function subjectOf(input: SubjectInput): pkijs.RelativeDistinguishedNames {
  const sets: asn1js.Set[] = [];
  const add = (type: string, value: string | undefined) => {
    if (!value) return;
    const pair = new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) });
    sets.push(new asn1js.Set({ value: [pair.toSchema()] }));
  };
  add(OID.organization, input.organization);
  add(OID.organizationalUnit, input.organizationalUnit);
  add(OID.commonName, input.commonName);
  const der = new asn1js.Sequence({ value: sets }).toBER(false);
  return new pkijs.RelativeDistinguishedNames({ schema: asn1js.fromBER(der).result });
}

/** A new ECDSA P-256 key pair (WebCrypto) and a CSR for `subject` signed with it. */
export async function generateKeyAndCsr(subject: SubjectInput): Promise<BrowserKeyAndCsr> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const csr = new pkijs.CertificationRequest();
  csr.subject = subjectOf(subject);
  await csr.subjectPublicKeyInfo.importKey(keys.publicKey);
  await csr.sign(keys.privateKey, "SHA-256");
  const csrDer = csr.toSchema(true).toBER(false);
  const keyPkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { keyPem: toPem("PRIVATE KEY", keyPkcs8), keyPkcs8, csrPem: toPem("CERTIFICATE REQUEST", csrDer) };
}

export interface Pkcs12Input {
  /** The client certificate first, then its issuers (PEM, any number of blocks). */
  certificatesPem: string;
  keyPkcs8: Uint8Array;
  password: string;
  friendlyName?: string;
  iterations?: number;
}

/** A PKCS#12 file with the key (shrouded) and the certificates (encrypted), MAC'd with the password. */
export async function makePkcs12(input: Pkcs12Input): Promise<Uint8Array> {
  const iterations = input.iterations ?? PKCS12_ITERATIONS;
  const password = new TextEncoder().encode(input.password).buffer as ArrayBuffer;
  const certificates = fromPem(input.certificatesPem, "CERTIFICATE").map((der) =>
    pkijs.Certificate.fromBER(copy(der)),
  );
  const leaf = certificates[0];
  if (!leaf) throw new Error("no certificate to put in the PKCS#12 file");
  const privateKeyInfo = pkijs.PrivateKeyInfo.fromBER(copy(input.keyPkcs8));
  const localKeyId = new Uint8Array(
    await crypto.subtle.digest("SHA-256", leaf.toSchema().toBER(false)),
  ).slice(0, 20);
  const attributes = (withName: boolean) => [
    new pkijs.Attribute({
      type: OID.localKeyId,
      values: [new asn1js.OctetString({ valueHex: copy(localKeyId) })],
    }),
    ...(withName && input.friendlyName
      ? [
          new pkijs.Attribute({
            type: OID.friendlyName,
            values: [new asn1js.BmpString({ value: input.friendlyName })],
          }),
        ]
      : []),
  ];
  const keyBag = new pkijs.SafeBag({
    bagId: OID.keyBag,
    bagValue: new pkijs.PKCS8ShroudedKeyBag({ parsedValue: privateKeyInfo }),
    bagAttributes: attributes(true),
  });
  const certBags = certificates.map(
    (certificate, index) =>
      new pkijs.SafeBag({
        bagId: OID.certBag,
        bagValue: new pkijs.CertBag({ parsedValue: certificate }),
        ...(index === 0 ? { bagAttributes: attributes(true) } : {}),
      }),
  );
  const pfx = new pkijs.PFX({
    parsedValue: {
      integrityMode: 0,
      authenticatedSafe: new pkijs.AuthenticatedSafe({
        parsedValue: {
          safeContents: [
            { privacyMode: 0, value: new pkijs.SafeContents({ safeBags: [keyBag] }) },
            { privacyMode: 1, value: new pkijs.SafeContents({ safeBags: certBags }) },
          ],
        },
      }),
    },
  });
  const encryption = {
    password,
    // pkijs makes a fresh random IV per encryption; the type asks for one it does not use.
    contentEncryptionAlgorithm: { name: "AES-CBC", length: 256, iv: new Uint8Array(16) },
    hmacHashAlgorithm: "SHA-256",
    iterationCount: iterations,
  };
  await (keyBag.bagValue as pkijs.PKCS8ShroudedKeyBag).makeInternalValues(encryption);
  const safe = pfx.parsedValue?.authenticatedSafe;
  if (!safe) throw new Error("PKCS#12: no authenticated safe");
  await safe.makeInternalValues({ safeContents: [{}, encryption] });
  await pfx.makeInternalValues({
    password,
    iterations,
    pbkdf2HashAlgorithm: "SHA-256",
    hmacHashAlgorithm: "SHA-256",
  });
  return new Uint8Array(pfx.toSchema().toBER(false));
}
