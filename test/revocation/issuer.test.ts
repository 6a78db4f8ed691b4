import assert from "node:assert/strict";
import { createHash, X509Certificate } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { crlDer, findCrlIssuer, parseCrlFast } from "../../src/revocation/index.ts";
import { assertOpensslVerifiesCrl, type KeyType, makeCa, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";
import {
  buildCrl,
  integerContents,
  opensslAcceptsCrl,
  opensslGencrl,
  seq,
  subjectDer,
  tlv,
} from "./crl-fixtures.ts";

const needsOpenssl = { skip: missingPeer("openssl") };
const needsCfssl = { skip: missingPeer("openssl", "cfssl") };

let dir: { path: string; cleanup: () => Promise<void> };
const at = (name: string) => join(dir.path, name);
const pem = (name: string) => readFile(at(`${name}.pem`), "utf8");

function flip(buf: Buffer, index: number, mask: number): void {
  buf.writeUInt8(buf.readUInt8(index) ^ mask, index);
}

/** Lowercase hex SHA-256 of a PEM certificate's DER, from Node's own fingerprint. */
function fingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256.replaceAll(":", "").toLowerCase();
}

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  const subject = "/C=US/O=Portcullis Test/CN=Issuer CA";
  await makeCa(dir.path, "ca", { key: "p256", subject });
  await makeCa(dir.path, "impostor", { key: "p256", subject }); // same name, another key
  await makeCa(dir.path, "renamed", { key: { sameKeyAs: "ca" }, subject: "/CN=Renamed CA" }); // same key, another name
  await makeCa(dir.path, "other", { key: "p256", subject: "/CN=Other CA" });
});

after(async () => {
  await dir?.cleanup();
});

test(
  "the CA that issued the CRL is found among the trusted CAs, by name and signature",
  needsOpenssl,
  async () => {
    const crl = parseCrlFast((await opensslGencrl(dir.path, "ca", "ca-crl", [{ serial: 9n }])).der);
    const trusted = [await pem("other"), await pem("impostor"), await pem("renamed"), await pem("ca")];
    assert.deepEqual(findCrlIssuer(crl, trusted), { fingerprint256: fingerprint(await pem("ca")) });
    assert.equal(
      fingerprint(await pem("ca")),
      createHash("sha256")
        .update(new X509Certificate(await pem("ca")).raw)
        .digest("hex"),
    );
  },
);

test(
  "wrong issuer: same name with another key, or same key with another name, is no issuer",
  needsOpenssl,
  async () => {
    const crl = parseCrlFast((await opensslGencrl(dir.path, "ca", "ca-crl2", [{ serial: 9n }])).der);
    assert.equal(findCrlIssuer(crl, [await pem("impostor")]), null);
    assert.equal(findCrlIssuer(crl, [await pem("renamed")]), null);
    assert.equal(findCrlIssuer(crl, [await pem("other")]), null);
    assert.equal(findCrlIssuer(crl, []), null);
    assert.equal(findCrlIssuer(crl, ["not a certificate"]), null);
  },
);

test("a tampered CRL fails: a flipped signature bit, an added revoked serial", needsOpenssl, async () => {
  const { der } = await opensslGencrl(dir.path, "ca", "tamper", [{ serial: 0x1234n }]);
  const trusted = [await pem("ca")];
  assert.ok(findCrlIssuer(parseCrlFast(der), trusted));

  const badSignature = Buffer.from(der);
  flip(badSignature, badSignature.length - 5, 0x01);
  assert.equal(findCrlIssuer(parseCrlFast(badSignature), trusted), null);

  const serialAt = der.indexOf(Buffer.from("02021234", "hex"));
  assert.ok(serialAt > 0);
  const badSerial = Buffer.from(der);
  badSerial[serialAt + 3] = 0x35; // revokes 0x1235 instead
  const parsed = parseCrlFast(badSerial);
  assert.ok(parsed.serials.has("1235"), "still well formed");
  assert.equal(findCrlIssuer(parsed, trusted), null);
  await writeFile(at("tampered.der"), badSerial);
  const openssl = await run("openssl", [
    "crl",
    "-in",
    at("tampered.der"),
    "-inform",
    "DER",
    "-CAfile",
    at("ca.pem"),
    "-noout",
  ]);
  assert.doesNotMatch(openssl.stderr, /verify OK/, "OpenSSL rejects it too");
});

