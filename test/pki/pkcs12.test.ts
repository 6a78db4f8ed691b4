import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { type Certificate, parseCertificates } from "../../src/pki/certificate.ts";
import { PkiError } from "../../src/pki/errors.ts";
import { keyMatchesPublicKey, parsePrivateKey } from "../../src/pki/keys.ts";
import { pkcs12Kdf } from "../../src/pki/pkcs12/kdf.ts";
import { createPkcs12, readPkcs12 } from "../../src/pki/pkcs12.ts";
import { makeCa, makeClientCert, openssl } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { run, tempDir } from "../helpers/run.ts";

const PW = "correct horse";
const needsOpenssl = { skip: missingPeer("openssl") };

// ---- fixtures: a root CA, an intermediate CA and client certificates, all made by openssl ---------------

type Algo = "rsa" | "p256" | "p384" | "p521" | "ed25519";
const ALGOS: Algo[] = ["rsa", "p256", "p384", "p521", "ed25519"];

/** openssl's stdout (it must succeed). */
async function opensslOut(args: string[], cwd: string): Promise<string> {
  return (await openssl(args, { cwd })).stdout;
}

interface Fixtures {
  dir: string;
  root: Certificate;
  intermediate: Certificate;
  client(algo: Algo): Promise<{ certPem: string; keyPem: string; cert: Certificate }>;
}

let fixtures: Promise<Fixtures> | undefined;
const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

function getFixtures(): Promise<Fixtures> {
  fixtures ??= (async () => {
    const { path: dir, cleanup } = await tempDir("portcullis-p12-");
    cleanups.push(cleanup);
    await makeCa(dir, "root");
    await makeCa(dir, "intermediate", { issuer: "root" });
    const pem = (name: string) => readFile(join(dir, name), "utf8");
    const clients = new Map<Algo, Promise<{ certPem: string; keyPem: string; cert: Certificate }>>();
    return {
      dir,
      root: parseCertificates(await pem("root.pem"))[0] as Certificate,
      intermediate: parseCertificates(await pem("intermediate.pem"))[0] as Certificate,
      client(algo) {
        let client = clients.get(algo);
        if (!client) {
          client = (async () => {
            await makeClientCert(dir, `client-${algo}`, { key: algo, issuer: "intermediate" });
            const certPem = await pem(`client-${algo}.pem`);
            return {
              certPem,
              keyPem: await pem(`client-${algo}-key.pem`),
              cert: parseCertificates(certPem)[0] as Certificate,
            };
          })();
          clients.set(algo, client);
        }
        return client;
      },
    };
  })();
  return fixtures;
}

async function writeP12(name: string, p12: Buffer): Promise<string> {
  const { dir } = await getFixtures();
  const path = join(dir, name);
  await writeFile(path, p12);
  return path;
}

function der(cert: Certificate): Buffer {
  return Buffer.from(cert.rawData);
}

// ---- openssl reads what createPkcs12 writes -----------------------------------------------------------

for (const algo of ALGOS) {
  test(
    `${algo}: openssl pkcs12 (no -legacy) reads the file: PBES2/AES-256, HMAC-SHA256, same cert and key`,
    needsOpenssl,
    async () => {
      const f = await getFixtures();
      const client = await f.client(algo);
      const p12 = await createPkcs12({
        cert: client.certPem,
        key: client.keyPem,
        chain: [f.intermediate, f.root],
        password: PW,
      });
      const path = await writeP12(`${algo}.p12`, p12);

      const info = await run("openssl", ["pkcs12", "-info", "-in", path, "-passin", `pass:${PW}`, "-noout"]);
      assert.equal(info.code, 0, info.stderr);
      assert.match(info.stderr, /MAC: sha256, Iteration 2048/);
      assert.match(
        info.stderr,
        /PKCS7 Encrypted data: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/,
      );
      assert.match(
        info.stderr,
        /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC, Iteration 2048, PRF hmacWithSHA256/,
      );

      const leafPem = await opensslOut(
        ["pkcs12", "-in", path, "-passin", `pass:${PW}`, "-nokeys", "-clcerts"],
        f.dir,
      );
      const leaf = parseCertificates(leafPem);
      assert.equal(leaf.length, 1);
      assert.deepEqual(der(leaf[0] as Certificate), der(client.cert));

      const keyPem = await opensslOut(
        ["pkcs12", "-in", path, "-passin", `pass:${PW}`, "-nocerts", "-nodes"],
        f.dir,
      );
      assert.ok(
        keyMatchesPublicKey(parsePrivateKey(keyPem), client.cert.publicKey.rawData),
        "extracted key is the cert's",
      );

      const wrong = await run("openssl", ["pkcs12", "-info", "-in", path, "-passin", "pass:wrong", "-noout"]);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /Mac verify error/);
    },
  );
}

