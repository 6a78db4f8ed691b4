/** The managed CA: certificates from openssl CSRs, checked by openssl; its CRL read by openssl. */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import { createManagedCa, issueClientCertificate, managedCrl } from "../../src/ca/managed.ts";
import { makeCsr, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

const zone = {
  id: "0".repeat(32),
  accountId: "1".repeat(32),
  name: "example.test",
  createdAt: "2026-11-25T00:00:00Z",
};

test("issues a clientAuth certificate from a CSR that openssl verifies, and a CRL openssl reads", {
  skip: missingPeer("openssl"),
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  try {
    const { ca, keyPem } = await createManagedCa(zone);
    await writeFile(join(dir, "ca.pem"), ca.certificatePem);
    const csr = await makeCsr(dir, "r", "/C=US/O=Acme/OU=Ops/L=Austin/CN=device-7");
    const cert = await issueClientCertificate(ca, keyPem, csr, 30);
    await writeFile(join(dir, "c.pem"), cert.certificatePem);
    const verify = await openssl(
      ["verify", "-x509_strict", "-purpose", "sslclient", "-CAfile", "ca.pem", "c.pem"],
      { cwd: dir },
    );
    assert.match(verify.stdout, /c.pem: OK/);
    assert.deepEqual(
      [cert.commonName, cert.country, cert.organization, cert.organizationalUnit, cert.location],
      ["device-7", "US", "Acme", "Ops", "Austin"],
    );
    assert.equal(cert.status, "active");
    const serial = (await openssl(["x509", "-in", "c.pem", "-noout", "-serial"], { cwd: dir })).stdout
      .trim()
      .split("=")[1];
    assert.equal(cert.serialNumber, serial?.replace(/^0+/, ""));
    const days = (Date.parse(cert.expiresOn) - Date.parse(cert.issuedOn)) / 86_400_000;
    assert.ok(days > 29.9 && days < 30.1, `valid ${days} days`);

    const crl = await managedCrl(ca, keyPem, [
      { ...cert, status: "revoked", revokedOn: "2026-11-25T01:00:00Z" },
    ]);
    await writeFile(join(dir, "ca.crl"), crl.pem);
    const text = await openssl(["crl", "-in", "ca.crl", "-CAfile", "ca.pem", "-noout", "-text"], {
      cwd: dir,
    });
    assert.match(text.stdout, new RegExp(`Serial Number: 0*${cert.serialNumber}`));
    const revoked = await openssl(
      ["verify", "-crl_check", "-CAfile", "ca.pem", "-CRLfile", "ca.crl", "c.pem"],
      { cwd: dir },
    ).catch((err: Error) => err);
    assert.ok(revoked instanceof Error && /revoked/.test(revoked.message));
  } finally {
    await cleanup();
  }
});

test("a CSR whose signature does not verify is refused", async () => {
  const { ca, keyPem } = await createManagedCa(zone);
  await assert.rejects(
    issueClientCertificate(
      ca,
      keyPem,
      "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
      30,
    ),
    /csr/,
  );
});
