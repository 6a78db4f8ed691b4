import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parseCertificate } from "../../src/pki/certificate.ts";
import { parseCrl, verifyCrl } from "../../src/pki/crl.ts";
import {
  assertOpensslVerifiesCrl,
  makeCa,
  makeClientCert,
  openssl,
  opensslSki,
} from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, type RunResult, run, shell, tempDir } from "../helpers/run.ts";

const needsOpenssl = { skip: missingPeer("openssl") };
const needsCfssl = { skip: missingPeer("openssl", "cfssl", "cfssljson") };

// Serials of the client certificates: the revoked one has its high bit set (a leading 00 in DER).
const REVOKED_SERIAL = 2n ** 127n + 1n;
const OK_SERIAL = 4242n;
const RSA_REVOKED_SERIAL = 987654321987654321n;
const WEEK_SECONDS = 7 * 24 * 3600;

let dir: { path: string; cleanup: () => Promise<void> };
const at = (name: string) => join(dir.path, name);

/** A CA that may sign certificates and CRLs. Its subject is in Go's order, so cfssl's CRLs match it. */
function makeTestCa(name: string, key: "p256" | "rsa", cn: string) {
  return makeCa(dir.path, name, { key, subject: `/C=US/O=Portcullis Test/CN=${cn}` });
}

/** `openssl crl -CAfile`, run in the fixture directory. */
function assertCrlVerifies(crlFile: string, form: "PEM" | "DER", ca = "ca.pem"): Promise<void> {
  return assertOpensslVerifiesCrl(crlFile, form, ca, { cwd: dir.path });
}

/** `openssl verify -crl_check`: the outcome for one certificate given the CRL. */
function opensslVerify(cert: string, crlPem: string, ca = "ca.pem"): Promise<RunResult> {
  return run("openssl", ["verify", "-crl_check", "-CAfile", ca, "-CRLfile", crlPem, cert], { cwd: dir.path });
}

async function crlValiditySeconds(crlFile: string, form: "PEM" | "DER"): Promise<number> {
  const { stdout } = await openssl(
    ["crl", "-in", crlFile, "-inform", form, "-noout", "-lastupdate", "-nextupdate"],
    { cwd: dir.path },
  );
  const last = /lastUpdate=(.+)/.exec(stdout)?.[1] ?? "";
  const next = /nextUpdate=(.+)/.exec(stdout)?.[1] ?? "";
  return (Date.parse(next) - Date.parse(last)) / 1000;
}

/** A failure: exit 1, nothing on stdout, one line on stderr (no stack trace). */
function assertFails(result: RunResult, message: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.equal(result.stdout, "");
  assert.equal(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
  assert.match(result.stderr, /^portcullis pki: /);
  assert.match(result.stderr, message);
}

before(async () => {
  if (needsOpenssl.skip) return;
  dir = await tempDir();
  await makeTestCa("ca", "p256", "Portcullis Test CA");
  await makeTestCa("rsa-ca", "rsa", "Portcullis Test RSA CA");
  await makeClientCert(dir.path, "revoked", { issuer: "ca", serial: REVOKED_SERIAL });
  await makeClientCert(dir.path, "ok", { issuer: "ca", serial: OK_SERIAL });
  await makeClientCert(dir.path, "rsa-revoked", { issuer: "rsa-ca", serial: RSA_REVOKED_SERIAL });
  await writeFile(at("serials.txt"), `# revoked clients\n${REVOKED_SERIAL} keyCompromise\n\n77\n`);
  await writeFile(at("plain-serials.txt"), `${REVOKED_SERIAL}\n77\n`); // what cfssl reads
  await writeFile(at("rsa-serials.txt"), `${RSA_REVOKED_SERIAL} superseded\n`);
});

after(async () => {
  await dir?.cleanup();
});

test(
  "gencrl prints one line of base64 DER: a v2 CRL OpenSSL verifies, with CRL Number, AKI and reasons",
  needsOpenssl,
  async () => {
    const result = await portcullis(["pki", "gencrl", "serials.txt", "ca.pem", "ca-key.pem"], {
      cwd: dir.path,
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^[A-Za-z0-9+/]+=*\n$/, "one line of base64");
    await writeFile(at("crl.der"), Buffer.from(result.stdout, "base64"));
    await assertCrlVerifies("crl.der", "DER");

    const { stdout: text } = await openssl(["crl", "-in", "crl.der", "-inform", "DER", "-noout", "-text"], {
      cwd: dir.path,
    });
    const ski = await opensslSki(at("ca.pem"));
    assert.match(text, /Version 2 \(0x1\)/);
    assert.match(text, /X509v3 CRL Number: \n\s+\d+\n/);
    assert.ok(text.includes(`X509v3 Authority Key Identifier: \n                ${ski}`), text);
    assert.ok(text.includes(`Serial Number: ${REVOKED_SERIAL.toString(16).toUpperCase()}\n`), text);
    assert.match(text, /Serial Number: 4D\n/);
    assert.match(text, /CRL Reason Code: \n\s+Key Compromise\n/);
    assert.equal(await crlValiditySeconds("crl.der", "DER"), WEEK_SECONDS, "default expiry is one week");
  },
);

test(
  "-pem / --pem print an X509 CRL that makes `openssl verify -crl_check` reject the revoked client only",
  needsOpenssl,
  async () => {
    const short = await portcullis(["pki", "gencrl", "serials.txt", "ca.pem", "ca-key.pem", "-pem"], {
      cwd: dir.path,
    });
    const long = await portcullis(["pki", "gencrl", "--pem", "serials.txt", "ca.pem", "ca-key.pem"], {
      cwd: dir.path,
    });
    for (const result of [short, long]) {
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^-----BEGIN X509 CRL-----\n(?:[A-Za-z0-9+/=]{1,64}\n)+-----END X509 CRL-----\n$/,
      );
    }
    await writeFile(at("crl.pem"), short.stdout);
    await assertCrlVerifies("crl.pem", "PEM");

    const revoked = await opensslVerify("revoked.pem", "crl.pem");
    assert.notEqual(revoked.code, 0);
    assert.match(revoked.stdout + revoked.stderr, /error 23 at 0 depth lookup: certificate revoked/);
    const ok = await opensslVerify("ok.pem", "crl.pem");
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /ok\.pem: OK/);
  },
);

