// Certificates from the signing library, checked by OpenSSL as a strict verifier.
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseCertificate } from "../../src/pki/certificate.ts";
import { parseCsrRequest } from "../../src/pki/csr.ts";
import { loadIssuer } from "../../src/pki/issuer.ts";
import { parseSigningConfig, selectProfile } from "../../src/pki/profile.ts";
import { generateCertificate, initCa } from "../../src/pki/sign.ts";
import { x509 } from "../../src/pki/x509.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const skip = missingPeer("openssl");
let work: { path: string; cleanup: () => Promise<void> };
before(async () => {
  work = await tempDir();
});
after(() => work?.cleanup());

const CONFIG = parseSigningConfig({
  signing: {
    default: { expiry: "24h", usages: ["signing"] },
    profiles: {
      client: { usages: ["digital signature", "key encipherment", "client auth"], expiry: "720h" },
      server: { usages: ["digital signature", "key encipherment", "server auth"] },
      intermediate: {
        usages: ["cert sign", "crl sign"],
        expiry: "8760h",
        ca_constraint: { is_ca: true, max_path_len: 0, max_path_len_zero: true },
        crl_url: "http://pki.example.test/inter.crl",
        ocsp_url: "http://ocsp.example.test",
        issuer_urls: ["http://pki.example.test/root.crt"],
      },
    },
  },
});

async function save(name: string, pem: string) {
  await writeFile(join(work.path, name), pem);
  return name;
}

async function opensslVerify(purpose: string, cert: string, root: string, untrusted?: string) {
  const args = [
    "verify",
    "-x509_strict",
    "-purpose",
    purpose,
    "-CAfile",
    root,
    ...(untrusted ? ["-untrusted", untrusted] : []),
    cert,
  ];
  const result = await run("openssl", args, { cwd: work.path });
  return `${result.stdout}${result.stderr}`.trim();
}

async function text(cert: string) {
  return (await run("openssl", ["x509", "-in", cert, "-noout", "-text"], { cwd: work.path })).stdout;
}

const KEYS = [
  { algo: "ecdsa", size: 256 },
  { algo: "ecdsa", size: 384 },
  { algo: "ecdsa", size: 521 },
  { algo: "rsa", size: 2048 },
  { algo: "ed25519", size: 0 },
] as const;

