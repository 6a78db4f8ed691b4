import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { createCrl, parseCrl, parseSerialsFile, revokedSerials, verifyCrl } from "../../src/pki/crl.ts";
import { PkiError } from "../../src/pki/errors.ts";
import { type Issuer, loadIssuer } from "../../src/pki/issuer.ts";
import {
  assertOpensslVerifiesCrl,
  type CertOptions,
  makeCa,
  makeClientCert,
  openssl,
  opensslSki,
} from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

// CN first, a multi-valued RDN and an IA5String: an issuer name that only matches if copied byte for byte.
const ODD_SUBJECT = "/CN=Odd CA+O=Portcullis Test/C=US/emailAddress=ca@example.com";

let dir: { path: string; cleanup: () => Promise<void> };
interface TestCa {
  name: string;
  certPath: string;
  issuer: Issuer;
}
let ecCa: TestCa;
let impostorCa: TestCa; // same subject as ecCa, another key
let renamedCa: TestCa; // ecCa's key, another subject
let rsaCa: TestCa;
let edCa: TestCa;
let rsa3072Ca: TestCa; // self-signed with SHA-256 (openssl's default); its CRLs are SHA-384, as cfssl's

/** An openssl-made CA, loaded as the issuer of CRLs. */
async function makeTestCa(name: string, options: CertOptions): Promise<TestCa> {
  const { certPath, keyPath } = await makeCa(dir.path, name, options);
  const issuer = await loadIssuer(await readFile(certPath), await readFile(keyPath), "crls");
  return { name, certPath, issuer };
}

/** The CA's subjectKeyIdentifier as OpenSSL reads it, as lowercase hex. */
async function caSki(ca: TestCa): Promise<string> {
  return (await opensslSki(ca.certPath)).replaceAll(":", "").toLowerCase();
}

/** Writes the CRL and has OpenSSL check its signature against the CA. */
async function opensslVerifiesCrl(ca: TestCa, crl: { der: Buffer; pem: string }, form: "PEM" | "DER") {
  const file = join(dir.path, `${ca.name}-crl.${form.toLowerCase()}`);
  await writeFile(file, form === "PEM" ? crl.pem : crl.der);
  await assertOpensslVerifiesCrl(file, form, ca.certPath);
}

async function opensslCrlText(crl: { pem: string }): Promise<string> {
  return (await run("openssl", ["crl", "-noout", "-text"], { input: crl.pem })).stdout;
}

/** The bytes of the `index`-th element at depth 2 of a DER file, per `openssl asn1parse`. */
async function depth2Element(der: Buffer, index: number): Promise<Buffer> {
  const { stdout } = await run("openssl", ["asn1parse", "-inform", "DER"], { input: der });
  const lines = stdout.split("\n").filter((line) => /d=2 /.test(line));
  const match = /^\s*(\d+):d=2\s+hl=(\d+)\s+l=\s*(\d+)/.exec(lines[index] ?? "");
  assert.ok(match, `no depth-2 element #${index} in:\n${stdout}`);
  const [offset, header, length] = [Number(match[1]), Number(match[2]), Number(match[3])];
  return der.subarray(offset, offset + header + length);
}

