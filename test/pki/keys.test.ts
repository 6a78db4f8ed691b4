import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { test } from "node:test";
import { PkiError } from "../../src/pki/errors.ts";
import {
  describeKey,
  exportPrivateKeyPem,
  generatePrivateKey,
  parseKeyRequest,
  parsePrivateKey,
  signingAlgorithmFor,
} from "../../src/pki/keys.ts";

test("key requests: cfssl defaults and limits", () => {
  assert.deepEqual(parseKeyRequest(undefined), { algo: "ecdsa", size: 256 });
  assert.deepEqual(parseKeyRequest({ algo: "rsa" }), { algo: "rsa", size: 2048 });
  assert.deepEqual(parseKeyRequest({ algo: "ed25519", size: 256 }), { algo: "ed25519", size: 0 });
  assert.throws(() => parseKeyRequest({ algo: "rsa", size: 1024 }), { code: "E_KEY", field: "key.size" });
  assert.throws(() => parseKeyRequest({ algo: "rsa", size: 16384 }), PkiError);
  assert.throws(() => parseKeyRequest({ algo: "ecdsa", size: 512 }), /invalid ecdsa key size 512/);
  assert.throws(() => parseKeyRequest({ algo: "dsa" }), { field: "key.algo" });
  assert.throws(() => parseKeyRequest({ algo: "rsa", size: "2048" }), /whole number/);
});

const KINDS = [
  { request: { algo: "ecdsa", size: 256 }, label: "EC PRIVATE KEY", sig: "ECDSAWithSHA256" },
  { request: { algo: "ecdsa", size: 384 }, label: "EC PRIVATE KEY", sig: "ECDSAWithSHA384" },
  { request: { algo: "ecdsa", size: 521 }, label: "EC PRIVATE KEY", sig: "ECDSAWithSHA512" },
  { request: { algo: "rsa", size: 2048 }, label: "RSA PRIVATE KEY", sig: "SHA256WithRSA" },
  { request: { algo: "rsa", size: 3072 }, label: "RSA PRIVATE KEY", sig: "SHA384WithRSA" },
  { request: { algo: "ed25519", size: 0 }, label: "PRIVATE KEY", sig: "Ed25519" },
] as const;

for (const kind of KINDS) {
  test(`${kind.request.algo}-${kind.request.size}: generated, written as cfssl writes it, read back, cfssl's signature algorithm`, async () => {
    const key = await generatePrivateKey(kind.request);
    const pem = exportPrivateKeyPem(key);
    assert.match(pem, new RegExp(`^-----BEGIN ${kind.label}-----\n`));
    const back = parsePrivateKey(pem);
    assert.deepEqual(describeKey(back), kind.request);
    assert.equal(signingAlgorithmFor(back).name, kind.sig);
  });
}

test("RSA 4096 signs with SHA-512, as cfssl does", () => {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 4096 });
  assert.equal(signingAlgorithmFor(privateKey).name, "SHA512WithRSA");
});

test("PKCS#8 and DER keys are read; encrypted and garbage keys are refused clearly", () => {
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  assert.equal(
    describeKey(parsePrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }) as string)).algo,
    "ecdsa",
  );
  assert.equal(describeKey(parsePrivateKey(privateKey.export({ type: "pkcs8", format: "der" }))).size, 256);
  const encrypted = privateKey.export({
    type: "pkcs8",
    format: "pem",
    cipher: "aes-256-cbc",
    passphrase: "x",
  }) as string;
  assert.throws(() => parsePrivateKey(encrypted), /the private key is encrypted/);
  assert.throws(
    () => parsePrivateKey("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n"),
    {
      code: "E_KEY",
    },
  );
  const { privateKey: ed448 } = generateKeyPairSync("ed448");
  assert.throws(
    () => parsePrivateKey(ed448.export({ type: "pkcs8", format: "pem" }) as string),
    /unsupported key type ed448/,
  );
});