test(
  "the chain certificates are in the file, and friendlyName/localKeyID link the leaf and the key",
  needsOpenssl,
  async () => {
    const f = await getFixtures();
    const client = await f.client("p256");
    const p12 = await createPkcs12({
      cert: client.certPem,
      key: client.keyPem,
      chain: [`${f.intermediate.toString("pem")}\n${f.root.toString("pem")}`, f.root],
      password: PW,
    });
    const path = await writeP12("chain.p12", p12);
    const dump = await opensslOut(["pkcs12", "-info", "-in", path, "-passin", `pass:${PW}`, "-nodes"], f.dir);

    const certs = parseCertificates(dump);
    assert.deepEqual(
      certs.map((c) => c.subject),
      ["CN=client-p256", "CN=intermediate", "CN=root"],
      "leaf first, then the chain, the repeated root only once",
    );
    const cacerts = await opensslOut(
      ["pkcs12", "-in", path, "-passin", `pass:${PW}`, "-nokeys", "-cacerts"],
      f.dir,
    );
    assert.deepEqual(parseCertificates(cacerts).map(der), [der(f.intermediate), der(f.root)]);

    // Two bags carry attributes (the leaf and the key), with the same friendlyName and localKeyID.
    const names = [...dump.matchAll(/friendlyName: (.*)/g)].map((m) => m[1]);
    const ids = [...dump.matchAll(/localKeyID: (.*)/g)].map((m) => m[1]?.trim());
    assert.deepEqual(names, ["client-p256", "client-p256"]);
    assert.equal(ids.length, 2);
    assert.equal(ids[0], ids[1]);
  },
);

test(
  "legacy: 3DES for key and certificates and an HMAC-SHA1 MAC, read by openssl without -legacy",
  needsOpenssl,
  async () => {
    const f = await getFixtures();
    const client = await f.client("rsa");
    const p12 = await createPkcs12({
      cert: client.certPem,
      key: client.keyPem,
      chain: [f.intermediate],
      password: PW,
      legacy: true,
      friendlyName: "Legacy Client",
    });
    const path = await writeP12("legacy.p12", p12);
    const info = await run("openssl", ["pkcs12", "-info", "-in", path, "-passin", `pass:${PW}`, "-nodes"]);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr, /MAC: sha1, Iteration 2048/);
    assert.match(info.stderr, /PKCS7 Encrypted data: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
    assert.match(info.stderr, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC, Iteration 2048/);
    assert.doesNotMatch(info.stderr, /AES/);
    assert.match(info.stdout, /friendlyName: Legacy Client/);
    assert.ok(keyMatchesPublicKey(parsePrivateKey(info.stdout), client.cert.publicKey.rawData));

    const back = await readPkcs12(p12, PW);
    assert.deepEqual(der(back.cert), der(client.cert));
    assert.deepEqual(back.chain.map(der), [der(f.intermediate)]);
    assert.equal(back.friendlyName, "Legacy Client");
  },
);

test("non-ASCII and empty passwords are encoded as OpenSSL expects", needsOpenssl, async () => {
  const f = await getFixtures();
  const client = await f.client("ed25519");
  for (const password of ["pässwörd €", ""]) {
    for (const legacy of [false, true]) {
      const path = await writeP12(
        "pw.p12",
        await createPkcs12({ cert: client.certPem, key: client.keyPem, password, legacy }),
      );
      const result = await run("openssl", ["pkcs12", "-in", path, "-passin", `pass:${password}`, "-nodes"]);
      assert.equal(result.code, 0, `${JSON.stringify(password)} legacy=${legacy}: ${result.stderr}`);
      assert.ok(keyMatchesPublicKey(parsePrivateKey(result.stdout), client.cert.publicKey.rawData));
    }
  }
});