test(
  "EXPIRY_SECONDS sets nextUpdate; like cfssl 1.2 it may also name a file holding the number",
  needsCfssl,
  async () => {
    const numeric = await portcullis(
      ["pki", "gencrl", "-pem", "serials.txt", "ca.pem", "ca-key.pem", "3600"],
      {
        cwd: dir.path,
      },
    );
    assert.equal(numeric.code, 0, numeric.stderr);
    await writeFile(at("crl-3600.pem"), numeric.stdout);
    assert.equal(await crlValiditySeconds("crl-3600.pem", "PEM"), 3600);

    await writeFile(at("expiry.txt"), "60\n");
    const ours = await portcullis(
      ["pki", "gencrl", "plain-serials.txt", "ca.pem", "ca-key.pem", "expiry.txt"],
      {
        cwd: dir.path,
      },
    );
    const cfssl = await run("cfssl", ["gencrl", "plain-serials.txt", "ca.pem", "ca-key.pem", "expiry.txt"], {
      cwd: dir.path,
    });
    for (const [name, result] of [
      ["ours", ours],
      ["cfssl", cfssl],
    ] as const) {
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      await writeFile(at(`crl-60-${name}.der`), Buffer.from(result.stdout, "base64"));
      assert.equal(await crlValiditySeconds(`crl-60-${name}.der`, "DER"), 60, name);
    }
  },
);