test("RSA PKCS#1 v1.5, RSA-PSS, ECDSA P-384 and Ed25519 CRL signatures verify", needsOpenssl, async () => {
  const cases: [string, KeyType, { sigopt?: string[]; md?: string }][] = [
    ["rsa", "rsa", {}],
    ["pss", "rsa", { sigopt: ["rsa_padding_mode:pss", "rsa_pss_saltlen:digest"] }],
    ["pss-max", "rsa", { sigopt: ["rsa_padding_mode:pss", "rsa_pss_saltlen:max"], md: "sha384" }],
    ["p384", "p384", { md: "sha384" }],
    ["ed25519", "ed25519", {}],
  ];
  for (const [name, key, options] of cases) {
    await makeCa(dir.path, `${name}-ca`, { key, subject: `/CN=${name} CA` });
    const crl = await opensslGencrl(dir.path, `${name}-ca`, `${name}-crl`, [{ serial: 77n }], options);
    await assertOpensslVerifiesCrl(crl.pemPath, "PEM", at(`${name}-ca.pem`));
    const parsed = parseCrlFast(crlDer(Buffer.from(crl.pem)));
    const caPem = await pem(`${name}-ca`);
    assert.deepEqual(findCrlIssuer(parsed, [caPem]), { fingerprint256: fingerprint(caPem) }, name);
    assert.equal(findCrlIssuer(parsed, [await pem("ca")]), null, `${name}: not the EC CA`);
    const tampered = Buffer.from(parsed.der);
    flip(tampered, tampered.length - 3, 0x40);
    assert.equal(findCrlIssuer(parseCrlFast(tampered), [caPem]), null, `${name}: tampered`);
  }
});

test("issuer names compare as OpenSSL does: string type, case and spaces aside", needsOpenssl, async () => {
  // The CA's subject is UTF8String (openssl's default); this issuer is PrintableString, upper case, spaced.
  const name = (cn: string) =>
    seq(
      tlv(0x31, seq(tlv(0x06, Buffer.from("550406", "hex")), tlv(0x13, Buffer.from("US")))),
      tlv(0x31, seq(tlv(0x06, Buffer.from("55040a", "hex")), tlv(0x13, Buffer.from("PORTCULLIS   test")))),
      tlv(0x31, seq(tlv(0x06, Buffer.from("550403", "hex")), tlv(0x13, Buffer.from(cn)))),
    );
  const keyPem = await readFile(at("ca-key.pem"), "utf8");
  const caPem = await pem("ca");
  const der = buildCrl({ issuer: name(" issuer ca"), keyPem, serials: [integerContents(1n)] });
  assert.ok(!parseCrlFast(der).issuerDer.equals(subjectDer(caPem)), "not byte-identical");
  assert.ok(await opensslAcceptsCrl(dir.path, der, at("ca.pem")), "OpenSSL finds the CA");
  assert.ok(findCrlIssuer(parseCrlFast(der), [caPem]));

  const otherName = buildCrl({ issuer: name("Issuer CA 2"), keyPem, serials: [integerContents(1n)] });
  assert.equal(findCrlIssuer(parseCrlFast(otherName), [caPem]), null);
});

test("cfssl's CRL (issuer re-encoded by Go) is matched to its CA", needsCfssl, async () => {
  await writeFile(at("serials.txt"), "12345\n");
  const result = await run("cfssl", ["gencrl", "serials.txt", "ca.pem", "ca-key.pem"], { cwd: dir.path });
  assert.equal(result.code, 0, result.stderr);
  const crl = parseCrlFast(crlDer(Buffer.from(result.stdout, "base64")));
  assert.ok(findCrlIssuer(crl, [await pem("ca")]));
  assert.equal(findCrlIssuer(crl, [await pem("impostor")]), null);
});

test(
  "a CA whose keyUsage lacks cRLSign is not a CRL issuer, though its key signed",
  needsOpenssl,
  async () => {
    await openssl(
      ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "nocrl-key.pem"],
      {
        cwd: dir.path,
      },
    );
    const args = ["req", "-x509", "-key", "nocrl-key.pem", "-subj", "/CN=No CRL Sign", "-days", "1", "-out"];
    await openssl(
      [
        ...args,
        "nocrl.pem",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
      ],
      { cwd: dir.path },
    );
    const caPem = await pem("nocrl");
    const der = buildCrl({ issuer: subjectDer(caPem), keyPem: await pem("nocrl-key"), serials: [] });
    assert.equal(findCrlIssuer(parseCrlFast(der), [caPem]), null);
  },
);
