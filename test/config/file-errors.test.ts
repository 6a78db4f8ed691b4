/**
 * The files a config names are read and checked at load time: each problem is one line at the YAML node
 * that names the file, with the file as the user wrote it.
 */
import { generateKeyPairSync } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { CONFIG, type Fixture, makeFixture, rejects } from "./fixture.ts";

const needsOpenssl = { skip: missingPeer("openssl") };

let fx: Fixture;
before(async () => {
  if (!needsOpenssl.skip) fx = await makeFixture();
});
after(() => fx?.cleanup());

const F = CONFIG;

/** Line 4 is the host's `tls`, line 5 its `origin`; `extra` lines follow from line 6. */
function config(tls: string, origin = '{ url: "http://o" }', extra: string[] = []): string[] {
  return [
    'listen: { https: ":8443" }',
    "hostnames:",
    "  - hostname: api.example.test",
    `    tls: ${tls}`,
    `    origin: ${origin}`,
    ...extra,
  ];
}

const TLS = "{ cert: pki/api.pem, key: pki/api-key.pem }";

test(
  "server certificate and key files: missing, a directory, not a certificate, not a key",
  needsOpenssl,
  async () => {
    await rejects(
      config("{ cert: pki/nope.pem, key: pki/api-key.pem }"),
      `${F}:4:18: hostnames[0].tls.cert: cannot read pki/nope.pem: no such file`,
    );
    await rejects(
      config("{ cert: pki, key: pki/api-key.pem }"),
      `${F}:4:18: hostnames[0].tls.cert: cannot read pki: is a directory`,
    );
    await rejects(
      config("{ cert: pki/api-key.pem, key: pki/api-key.pem }"),
      `${F}:4:18: hostnames[0].tls.cert: pki/api-key.pem: no certificate found (expected a PEM block labelled CERTIFICATE or TRUSTED CERTIFICATE)`,
    );
    await rejects(
      config("{ cert: pki/api.pem, key: pki/nope-key.pem }"),
      `${F}:4:36: hostnames[0].tls.key: cannot read pki/nope-key.pem: no such file`,
    );
    await rejects(
      config("{ cert: pki/api.pem, key: pki/api.pem }"),
      `${F}:4:36: hostnames[0].tls.key: pki/api.pem: not a readable private key (expected PEM or DER: PKCS#1, SEC1 or PKCS#8)`,
    );
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const encrypted = privateKey.export({
      type: "pkcs8",
      format: "pem",
      cipher: "aes-256-cbc",
      passphrase: "x",
    });
    await writeFile(join(fx.etc, "pki", "enc-key.pem"), encrypted);
    await rejects(
      config("{ cert: pki/api.pem, key: pki/enc-key.pem }"),
      `${F}:4:36: hostnames[0].tls.key: pki/enc-key.pem: the private key is encrypted; decrypt it first (openssl pkey -in KEY -out KEY)`,
    );
  },
);

test("a key that does not match its certificate, in the list form", needsOpenssl, async () => {
  await rejects(
    [
      'listen: { https: ":8443" }',
      "hostnames:",
      "  - hostname: api.example.test",
      "    tls:",
      "      - { cert: pki/api.pem, key: pki/api-key.pem }",
      "      - { cert: pki/api-rsa.pem, key: pki/api-key.pem }",
      '    origin: { url: "http://o" }',
    ],
    `${F}:6:39: hostnames[0].tls[1].key: key does not match the certificate in pki/api-rsa.pem`,
  );
});

test("the key must match the leaf, not a certificate of its chain", needsOpenssl, async () => {
  // api-chain.pem is api then inter: inter's key is in the file's chain but is not the leaf's.
  await rejects(
    config("{ cert: pki/api-chain.pem, key: pki/inter-key.pem }"),
    `${F}:4:42: hostnames[0].tls.key: key does not match the certificate in pki/api-chain.pem`,
  );
});

test("trusted CAs: every certificate of every file must be a CA", needsOpenssl, async () => {
  await rejects(
    config(TLS, undefined, ["    mtls: { mode: enforce, trusted_cas: [pki/ca.pem, pki/not-ca.pem] }"]),
    `${F}:6:54: hostnames[0].mtls.trusted_cas[1]: pki/not-ca.pem: certificate #2: CN=alice is not a CA certificate (basicConstraints CA:TRUE is missing)`,
  );
  await rejects(
    config(TLS, undefined, ["    mtls: { mode: enforce, trusted_cas: [pki/api-key.pem] }"]),
    `${F}:6:42: hostnames[0].mtls.trusted_cas[0]: pki/api-key.pem: no certificate found (expected a PEM block labelled CERTIFICATE or TRUSTED CERTIFICATE)`,
  );
  await rejects(
    config(TLS, undefined, ["    mtls: { mode: enforce, trusted_cas: [pki/nope.pem] }"]),
    `${F}:6:42: hostnames[0].mtls.trusted_cas[0]: cannot read pki/nope.pem: no such file`,
  );
});

test("CRL sources: a file must be readable now, a URL must be http(s)", needsOpenssl, async () => {
  await rejects(
    config(TLS, undefined, ["    mtls: { crls: [pki/nope.crl] }"]),
    `${F}:6:20: hostnames[0].mtls.crls[0]: cannot read pki/nope.crl: no such file`,
  );
  await rejects(
    config(TLS, undefined, ["    mtls: { crls: [pki] }"]),
    `${F}:6:20: hostnames[0].mtls.crls[0]: cannot read pki: not a regular file`,
  );
  await rejects(
    config(TLS, undefined, ['    mtls: { crls: [pki/ca.crl, "ldap://x/ca.crl"] }']),
    `${F}:6:32: hostnames[0].mtls.crls[1]: expected an http or https URL, got "ldap://x/ca.crl"`,
  );
});

test(
  "origin CA bundle: PEM certificates only; origin client certificate: key must match",
  needsOpenssl,
  async () => {
    const pki = (name: string) => readFile(join(fx.etc, "pki", name), "utf8");
    await writeFile(
      join(fx.etc, "pki", "mixed.pem"),
      (await pki("origin-ca.pem")) + (await pki("api-key.pem")),
    );
    await rejects(
      config(TLS, '{ url: "http://o", ca: pki/mixed.pem }'),
      `${F}:5:36: hostnames[0].origin.ca: pki/mixed.pem: PEM block #2 is a PRIVATE KEY, not a CERTIFICATE`,
    );
    await rejects(
      config(TLS, '{ url: "http://o", ca: pki/ca.crl }'),
      `${F}:5:36: hostnames[0].origin.ca: pki/ca.crl: no certificate found (expected PEM CERTIFICATE blocks)`,
    );
    await rejects(
      config(TLS, '{ url: "http://o", client_cert: { cert: pki/aop.pem, key: pki/alice-key.pem } }'),
      `${F}:5:71: hostnames[0].origin.client_cert.key: key does not match the certificate in pki/aop.pem`,
    );
  },
);

test("files of a later host are checked too", needsOpenssl, async () => {
  await rejects(
    [
      ...config(TLS),
      "  - hostname: b.example.test",
      "    tls: { cert: pki/api.pem, key: pki/b-key.pem }",
      '    origin: { url: "http://o" }',
    ],
    `${F}:7:36: hostnames[1].tls.key: cannot read pki/b-key.pem: no such file`,
  );
});