test(
  "an RSA-2048 CA: SHA256WithRSA CRL that OpenSSL verifies and uses to reject the revoked client",
  needsOpenssl,
  async () => {
    const result = await portcullis(
      ["pki", "gencrl", "-pem", "rsa-serials.txt", "rsa-ca.pem", "rsa-ca-key.pem"],
      {
        cwd: dir.path,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    await writeFile(at("rsa-crl.pem"), result.stdout);
    await assertCrlVerifies("rsa-crl.pem", "PEM", "rsa-ca.pem");
    const { stdout: text } = await openssl(["crl", "-in", "rsa-crl.pem", "-noout", "-text"], {
      cwd: dir.path,
    });
    assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
    assert.match(text, /CRL Reason Code: \n\s+Superseded\n/);
    const revoked = await opensslVerify("rsa-revoked.pem", "rsa-crl.pem", "rsa-ca.pem");
    assert.match(revoked.stdout + revoked.stderr, /error 23 at 0 depth lookup: certificate revoked/);
  },
);

test(
  "cfssl interop: cfssl gencrl and ours, from the same inputs, both verify and list the same serials",
  needsCfssl,
  async () => {
    const cfssl = await run("cfssl", ["gencrl", "plain-serials.txt", "ca.pem", "ca-key.pem"], {
      cwd: dir.path,
    });
    const ours = await portcullis(["pki", "gencrl", "plain-serials.txt", "ca.pem", "ca-key.pem"], {
      cwd: dir.path,
    });
    const serials = (der: Buffer) => parseCrl(der).entries.map((entry) => entry.serial);
    const ca = parseCertificate(await readFile(at("ca.pem")));
    for (const [name, result] of [
      ["cfssl", cfssl],
      ["ours", ours],
    ] as const) {
      assert.equal(result.code, 0, `${name}: ${result.stderr}`);
      assert.match(result.stdout, /^[A-Za-z0-9+/]+=*\n$/, `${name} prints one line of base64`);
      const der = Buffer.from(result.stdout, "base64");
      await writeFile(at(`interop-${name}.der`), der);
      await assertCrlVerifies(`interop-${name}.der`, "DER");
      assert.deepEqual(serials(der), [REVOKED_SERIAL, 77n], name);
      assert.equal(await verifyCrl(parseCrl(der), ca), true, `verifyCrl accepts ${name}'s CRL`);
    }
    // cfssl's CRL, read back by us, revokes the same client in OpenSSL's eyes.
    await openssl(["crl", "-in", "interop-cfssl.der", "-inform", "DER", "-out", "interop-cfssl.pem"], {
      cwd: dir.path,
    });
    const revoked = await opensslVerify("revoked.pem", "interop-cfssl.pem");
    assert.match(revoked.stdout + revoked.stderr, /certificate revoked/);
  },
);

test(
  "a CA made by `cfssl gencert -initca | cfssljson -bare` signs CRLs with gencrl",
  needsCfssl,
  async () => {
    await writeFile(
      at("cfssl-ca-csr.json"),
      JSON.stringify({
        CN: "cfssl CA",
        key: { algo: "ecdsa", size: 256 },
        names: [{ C: "US", O: "cfssl Test" }],
      }),
    );
    const made = await shell("cfssl gencert -initca cfssl-ca-csr.json | cfssljson -bare cfssl-ca", {
      cwd: dir.path,
    });
    assert.equal(made.code, 0, made.stderr);
    const result = await portcullis(
      ["pki", "gencrl", "--pem", "serials.txt", "cfssl-ca.pem", "cfssl-ca-key.pem"],
      {
        cwd: dir.path,
      },
    );
    assert.equal(result.code, 0, result.stderr);
    await writeFile(at("cfssl-ca-crl.pem"), result.stdout);
    await assertCrlVerifies("cfssl-ca-crl.pem", "PEM", "cfssl-ca.pem");
  },
);

test("serials may come from stdin (-)", needsOpenssl, async () => {
  const result = await portcullis(["pki", "gencrl", "-pem", "-", "ca.pem", "ca-key.pem"], {
    cwd: dir.path,
    input: "1001\n1002 cessationOfOperation\n",
  });
  assert.equal(result.code, 0, result.stderr);
  assert.deepEqual(
    parseCrl(result.stdout).entries.map(({ serial, reason }) => ({ serial, reason })),
    [
      { serial: 1001n, reason: undefined },
      { serial: 1002n, reason: "cessationOfOperation" },
    ],
  );
});

test("bad input: one line naming the file or field, exit 1, nothing on stdout", needsOpenssl, async () => {
  const gencrl = (...args: string[]) => portcullis(["pki", "gencrl", ...args], { cwd: dir.path });
  await writeFile(at("bad-serials.txt"), "1\n2\n12x\n");
  await writeFile(at("bad-reason.txt"), "1\n5 stolen\n");

  assertFails(
    await gencrl("missing.txt", "ca.pem", "ca-key.pem"),
    /^portcullis pki: missing\.txt: cannot read serials file: no such file\n$/,
  );
  assertFails(
    await gencrl("bad-serials.txt", "ca.pem", "ca-key.pem"),
    /^portcullis pki: bad-serials\.txt: line 3: "12x" is not a decimal serial number\n$/,
  );
  assertFails(
    await gencrl("bad-reason.txt", "ca.pem", "ca-key.pem"),
    /bad-reason\.txt: line 2: unknown revocation reason "stolen" \(use one of: unspecified, keyCompromise, /,
  );
  assertFails(
    await gencrl("serials.txt", "ca.pem", "rsa-ca-key.pem"),
    /^portcullis pki: rsa-ca-key\.pem: the CA key does not match the CA certificate \(.*CN=Portcullis Test CA\)\n$/,
  );
  assertFails(
    await gencrl("serials.txt", "no-ca.pem", "ca-key.pem"),
    /no-ca\.pem: cannot read CA certificate: no such file/,
  );
  assertFails(
    await gencrl("serials.txt", "ca.pem", "serials.txt"),
    /serials\.txt: not a readable private key/,
  );
  for (const expiry of ["soon", "0", "-5", "1.5"]) {
    assertFails(
      await gencrl("serials.txt", "ca.pem", "ca-key.pem", "--", expiry),
      new RegExp(`^portcullis pki: expiry: "${expiry}" is not a whole number of seconds from 1 to \\d+\\n$`),
    );
  }
});

test("wrong number of arguments or an unknown flag is a usage error: exit 2", needsOpenssl, async () => {
  for (const args of [
    ["serials.txt", "ca.pem"],
    ["a", "b", "c", "d", "e"],
    ["-x", "serials.txt", "ca.pem", "ca-key.pem"],
  ]) {
    const result = await portcullis(["pki", "gencrl", ...args], { cwd: dir.path });
    assert.equal(result.code, 2, result.stderr);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^portcullis pki: .*\(run with -h for usage\)\n$/);
  }
  const usage = await portcullis(["pki", "gencrl", "serials.txt"], { cwd: dir.path });
  assert.match(usage.stderr, /expected SERIALS_FILE CA_CERT CA_KEY \[EXPIRY_SECONDS\], got 1 argument/);
});
