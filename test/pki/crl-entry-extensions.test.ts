/**
 * RFC 5280 §5.1: crlEntryExtensions, when present, is SEQUENCE SIZE (1..MAX). An entry without a reason
 * must leave it out, not carry an empty SEQUENCE (bytes 30 00): pkijs refuses such CRLs.
 */
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import * as asn1js from "asn1js";
import * as pkijs from "pkijs";
import { createCrl } from "../../src/pki/crl.ts";
import { loadIssuer } from "../../src/pki/issuer.ts";
import { assertOpensslVerifiesCrl, type KeyType, makeCa } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

const needsOpenssl = { skip: missingPeer("openssl") };
const OID_REASON_CODE = "2.5.29.21";

let dir: { path: string; cleanup: () => Promise<void> };

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
});

after(async () => {
  await dir?.cleanup();
});

/** An ArrayBuffer holding exactly the DER (a Buffer may share a larger pool). */
function exactBuffer(der: Buffer): ArrayBuffer {
  return new Uint8Array(der).buffer;
}

/** The revokedCertificates entries of a CRL, walked with asn1js. */
function revokedEntries(der: Buffer): asn1js.Sequence[] {
  const parsed = asn1js.fromBER(exactBuffer(der));
  assert.equal(parsed.offset, der.length, "one DER value, nothing after it");
  const tbs = (parsed.result as asn1js.Sequence).valueBlock.value[0] as asn1js.Sequence;
  // version, signature, issuer, thisUpdate, nextUpdate, revokedCertificates, [0] crlExtensions
  const revoked = tbs.valueBlock.value[5];
  assert.ok(revoked instanceof asn1js.Sequence, "revokedCertificates is the sixth TBS field");
  return revoked.valueBlock.value as asn1js.Sequence[];
}

/** Every constructed value under `block`, itself included. */
function constructedValues(block: asn1js.AsnType): asn1js.Constructed[] {
  if (!(block instanceof asn1js.Constructed)) return [];
  return [block, ...block.valueBlock.value.flatMap(constructedValues)];
}

for (const key of ["p256", "rsa"] as const satisfies readonly KeyType[]) {
  test(
    `${key} CA: an entry without a reason has no crlEntryExtensions; pkijs and OpenSSL accept the CRL`,
    needsOpenssl,
    async () => {
      const { certPath, keyPath } = await makeCa(dir.path, `${key}-ca`, { key });
      const issuer = await loadIssuer(await readFile(certPath), await readFile(keyPath), "crls");
      const crl = await createCrl(issuer, {
        entries: [
          { serial: 1234n },
          { serial: 77n, reason: "keyCompromise" },
          { serial: 5n, reason: "unspecified" }, // RFC 5280 §5.3.1: no reasonCode, so no extensions
        ],
      });

      const entries = revokedEntries(crl.der);
      assert.equal(entries.length, 3);
      for (const [index, serial] of [
        [0, 1234],
        [2, 5],
      ] as const) {
        const entry = entries[index] as asn1js.Sequence;
        const fields = entry.valueBlock.value;
        assert.equal((fields[0] as asn1js.Integer).valueBlock.valueDec, serial);
        assert.equal(fields.length, 2, `entry ${serial} is userCertificate and revocationDate only`);
        for (const value of constructedValues(entry)) {
          assert.notEqual(value.valueBlock.value.length, 0, `entry ${serial} holds an empty SEQUENCE`);
        }
      }

      // The entry with a reason keeps its reasonCode extension: keyCompromise (1).
      const withReason = (entries[1] as asn1js.Sequence).valueBlock.value;
      assert.equal(withReason.length, 3);
      const extensions = (withReason[2] as asn1js.Sequence).valueBlock.value;
      assert.equal(extensions.length, 1);
      const [oid, value] = (extensions[0] as asn1js.Sequence).valueBlock.value as [
        asn1js.ObjectIdentifier,
        asn1js.OctetString,
      ];
      assert.equal(oid.valueBlock.toString(), OID_REASON_CODE);
      assert.equal(Buffer.from(value.valueBlock.valueHexView).toString("hex"), "0a0101");

      // pkijs (strict about SIZE (1..MAX)) parses it, and agrees on the entries.
      const parsed = pkijs.CertificateRevocationList.fromBER(exactBuffer(crl.der));
      const revoked = parsed.revokedCertificates ?? [];
      assert.deepEqual(
        revoked.map((entry) => entry.userCertificate.valueBlock.valueDec),
        [1234, 77, 5],
      );
      assert.deepEqual(
        revoked.map((entry) => entry.crlEntryExtensions?.extensions.map((ext) => ext.extnID) ?? []),
        [[], [OID_REASON_CODE], []],
      );
      const caCert = pkijs.Certificate.fromBER(exactBuffer(Buffer.from(issuer.cert.rawData)));
      assert.equal(await parsed.verify({ issuerCertificate: caCert }), true, "pkijs verifies the signature");

      // OpenSSL still verifies it against the CA.
      for (const form of ["PEM", "DER"] as const) {
        const file = join(dir.path, `${key}-crl.${form.toLowerCase()}`);
        await writeFile(file, form === "PEM" ? crl.pem : crl.der);
        await assertOpensslVerifiesCrl(file, form, certPath);
      }
    },
  );
}
