import assert from "node:assert/strict";
import { test } from "node:test";
import { signatureAlgorithmName } from "../../src/pki/algorithm-names.ts";

test("Go's names for the algorithms certificates use", () => {
  const cases: [Algorithm & { hash?: Algorithm }, string][] = [
    [{ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-1" } }, "SHA1WithRSA"],
    [{ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-512" } }, "SHA512WithRSA"],
    [{ name: "RSA-PSS", hash: { name: "SHA-256" } }, "SHA256WithRSAPSS"],
    [{ name: "ECDSA", hash: { name: "SHA-1" } }, "ECDSAWithSHA1"],
    [{ name: "ECDSA", hash: { name: "SHA-384" } }, "ECDSAWithSHA384"],
    [{ name: "Ed25519" }, "Ed25519"],
  ];
  for (const [algorithm, name] of cases) assert.equal(signatureAlgorithmName(algorithm), name);
});

test("what Go cannot name is 'Unknown Signature', as cfssl prints it", () => {
  assert.equal(
    signatureAlgorithmName({ name: "RSASSA-PKCS1-v1_5", hash: { name: "SHA-224" } }),
    "Unknown Signature",
  );
  assert.equal(signatureAlgorithmName({ name: "Ed448" }), "Unknown Signature");
});
