import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseCrl } from "../../src/pki/crl.ts";
import { crlDer, normalizeSerial, parseCrlFast, RevocationError } from "../../src/revocation/index.ts";
import { makeCa, makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, run, tempDir } from "../helpers/run.ts";
import {
  buildCrl,
  integerContents,
  nodeSerial,
  opensslAcceptsCrl,
  opensslCrlSerials,
  opensslGencrl,
  seq,
  subjectDer,
  tlv,
} from "./crl-fixtures.ts";

const needsOpenssl = { skip: missingPeer("openssl") };
const needsCfssl = { skip: missingPeer("openssl", "cfssl") };

// Zero, a leading zero nibble, a leading 00 octet (high bit), 20 octets, and ordinary ones.
const SERIALS = [
  0n,
  1n,
  0x0an,
  0xff01n,
  2n ** 127n + 1n,
  2n ** 159n + 12345n,
  0x0abcdefn,
  987654321987654321n,
];

let dir: { path: string; cleanup: () => Promise<void> };
const at = (name: string) => join(dir.path, name);
let caPem: string;
let caKeyPem: string;

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  await makeCa(dir.path, "ca", { key: "p256", subject: "/C=US/O=Portcullis Test/CN=Revocation CA" });
  caPem = await readFile(at("ca.pem"), "utf8");
  caKeyPem = await readFile(at("ca-key.pem"), "utf8");
});

after(async () => {
  await dir?.cleanup();
});

function assertInvalid(bytes: Buffer, message: RegExp): void {
  assert.throws(
    () => parseCrlFast(crlDer(bytes)),
    (err: unknown) => {
      assert.ok(err instanceof RevocationError, `expected a RevocationError, got ${err}`);
      assert.match(err.message, /^not a valid CRL: /);
      assert.match(err.message, message);
      return true;
    },
  );
}

test("normalizeSerial: uppercase hex without leading zeros, as Node's serialNumber normalizes", () => {
  assert.equal(normalizeSerial("0A"), "A");
  assert.equal(normalizeSerial("00ff01"), "FF01");
  assert.equal(normalizeSerial("0"), "0");
  assert.equal(normalizeSerial("0000"), "0");
  assert.equal(normalizeSerial("0x0a:bc"), "ABC");
  assert.equal(normalizeSerial("-05"), "-5");
  assert.equal(normalizeSerial("-00"), "0");
  assert.throws(() => normalizeSerial("12g4"), RevocationError);
  assert.throws(() => normalizeSerial(""), RevocationError);
});

test(
  "openssl ca -gencrl: parseCrlFast lists openssl's serials, as src/pki/crl.ts parseCrl does, PEM and DER",
  needsOpenssl,
  async () => {
    const crl = await opensslGencrl(
      dir.path,
      "ca",
      "openssl-crl",
      SERIALS.map((serial, i) => (i % 2 ? { serial, reason: "keyCompromise" } : { serial })),
      { crlNumber: 0x1234n },
    );
    const fromOpenssl = (await opensslCrlSerials(crl.pemPath)).map(normalizeSerial);
    const fromPki = parseCrl(crl.der).entries.map((entry) => normalizeSerial(entry.serial.toString(16)));
    const expected = SERIALS.map((serial) => serial.toString(16).toUpperCase());
    assert.deepEqual(new Set(fromOpenssl), new Set(expected), "openssl lists what we revoked");
    assert.deepEqual(new Set(fromPki), new Set(expected));

    for (const [form, bytes] of [
      ["PEM", Buffer.from(crl.pem)],
      ["DER", crl.der],
    ] as const) {
      const parsed = parseCrlFast(crlDer(bytes));
      assert.deepEqual(parsed.serials, new Set(expected), form);
      assert.equal(parsed.entryCount, SERIALS.length);
      assert.equal(parsed.crlNumber, String(0x1234));
      assert.ok(parsed.der.equals(crl.der), `${form} decodes to openssl's DER`);
    }

    const parsed = parseCrlFast(crl.der);
    const { stdout } = await openssl(["crl", "-in", crl.pemPath, "-noout", "-lastupdate", "-nextupdate"]);
    assert.equal(parsed.thisUpdateMs, Date.parse(/lastUpdate=(.+)/.exec(stdout)?.[1] ?? ""));
    assert.equal(parsed.nextUpdateMs, Date.parse(/nextUpdate=(.+)/.exec(stdout)?.[1] ?? ""));
    assert.equal(parsed.signatureAlgorithm.oid, "1.2.840.10045.4.3.2");
    assert.ok(parsed.issuerDer.equals(subjectDer(caPem)), "openssl copies the CA subject as the issuer");
  },
);