for (const key of KEYS) {
  const name = `${key.algo}${key.size || ""}`;
  test(`${name}: root → intermediate → client and server pass openssl verify -x509_strict`, {
    skip,
  }, async () => {
    const root = await initCa(parseCsrRequest({ CN: `Root ${name}`, key, ca: { pathlen: 1 } }));
    const rootIssuer = await loadIssuer(root.cert, root.key as string);
    const inter = await generateCertificate(
      parseCsrRequest({ CN: `Intermediate ${name}`, key }),
      rootIssuer,
      selectProfile(CONFIG, "intermediate"),
    );
    const interIssuer = await loadIssuer(inter.cert, inter.key);
    const client = await generateCertificate(
      parseCsrRequest({ CN: `client-${name}`, key }),
      interIssuer,
      selectProfile(CONFIG, "client"),
    );
    const server = await generateCertificate(
      parseCsrRequest({ CN: `server-${name}`, key, hosts: [`${name}.example.test`, "127.0.0.1"] }),
      interIssuer,
      selectProfile(CONFIG, "server"),
    );
    const files = {
      root: await save(`${name}-root.pem`, root.cert),
      inter: await save(`${name}-inter.pem`, inter.cert),
      client: await save(`${name}-client.pem`, client.cert),
      server: await save(`${name}-server.pem`, server.cert),
    };
    assert.equal(
      await opensslVerify("sslclient", files.client, files.root, files.inter),
      `${files.client}: OK`,
    );
    assert.equal(
      await opensslVerify("sslserver", files.server, files.root, files.inter),
      `${files.server}: OK`,
    );
    // The purposes are not interchangeable: a client certificate is no server certificate.
    assert.match(
      await opensslVerify("sslserver", files.client, files.root, files.inter),
      /unsuitable certificate purpose/,
    );
    // Without the intermediate there is no path.
    assert.match(
      await opensslVerify("sslclient", files.client, files.root),
      /unable to get local issuer certificate/,
    );
    // Key identifiers chain up.
    const [rootCert, interCert, clientCert] = [root.cert, inter.cert, client.cert].map((pem) =>
      parseCertificate(pem),
    );
    assert.equal(
      interCert?.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      rootCert?.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    assert.equal(
      clientCert?.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId,
      interCert?.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
  });
}

test("CA profile: pathlen, CRL distribution point, OCSP and issuer URLs", { skip }, async () => {
  const root = await initCa(parseCsrRequest({ CN: "URL Root", ca: { pathlen: 2, expiry: "87600h" } }));
  const inter = await generateCertificate(
    parseCsrRequest({ CN: "URL Inter" }),
    await loadIssuer(root.cert, root.key as string),
    selectProfile(CONFIG, "intermediate"),
  );
  const rootText = await text(await save("url-root.pem", root.cert));
  assert.match(rootText, /CA:TRUE, pathlen:2/);
  assert.match(rootText, /Certificate Sign, CRL Sign/);
  const interText = await text(await save("url-inter.pem", inter.cert));
  assert.match(interText, /CA:TRUE, pathlen:0/);
  assert.match(
    interText,
    /X509v3 CRL Distribution Points:[\s\S]*URI:http:\/\/pki\.example\.test\/inter\.crl/,
  );
  assert.match(interText, /OCSP - URI:http:\/\/ocsp\.example\.test/);
  assert.match(interText, /CA Issuers - URI:http:\/\/pki\.example\.test\/root\.crt/);
  const rootCert = parseCertificate(root.cert);
  assert.equal(
    rootCert.notAfter.getTime() - rootCert.notBefore.getTime(),
    87600 * 3_600_000,
    "ca.expiry is honoured",
  );
});

test("an intermediate with pathlen 0 cannot issue another CA", async () => {
  const root = await initCa(parseCsrRequest({ CN: "Root" }));
  const inter = await generateCertificate(
    parseCsrRequest({ CN: "Inter" }),
    await loadIssuer(root.cert, root.key as string),
    selectProfile(CONFIG, "intermediate"),
  );
  await assert.rejects(
    generateCertificate(
      parseCsrRequest({ CN: "Too deep" }),
      await loadIssuer(inter.cert, inter.key),
      selectProfile(CONFIG, "intermediate"),
    ),
    /has pathlen 0 and cannot issue CA certificates/,
  );
});

test("validity follows cfssl: now rounded to the minute, minus 5 minutes, plus the profile's expiry", async () => {
  const now = new Date("2026-03-01T12:34:40Z");
  const root = await initCa(parseCsrRequest({ CN: "Clock" }), undefined, { now });
  const rootCert = parseCertificate(root.cert);
  assert.equal(rootCert.notBefore.toISOString(), "2026-03-01T12:30:00.000Z");
  assert.equal(
    rootCert.notAfter.getTime() - rootCert.notBefore.getTime(),
    43800 * 3_600_000,
    "initca default is 5 years",
  );
  const leaf = await generateCertificate(
    parseCsrRequest({ CN: "leaf" }),
    await loadIssuer(root.cert, root.key as string),
    selectProfile(CONFIG, "client"),
    { now },
  );
  const leafCert = parseCertificate(leaf.cert);
  assert.equal(leafCert.notAfter.getTime() - leafCert.notBefore.getTime(), 720 * 3_600_000);
});

test("subjectAltNames of every kind reach the certificate", { skip }, async () => {
  const root = await initCa(parseCsrRequest({ CN: "SAN Root" }));
  const leaf = await generateCertificate(
    parseCsrRequest({ CN: "sans" }),
    await loadIssuer(root.cert, root.key as string),
    selectProfile(CONFIG, "client"),
    {
      sans: [
        { type: "dns", value: "*.example.test" },
        { type: "ip", value: "2001:db8::1" },
        { type: "email", value: "device@example.test" },
        { type: "uri", value: "spiffe://example.test/device/42" },
        { type: "upn", value: "device42@corp.example.test" },
        { type: "registeredId", value: "1.3.6.1.4.1.99999.1" },
        { type: "dirName", value: "CN=Device 42, O=Example" },
      ],
    },
  );
  const san = (await run("openssl", ["x509", "-noout", "-ext", "subjectAltName"], { input: leaf.cert }))
    .stdout;
  for (const expected of [
    "DNS:*.example.test",
    "IP Address:2001:DB8:0:0:0:0:0:1",
    "email:device@example.test",
    "URI:spiffe://example.test/device/42",
    "othername: UPN::device42@corp.example.test",
    "Registered ID:1.3.6.1.4.1.99999.1",
    "DirName:/CN=Device 42/O=Example",
  ]) {
    assert.ok(san.includes(expected), `${expected} in:\n${san}`);
  }
});

test("the subject keeps the CSR's names in Go's order, and serials are random positive 159-bit numbers", async () => {
  const root = await initCa(
    parseCsrRequest({
      CN: "Names",
      names: [{ C: "US", O: "Org", OU: "Unit", L: "City", ST: "State", E: "ca@example.test" }],
      serialnumber: "42",
    }),
  );
  const cert = parseCertificate(root.cert);
  assert.equal(
    cert.subject,
    "C=US, ST=State, L=City, O=Org, OU=Unit, CN=Names, 2.5.4.5=42, E=ca@example.test",
  );
  const serials = new Set<string>();
  for (let i = 0; i < 3; i++)
    serials.add(parseCertificate((await initCa(parseCsrRequest({ CN: "s" }))).cert).serialNumber);
  assert.equal(serials.size, 3);
  for (const serial of serials) {
    assert.ok(serial.length <= 40 && Number.parseInt(serial.slice(0, 2), 16) < 0x80, serial);
  }
});