test("iterations are configurable and reach both the MAC and the encryption", needsOpenssl, async () => {
  const f = await getFixtures();
  const client = await f.client("p384");
  const path = await writeP12(
    "iter.p12",
    await createPkcs12({ cert: client.certPem, key: client.keyPem, password: PW, iterations: 5000 }),
  );
  const info = await run("openssl", ["pkcs12", "-info", "-in", path, "-passin", `pass:${PW}`, "-noout"]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stderr, /MAC: sha256, Iteration 5000/);
  assert.equal(info.stderr.match(/AES-256-CBC, Iteration 5000/g)?.length, 2);
});

// ---- readPkcs12 ---------------------------------------------------------------------------------------

for (const algo of ALGOS) {
  test(`${algo}: readPkcs12 round-trips cert, key, chain and friendly name`, needsOpenssl, async () => {
    const f = await getFixtures();
    const client = await f.client(algo);
    const p12 = await createPkcs12({
      cert: client.cert,
      key: parsePrivateKey(client.keyPem),
      chain: [f.intermediate, f.root],
      password: PW,
      friendlyName: "Laptop",
    });
    const back = await readPkcs12(p12, PW);
    assert.deepEqual(der(back.cert), der(client.cert));
    assert.deepEqual(back.chain.map(der), [der(f.intermediate), der(f.root)]);
    assert.match(back.key, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.ok(keyMatchesPublicKey(parsePrivateKey(back.key), client.cert.publicKey.rawData));
    assert.equal(back.friendlyName, "Laptop");
  });
}

test(
  "readPkcs12 reads what openssl pkcs12 -export writes: modern, legacy, unencrypted bags",
  needsOpenssl,
  async () => {
    const f = await getFixtures();
    const client = await f.client("p256");
    const schemes = {
      modern: [],
      legacy: ["-certpbe", "PBE-SHA1-3DES", "-keypbe", "PBE-SHA1-3DES", "-macalg", "sha1"],
      unencrypted: ["-certpbe", "NONE", "-keypbe", "NONE"],
    };
    for (const [label, extra] of Object.entries(schemes)) {
      const out = join(f.dir, `openssl-${label}.p12`);
      await opensslOut(
        [
          "pkcs12",
          "-export",
          "-in",
          "client-p256.pem",
          "-inkey",
          "client-p256-key.pem",
          "-certfile",
          "intermediate.pem",
        ].concat(["-name", "from openssl", "-passout", `pass:${PW}`, "-out", out], extra),
        f.dir,
      );
      const back = await readPkcs12(await readFile(out), PW);
      assert.deepEqual(der(back.cert), der(client.cert), label);
      assert.deepEqual(back.chain.map(der), [der(f.intermediate)], label);
      assert.ok(keyMatchesPublicKey(parsePrivateKey(back.key), client.cert.publicKey.rawData), label);
      assert.equal(back.friendlyName, "from openssl", label);
    }
  },
);

test("readPkcs12: a wrong password or a corrupted file is a clear PkiError", needsOpenssl, async () => {
  const f = await getFixtures();
  const client = await f.client("p256");
  for (const legacy of [false, true]) {
    const p12 = await createPkcs12({ cert: client.certPem, key: client.keyPem, password: PW, legacy });
    await assert.rejects(readPkcs12(p12, "wrong"), {
      name: "PkiError",
      message: "wrong password or corrupt PKCS#12 (MAC check failed)",
    });
    const corrupt = Buffer.from(p12);
    corrupt[200] = (corrupt[200] as number) ^ 0xff; // inside the encrypted certificate safe
    await assert.rejects(readPkcs12(corrupt, PW), {
      message: "wrong password or corrupt PKCS#12 (MAC check failed)",
    });
  }
  await assert.rejects(readPkcs12(Buffer.from("not a pfx"), PW), {
    name: "PkiError",
    message: "not a PKCS#12 file",
  });
});

// ---- bad input ----------------------------------------------------------------------------------------

test("a key that is not the certificate's is E_KEY naming the key field", needsOpenssl, async () => {
  const f = await getFixtures();
  const ec = await f.client("p256");
  const ed = await f.client("ed25519");
  const rsa = await f.client("rsa");
  for (const key of [ed.keyPem, rsa.keyPem]) {
    await assert.rejects(createPkcs12({ cert: ec.certPem, key, password: PW }), (err: unknown) => {
      assert.ok(err instanceof PkiError);
      assert.equal(err.code, "E_KEY");
      assert.equal(err.field, "key");
      assert.equal(err.message, "key: the private key does not match the certificate (CN=client-p256)");
      return true;
    });
  }
});

test(
  "bad inputs name their field: no certificate, unreadable key, public key, iterations",
  needsOpenssl,
  async () => {
    const f = await getFixtures();
    const client = await f.client("p256");
    await assert.rejects(createPkcs12({ cert: client.keyPem, key: client.keyPem, password: PW }), {
      code: "E_INPUT",
      field: "cert",
      message: /^cert: no certificate found/,
    });
    await assert.rejects(createPkcs12({ cert: client.certPem, key: "garbage", password: PW }), {
      code: "E_KEY",
      message: /^key: not a readable private key/,
    });
    const publicKey = await opensslOut(["pkey", "-in", "client-p256-key.pem", "-pubout"], f.dir);
    await assert.rejects(createPkcs12({ cert: client.certPem, key: publicKey, password: PW }), {
      code: "E_KEY",
      field: "key",
    });
    await assert.rejects(
      createPkcs12({ cert: client.certPem, key: client.keyPem, password: PW, iterations: 0 }),
      {
        code: "E_FIELD",
        message: /^iterations: must be a whole number/,
      },
    );
  },
);

// ---- the PKCS#12 KDF against a published vector and against openssl ------------------------------------

test("pkcs12Kdf matches the RFC 7292 test vector OpenSSL uses", () => {
  // OpenSSL test/recipes/30-test_evp_data/evpkdf_pkcs12.txt: SHA-1, password "smeg", id 1, 1 iteration.
  const key = pkcs12Kdf("sha1", "smeg", Buffer.from("0A58CF64530D823F", "hex"), 1, 1, 24);
  assert.equal(key.toString("hex").toUpperCase(), "8AAAE6297B6CB04642AB5B077851284EB7128F1A2A7FBCA3");
});

test(
  "pkcs12Kdf matches openssl's PKCS12KDF for every hash, id and multi-block lengths",
  needsOpenssl,
  async () => {
    const cases = [
      { hash: "sha1", password: "", id: 1, iterations: 2048, length: 24 },
      { hash: "sha1", password: "smeg", id: 2, iterations: 1000, length: 8 },
      { hash: "sha256", password: "pässwörd €", id: 3, iterations: 2048, length: 32 },
      { hash: "sha256", password: "x", id: 1, iterations: 3, length: 100 },
      {
        hash: "sha512",
        password: "a longer password than one block of sixty-four bytes, for the P part",
        id: 3,
        iterations: 7,
        length: 150,
      },
    ] as const;
    for (const c of cases) {
      const salt = randomBytes(c.length % 2 === 0 ? 20 : 8);
      const bmp = Buffer.from(`${c.password}\0`, "utf16le").swap16();
      const out = await run("openssl", [
        "kdf",
        "-binary",
        "-keylen",
        String(c.length),
        "-kdfopt",
        `digest:${c.hash}`,
        "-kdfopt",
        `hexpass:${bmp.toString("hex")}`,
        "-kdfopt",
        `hexsalt:${salt.toString("hex")}`,
        "-kdfopt",
        `id:${c.id}`,
        "-kdfopt",
        `iter:${c.iterations}`,
        "PKCS12KDF",
      ]);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(
        pkcs12Kdf(c.hash, c.password, salt, c.id, c.iterations, c.length).toString("hex"),
        out.raw.toString("hex"),
        JSON.stringify(c),
      );
    }
  },
);