test(
  "a client certificate's serial, as Node reports it, is found in the CRL that revokes it",
  needsOpenssl,
  async () => {
    const revoked = [2n ** 127n + 5n, 0x0fedcban, 7n];
    for (const [i, serial] of revoked.entries())
      await makeClientCert(dir.path, `client-${i}`, { issuer: "ca", serial });
    await makeClientCert(dir.path, "client-ok", { issuer: "ca", serial: 0x0fedcbbn });
    const crl = parseCrlFast(
      (
        await opensslGencrl(
          dir.path,
          "ca",
          "clients",
          revoked.map((serial) => ({ serial })),
        )
      ).der,
    );
    for (const i of revoked.keys()) {
      const nodeHex = nodeSerial(await readFile(at(`client-${i}.pem`), "utf8"));
      assert.ok(crl.serials.has(normalizeSerial(nodeHex)), `client-${i} (${nodeHex}) is revoked`);
    }
    assert.equal(
      crl.serials.has(normalizeSerial(nodeSerial(await readFile(at("client-ok.pem"), "utf8")))),
      false,
    );
  },
);

test(
  "a negative serial (RFC 5280 forbids them; some CAs issued them) matches Node's spelling",
  needsOpenssl,
  async () => {
    await openssl(
      [
        "req",
        "-x509",
        "-key",
        "ca-key.pem",
        "-subj",
        "/CN=negative",
        "-set_serial",
        "-5",
        "-days",
        "1",
      ].concat(["-out", "negative.pem"]),
      { cwd: dir.path },
    );
    const der = buildCrl({
      issuer: subjectDer(caPem),
      keyPem: caKeyPem,
      serials: [integerContents(-5n), integerContents(-129n), integerContents(5n)],
    });
    const crl = parseCrlFast(der);
    assert.deepEqual(crl.serials, new Set(["-5", "-81", "5"]));
    const nodeHex = nodeSerial(await readFile(at("negative.pem"), "utf8"));
    assert.equal(nodeHex, "-05");
    assert.ok(crl.serials.has(normalizeSerial(nodeHex)));
    const fromOpenssl = await opensslCrlSerials(await writeDer("negative-crl.der", der), "DER");
    assert.deepEqual(new Set(fromOpenssl.map(normalizeSerial)), crl.serials, "OpenSSL reads them the same");
  },
);

test(
  "an empty CRL (openssl, and one without a revokedCertificates field) has no serials",
  needsOpenssl,
  async () => {
    const empty = await opensslGencrl(dir.path, "ca", "empty", []);
    assert.deepEqual(await opensslCrlSerials(empty.pemPath), []);
    const parsed = parseCrlFast(crlDer(Buffer.from(empty.pem)));
    assert.equal(parsed.serials.size, 0);
    assert.equal(parsed.entryCount, 0);
    const built = parseCrlFast(buildCrl({ issuer: subjectDer(caPem), keyPem: caKeyPem, serials: [] }));
    assert.equal(built.serials.size, 0);
  },
);

test("portcullis pki gencrl (DER and --pem): the same serials as parseCrl", needsOpenssl, async () => {
  await writeFile(at("serials.txt"), `${2n ** 127n + 1n} keyCompromise\n255\n10\n`);
  const b64 = await portcullis(["pki", "gencrl", "serials.txt", "ca.pem", "ca-key.pem"], { cwd: dir.path });
  const pem = await portcullis(["pki", "gencrl", "--pem", "serials.txt", "ca.pem", "ca-key.pem"], {
    cwd: dir.path,
  });
  assert.equal(b64.code, 0, b64.stderr);
  assert.equal(pem.code, 0, pem.stderr);
  for (const bytes of [Buffer.from(b64.stdout, "base64"), Buffer.from(pem.stdout)]) {
    const fast = parseCrlFast(crlDer(bytes));
    const slow = parseCrl(bytes);
    assert.deepEqual(
      fast.serials,
      new Set(slow.entries.map((entry) => normalizeSerial(entry.serial.toString(16)))),
    );
    assert.deepEqual(fast.serials, new Set(["80000000000000000000000000000001", "FF", "A"]));
    assert.equal(fast.crlNumber, String(slow.crlNumber));
    assert.equal(fast.thisUpdateMs, slow.thisUpdate.getTime());
    assert.equal(fast.nextUpdateMs, slow.nextUpdate?.getTime());
  }
});