function assertPkiError(fn: () => unknown, code: string, message: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof PkiError, `expected a PkiError, got ${err}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  ecCa = await makeTestCa("ec-ca", { key: "p256", subject: ODD_SUBJECT });
  impostorCa = await makeTestCa("impostor-ca", { key: "p256", subject: ODD_SUBJECT });
  renamedCa = await makeTestCa("renamed-ca", { key: { sameKeyAs: "ec-ca" }, subject: "/CN=Renamed CA" });
  rsaCa = await makeTestCa("rsa-ca", { key: "rsa", subject: "/C=US/O=Portcullis Test/CN=RSA CA" });
  edCa = await makeTestCa("ed-ca", { key: "ed25519", subject: "/CN=Ed25519 CA" });
  rsa3072Ca = await makeTestCa("rsa3072-ca", { key: "rsa3072", subject: "/CN=RSA 3072 CA" });
});

after(async () => {
  await dir?.cleanup();
});

test(
  "createCrl → parseCrl keeps serials (high bit, ≥ 2^159), reasons, dates and the CRL number",
  needsOpenssl,
  async () => {
    const big = 2n ** 159n + 12345n;
    const revokedAt = new Date("2029-12-31T23:59:59Z");
    const crl = await createCrl(ecCa.issuer, {
      thisUpdate: new Date("2030-01-02T03:04:05.678Z"),
      crlNumber: 2n ** 151n + 7n, // 19 octets with the high bit set: 20 with the leading zero,
      entries: [
        { serial: 1n, revokedAt, reason: "keyCompromise" },
        { serial: "255" },
        { serial: big, reason: "aACompromise" },
        { serial: "128", reason: "unspecified" },
        { serial: "4096", reason: "certificateHold" },
      ],
    });

    const parsed = parseCrl(crl.pem);
    assert.equal(parsed.thisUpdate.toISOString(), "2030-01-02T03:04:05.000Z");
    assert.equal(
      parsed.nextUpdate?.toISOString(),
      "2030-01-09T03:04:05.000Z",
      "default validity is one week",
    );
    assert.equal(parsed.crlNumber, 2n ** 151n + 7n);
    assert.equal(parsed.authorityKeyId, await caSki(ecCa));
    assert.equal(parsed.signatureAlgorithm, "ECDSAWithSHA256");
    assert.equal(parsed.issuer, ecCa.issuer.cert.subject);
    assert.deepEqual(parsed.entries, [
      { serial: 1n, revokedAt, reason: "keyCompromise" },
      { serial: 255n, revokedAt: parsed.thisUpdate },
      { serial: big, revokedAt: parsed.thisUpdate, reason: "aACompromise" },
      { serial: 128n, revokedAt: parsed.thisUpdate }, // RFC 5280 §5.3.1: unspecified is left out
      { serial: 4096n, revokedAt: parsed.thisUpdate, reason: "certificateHold" },
    ]);
    assert.deepEqual(parseCrl(crl.der).entries, parsed.entries, "DER parses the same as PEM");

    // Positive DER INTEGERs: a leading zero exactly when the high bit is set.
    assert.ok(crl.der.includes(Buffer.from("020200ff", "hex")), "255 is encoded as 00 FF");
    assert.ok(crl.der.includes(Buffer.from("02020080", "hex")), "128 is encoded as 00 80");
    assert.ok(
      crl.der.includes(Buffer.from(`021500${big.toString(16)}`, "hex")),
      "2^159+12345 takes 21 octets",
    );
    assert.ok(crl.der.includes(Buffer.from("02021000", "hex")), "4096 has no leading zero");

    const text = await opensslCrlText(crl);
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /Serial Number: FF\n/);
    assert.match(text, new RegExp(`Serial Number: ${big.toString(16).toUpperCase()}\\n`));
    assert.match(text, /X509v3 CRL Number: \n\s+0x80000000000000000000000000000000000007\n/);
    for (const reason of ["Key Compromise", "AA Compromise", "Certificate Hold"]) {
      assert.match(text, new RegExp(`CRL Reason Code: \\n\\s+${reason}\\n`));
    }
    const unspecifiedEntry = text
      .split(/(?=\n\s+Serial Number: )/)
      .find((e) => /Serial Number: 80\n/.test(e));
    assert.ok(unspecifiedEntry, `no entry for serial 128 in:\n${text}`);
    assert.doesNotMatch(unspecifiedEntry, /CRL Reason Code/, "no reasonCode extension for unspecified");
    assert.doesNotMatch(text, /Unspecified/);
    await opensslVerifiesCrl(ecCa, crl, "PEM");
  },
);

test(
  "the CRL's issuer name is the CA subject byte for byte, so OpenSSL finds the CA",
  needsOpenssl,
  async () => {
    const crl = await createCrl(ecCa.issuer, { entries: [{ serial: 5n }] });
    const certDer = Buffer.from(ecCa.issuer.cert.rawData);
    // tbsCertificate: version, serial, signature, issuer, validity, subject; tbsCertList: version, signature, issuer.
    const subject = await depth2Element(certDer, 5);
    const issuer = await depth2Element(crl.der, 2);
    assert.equal(issuer.toString("hex"), subject.toString("hex"));
    await opensslVerifiesCrl(ecCa, crl, "DER");
  },
);

test(
  "defaults: nextUpdate one week on, CRL number = thisUpdate seconds (so it grows)",
  needsOpenssl,
  async () => {
    const t = new Date("2031-05-06T07:08:09Z");
    const first = parseCrl((await createCrl(ecCa.issuer, { entries: [], thisUpdate: t })).der);
    const second = parseCrl(
      (await createCrl(ecCa.issuer, { entries: [], thisUpdate: new Date(t.getTime() + 1000) })).der,
    );
    assert.equal(first.crlNumber, BigInt(t.getTime() / 1000));
    assert.ok((second.crlNumber as bigint) > (first.crlNumber as bigint));
    assert.equal((first.nextUpdate as Date).getTime() - first.thisUpdate.getTime(), 7 * 24 * 3600 * 1000);
    assert.deepEqual(first.entries, []);

    const now = parseCrl((await createCrl(ecCa.issuer, { entries: [] })).der);
    assert.ok(Math.abs(now.thisUpdate.getTime() - Date.now()) < 5000, "thisUpdate defaults to now");
  },
);

test(
  "RSA-2048, RSA-3072 and Ed25519 CAs sign CRLs OpenSSL and verifyCrl accept, with cfssl's algorithms",
  needsOpenssl,
  async () => {
    for (const [ca, algorithm, opensslName] of [
      [rsaCa, "SHA256WithRSA", "sha256WithRSAEncryption"],
      [edCa, "Ed25519", "ED25519"],
      [rsa3072Ca, "SHA384WithRSA", "sha384WithRSAEncryption"],
    ] as const) {
      const crl = await createCrl(ca.issuer, { entries: [{ serial: 77n, reason: "superseded" }] });
      assert.equal(parseCrl(crl.der).signatureAlgorithm, algorithm);
      assert.match(await opensslCrlText(crl), new RegExp(`Signature Algorithm: ${opensslName}`));
      await opensslVerifiesCrl(ca, crl, "PEM");
      await opensslVerifiesCrl(ca, crl, "DER");
      assert.equal(await verifyCrl(parseCrl(crl.pem), ca.issuer.cert), true);
    }
  },
);

test(
  "verifyCrl: true for the issuing CA only (not one with its name or its key alone, another CA, or a tampered CRL)",
  needsOpenssl,
  async () => {
    const crl = await createCrl(ecCa.issuer, { entries: [{ serial: 255n }] });
    const parsed = parseCrl(crl.der);
    assert.equal(await verifyCrl(parsed, ecCa.issuer.cert), true);
    assert.equal(await verifyCrl(parsed, impostorCa.issuer.cert), false, "same name, other key");
    const publicKey = (ca: TestCa) => Buffer.from(ca.issuer.cert.publicKey.rawData);
    assert.ok(publicKey(renamedCa).equals(publicKey(ecCa)));
    assert.equal(await verifyCrl(parsed, renamedCa.issuer.cert), false, "same key, other name");
    assert.equal(await verifyCrl(parsed, rsaCa.issuer.cert), false, "other name and key type");

    const tampered = Buffer.from(crl.der);
    const at = tampered.indexOf(Buffer.from("020200ff", "hex"));
    tampered[at + 3] = 0xfe; // revoke 254 instead of 255
    const parsedTampered = parseCrl(tampered);
    assert.deepEqual([...revokedSerials(parsedTampered)], ["254"]);
    assert.equal(await verifyCrl(parsedTampered, ecCa.issuer.cert), false);

    // OpenSSL agrees about the impostor.
    const file = join(dir.path, "impostor-check.pem");
    await writeFile(file, crl.pem);
    const result = await run("openssl", ["crl", "-in", file, "-CAfile", impostorCa.certPath, "-noout"]);
    assert.match(result.stderr, /verify failure/); // openssl crl still exits 0 here
    assert.doesNotMatch(result.stderr, /verify OK/);
  },
);

test(
  "parseCrl reads a CRL made by `openssl ca -gencrl` (CRL number, reasons, AKI)",
  needsOpenssl,
  async () => {
    const serial = 2n ** 127n + 1n;
    const unspecifiedSerial = 2n ** 128n + 5n; // openssl writes reasonCode 0 (RFC 5280: should be absent)
    await writeFile(join(dir.path, "index.txt"), "");
    await writeFile(join(dir.path, "crlnumber"), "1000\n"); // hex, as openssl keeps it
    await writeFile(
      join(dir.path, "ca.cnf"),
      [
        "[ca]",
        "default_ca = ca_default",
        "[ca_default]",
        "database = index.txt",
        "crlnumber = crlnumber",
        "certificate = rsa-ca.pem",
        "private_key = rsa-ca-key.pem",
        "default_md = sha256",
        "default_crl_days = 3",
        "crl_extensions = crl_ext",
        "[crl_ext]",
        "authorityKeyIdentifier = keyid:always",
        "",
      ].join("\n"),
    );
    const cwd = { cwd: dir.path };
    await makeClientCert(dir.path, "leaf", { issuer: "rsa-ca", serial });
    await makeClientCert(dir.path, "leaf2", { issuer: "rsa-ca", serial: unspecifiedSerial });
    await openssl(["ca", "-config", "ca.cnf", "-revoke", "leaf.pem", "-crl_reason", "keyCompromise"], cwd);
    await openssl(["ca", "-config", "ca.cnf", "-revoke", "leaf2.pem", "-crl_reason", "unspecified"], cwd);
    await openssl(["ca", "-config", "ca.cnf", "-gencrl", "-out", "openssl-crl.pem"], cwd);

    const parsed = parseCrl(await readFile(join(dir.path, "openssl-crl.pem")));
    assert.equal(parsed.crlNumber, 4096n);
    assert.equal(parsed.authorityKeyId, await caSki(rsaCa));
    assert.equal(parsed.signatureAlgorithm, "SHA256WithRSA");
    assert.equal(parsed.entries.length, 2);
    assert.equal(parsed.entries[0]?.serial, serial);
    assert.equal(parsed.entries[0]?.reason, "keyCompromise");
    assert.equal(
      parsed.entries.find((entry) => entry.serial === unspecifiedSerial)?.reason,
      "unspecified",
      "an explicit reasonCode 0 still reads as unspecified",
    );
    assert.equal((parsed.nextUpdate as Date).getTime() - parsed.thisUpdate.getTime(), 3 * 24 * 3600 * 1000);
    assert.ok(revokedSerials(parsed).has(serial.toString()));
    assert.equal(await verifyCrl(parsed, rsaCa.issuer.cert), true);
  },
);

test("parseCrl refuses what is not exactly one CRL, with E_CRL", needsOpenssl, async () => {
  const crl = await createCrl(ecCa.issuer, { entries: [] });
  assert.match(crl.pem, /^-----BEGIN X509 CRL-----\n/);
  assertPkiError(() => parseCrl(""), "E_CRL", /no CRL found/);
  assertPkiError(() => parseCrl(ecCa.issuer.cert.toString("pem")), "E_CRL", /no CRL found.*X509 CRL/);
  assertPkiError(() => parseCrl(crl.pem + crl.pem), "E_CRL", /expected one CRL, found 2/);
  assertPkiError(() => parseCrl(Buffer.from("3003020101", "hex")), "E_CRL", /not a valid X\.509 CRL/);
  assertPkiError(() => parseCrl(crl.der.subarray(0, 40)), "E_CRL", /not a valid X\.509 CRL/);
  assertPkiError(() => parseCrl(Buffer.from(ecCa.issuer.cert.rawData)), "E_CRL", /not a valid X\.509 CRL/);
});

test("createCrl refuses bad entries and dates with a PkiError naming the field", needsOpenssl, async () => {
  const reject = async (options: Parameters<typeof createCrl>[1], message: RegExp) => {
    await assert.rejects(createCrl(ecCa.issuer, options), (err: unknown) => {
      assert.ok(err instanceof PkiError, String(err));
      assert.match(err.message, message);
      return true;
    });
  };
  await reject(
    { entries: [{ serial: "12x" }] },
    /^entries\[0\]\.serial: "12x" is not a decimal serial number$/,
  );
  await reject({ entries: [{ serial: -1n }] }, /entries\[0\]\.serial: serial -1 is negative/);
  await reject({ entries: [{ serial: 9n }, { serial: "9" }] }, /entries\[1\]: serial 9 is listed twice/);
  await reject(
    { entries: [{ serial: 1n, reason: "stolen" as never }] },
    /entries\[0\]\.reason: unknown revocation reason "stolen"/,
  );
  const t = new Date("2030-01-01T00:00:00Z");
  await reject({ entries: [], thisUpdate: t, nextUpdate: t }, /nextUpdate: must be later than thisUpdate/);
  await reject({ entries: [], thisUpdate: new Date("garbage") }, /thisUpdate: is not a valid date/);
  await reject({ entries: [], crlNumber: 2n ** 160n }, /crlNumber: .*at most 20 octets/);
});

test("parseSerialsFile: decimal serials, comments, blank lines, CRLF, reasons, duplicates", () => {
  const text =
    "\uFEFF# revoked\r\n1\r\n\r\n  255  # a comment\n340282366920938463463374607431768211456 KeyCompromise\n1\n";
  assert.deepEqual(parseSerialsFile(text), [
    { serial: 1n },
    { serial: 255n },
    { serial: 2n ** 128n, reason: "keyCompromise" },
  ]);
  assert.deepEqual(parseSerialsFile(""), []);

  assertPkiError(
    () => parseSerialsFile("1\n2\n12x\n"),
    "E_FIELD",
    /^line 3: "12x" is not a decimal serial number$/,
  );
  assertPkiError(
    () => parseSerialsFile("0x1F\n"),
    "E_FIELD",
    /line 1: "0x1F" is not a decimal serial number \(if it is hex, write 31\)/,
  );
  assertPkiError(() => parseSerialsFile("-5\n"), "E_FIELD", /line 1: "-5" is not a decimal serial number/);
  assertPkiError(
    () => parseSerialsFile("7 lost\n"),
    "E_FIELD",
    /line 1: unknown revocation reason "lost" \(use one of: unspecified, keyCompromise/,
  );
  assertPkiError(
    () => parseSerialsFile("7 superseded now\n"),
    "E_FIELD",
    /line 1: expected "SERIAL \[REASON\]"/,
  );
  assertPkiError(
    () => parseSerialsFile("7 superseded\n\n7 keyCompromise\n"),
    "E_FIELD",
    /line 3: serial 7 is already listed on line 1 with another reason/,
  );
});