test("cfssl gencrl: the same serials as openssl reads", needsCfssl, async () => {
  await writeFile(at("cfssl-serials.txt"), `${2n ** 127n + 1n}\n77\n`);
  const result = await run("cfssl", ["gencrl", "cfssl-serials.txt", "ca.pem", "ca-key.pem"], {
    cwd: dir.path,
  });
  assert.equal(result.code, 0, result.stderr);
  const der = Buffer.from(result.stdout, "base64");
  const fromOpenssl = (await opensslCrlSerials(await writeDer("cfssl.der", der), "DER")).map(normalizeSerial);
  assert.deepEqual(parseCrlFast(crlDer(der)).serials, new Set(fromOpenssl));
  assert.deepEqual(new Set(fromOpenssl), new Set(["80000000000000000000000000000001", "4D"]));
});

test("GeneralizedTime dates, no nextUpdate, no CRL Number: read as such", needsOpenssl, async () => {
  const der = buildCrl({
    issuer: subjectDer(caPem),
    keyPem: caKeyPem,
    serials: [integerContents(3n)],
    thisUpdate: new Date("2051-02-03T04:05:06Z"),
    nextUpdate: null,
    crlNumber: null,
    generalizedTimes: true,
  });
  assert.ok(await opensslAcceptsCrl(dir.path, der, at("ca.pem")));
  const crl = parseCrlFast(der);
  assert.equal(crl.thisUpdateMs, Date.parse("2051-02-03T04:05:06Z"));
  assert.equal(crl.nextUpdateMs, null);
  assert.equal(crl.crlNumber, null);
  assert.deepEqual(crl.serials, new Set(["3"]));
});

test("malformed input is 'not a valid CRL: …'", needsOpenssl, async () => {
  const good = (await opensslGencrl(dir.path, "ca", "for-malformed", [{ serial: 5n }])).der;
  assertInvalid(Buffer.from("hello"), /neither DER nor a PEM block/);
  assertInvalid(Buffer.alloc(0), /neither DER nor a PEM block/);
  assertInvalid(good.subarray(0, good.length - 10), /truncated/);
  assertInvalid(Buffer.concat([good, Buffer.from([0])]), /bytes after the end/);
  assertInvalid(Buffer.from("-----BEGIN X509 CRL-----\nMIIB\n"), /no END line/);
  const pem = good.toString("base64");
  const block = `-----BEGIN X509 CRL-----\n${pem}\n-----END X509 CRL-----\n`;
  assertInvalid(Buffer.from(block + block), /expected one CRL, found 2/);
  assertInvalid(Buffer.from((await readFile(at("ca.pem"), "utf8")) as string), /PEM block labelled X509 CRL/);
  // A certificate is a SEQUENCE too, but not a CRL.
  const certDer = Buffer.from(
    (await readFile(at("ca.pem"), "utf8")).replace(/-----[^-]+-----/g, "").replace(/\s/g, ""),
    "base64",
  );
  assertInvalid(certDer, /not a valid CRL/);
});

test("delta CRLs, indirect CRLs and unknown critical extensions are refused", needsOpenssl, () => {
  const issuer = subjectDer(caPem);
  const oid = (hex: string) => tlv(0x06, Buffer.from(hex, "hex"));
  const critical = tlv(0x01, Buffer.from([0xff]));
  const delta = seq(oid("551d1b"), critical, tlv(0x04, tlv(0x02, Buffer.from([1]))));
  assertInvalid(
    buildCrl({ issuer, keyPem: caKeyPem, serials: [], extensions: [delta] }),
    /delta CRLs are not supported/,
  );
  const unknown = seq(oid("2a0304"), critical, tlv(0x04, tlv(0x05)));
  assertInvalid(
    buildCrl({ issuer, keyPem: caKeyPem, serials: [], extensions: [unknown] }),
    /unsupported critical extension 1\.2\.3\.4/,
  );
  const certificateIssuer = seq(seq(oid("551d1d"), critical, tlv(0x04, seq())));
  assertInvalid(
    buildCrl({
      issuer,
      keyPem: caKeyPem,
      serials: [integerContents(1n), integerContents(2n)],
      entryExtensions: new Map([[1, certificateIssuer]]),
    }),
    /indirect CRLs/,
  );
  // A non-critical unknown extension is fine.
  const harmless = seq(oid("2a0304"), tlv(0x04, tlv(0x05)));
  assert.equal(
    parseCrlFast(buildCrl({ issuer, keyPem: caKeyPem, serials: [], extensions: [harmless] })).serials.size,
    0,
  );
});

async function writeDer(name: string, der: Buffer): Promise<string> {
  await writeFile(at(name), der);
  return at(name);
}
