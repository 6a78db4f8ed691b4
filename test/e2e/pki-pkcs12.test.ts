import assert from "node:assert/strict";
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, test } from "node:test";
import { parseCertificates } from "../../src/pki/certificate.ts";
import { keyMatchesPublicKey, parsePrivateKey } from "../../src/pki/keys.ts";
import { readPkcs12 } from "../../src/pki/pkcs12.ts";
import { makeCa, makeClientCert, makeServerCert } from "../helpers/openssl-pki.ts";
import { type SServer, startSServer } from "../helpers/openssl-server.ts";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, run, tempDir } from "../helpers/run.ts";

const PW = "s3cret-pw";
const needsOpenssl = { skip: missingPeer("openssl") };

// ---- fixtures, made by openssl: root CA → intermediate CA → clients; root → server (localhost) -----------

const CLIENT_KEYS = ["rsa", "p256", "ed25519"] as const;

const cleanups: (() => Promise<void>)[] = [];
after(async () => {
  for (const cleanup of cleanups) await cleanup();
});

let pki: Promise<string> | undefined;
/** The fixture directory: root, intermediate, chain.pem (intermediate + root), server, client-{rsa,p256,ed25519}. */
function fixtures(): Promise<string> {
  pki ??= (async () => {
    const { path: dir, cleanup } = await tempDir("portcullis-p12-e2e-");
    cleanups.push(cleanup);
    await makeCa(dir, "root");
    await makeCa(dir, "intermediate", { issuer: "root" });
    await makeServerCert(dir, "server", { issuer: "root" });
    for (const key of CLIENT_KEYS) {
      await makeClientCert(dir, `client-${key}`, { key, issuer: "intermediate" });
    }
    const pem = (name: string) => readFile(join(dir, name), "utf8");
    await writeFile(join(dir, "chain.pem"), (await pem("intermediate.pem")) + (await pem("root.pem")));
    return dir;
  })();
  return pki;
}

/** An empty directory to run the CLI in. */
async function workDir(): Promise<string> {
  const { path, cleanup } = await tempDir("portcullis-p12-cwd-");
  cleanups.push(cleanup);
  return path;
}

async function opensslInfo(p12Path: string, password: string) {
  return run("openssl", ["pkcs12", "-info", "-in", p12Path, "-passin", `pass:${password}`, "-nodes"]);
}

// ---- the CLI --------------------------------------------------------------------------------------------

test(
  "pkcs12 writes CERT-name.p12 in the current directory, mode 0600, that openssl reads",
  needsOpenssl,
  async () => {
    const pkiDir = await fixtures();
    const cwd = await workDir();
    const result = await portcullis(
      [
        "pki",
        "pkcs12",
        "-cert",
        join(pkiDir, "client-p256.pem"),
        "-key",
        join(pkiDir, "client-p256-key.pem"),
      ].concat(["-ca", join(pkiDir, "chain.pem"), "-password", PW]),
      { cwd },
    );
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, "wrote client-p256.p12 (cert CN=client-p256, 2 chain certificates)\n");
    assert.equal(result.stdout, "");
    assert.deepEqual(await readdir(cwd), ["client-p256.p12"]);
    const path = join(cwd, "client-p256.p12");
    assert.equal((await stat(path)).mode & 0o777, 0o600);

    const info = await opensslInfo(path, PW);
    assert.equal(info.code, 0, info.stderr);
    assert.match(info.stderr, /MAC: sha256/);
    assert.match(info.stderr, /Shrouded Keybag: PBES2, PBKDF2, AES-256-CBC/);
    assert.deepEqual(
      parseCertificates(info.stdout).map((c) => c.subject),
      ["CN=client-p256", "CN=intermediate", "CN=root"],
    );
    assert.match(info.stdout, /friendlyName: client-p256/);
    const cert = parseCertificates(await readFile(join(pkiDir, "client-p256.pem")))[0];
    assert.ok(cert && keyMatchesPublicKey(parsePrivateKey(info.stdout), cert.publicKey.rawData));
    assert.equal((await opensslInfo(path, "wrong")).code === 0, false, "a wrong password is refused");
  },
);

test("-stdout writes the PKCS#12 bytes to stdout and no file", needsOpenssl, async () => {
  const pkiDir = await fixtures();
  const cwd = await workDir();
  const result = await portcullis(
    [
      "pki",
      "pkcs12",
      "-cert",
      join(pkiDir, "client-ed25519.pem"),
      "-key",
      join(pkiDir, "client-ed25519-key.pem"),
    ].concat(["-password", PW, "-stdout"]),
    { cwd },
  );
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, "wrote PKCS#12 to stdout (cert CN=client-ed25519, 0 chain certificates)\n");
  assert.deepEqual(await readdir(cwd), []);
  const back = await readPkcs12(result.raw, PW);
  assert.equal(back.cert.subject, "CN=client-ed25519");
  const path = join(cwd, "piped.p12");
  await writeFile(path, result.raw);
  const info = await opensslInfo(path, PW);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /BEGIN PRIVATE KEY/);
});

test("-out, -name, -legacy, -password-file and $PORTCULLIS_P12_PASSWORD", needsOpenssl, async () => {
  const pkiDir = await fixtures();
  const cwd = await workDir();
  const base = [
    "pki",
    "pkcs12",
    "-cert",
    join(pkiDir, "client-rsa.pem"),
    "-key",
    join(pkiDir, "client-rsa-key.pem"),
  ];

  await writeFile(join(cwd, "pw.txt"), "from file\nignored second line\n");
  const legacy = await portcullis(
    [...base, "-password-file", "pw.txt", "-legacy", "-name", "Work laptop", "-out", "old.p12"],
    { cwd },
  );
  assert.equal(legacy.code, 0, legacy.stderr);
  assert.equal(legacy.stderr, "wrote old.p12 (cert CN=client-rsa, 0 chain certificates, legacy 3DES)\n");
  const legacyInfo = await opensslInfo(join(cwd, "old.p12"), "from file");
  assert.equal(legacyInfo.code, 0, legacyInfo.stderr);
  assert.match(legacyInfo.stderr, /MAC: sha1/);
  assert.match(legacyInfo.stderr, /Shrouded Keybag: pbeWithSHA1And3-KeyTripleDES-CBC/);
  assert.match(legacyInfo.stdout, /friendlyName: Work laptop/);

  const fromEnv = await portcullis([...base, "-out", "env.p12"], {
    cwd,
    env: { PORTCULLIS_P12_PASSWORD: "from env" },
  });
  assert.equal(fromEnv.code, 0, fromEnv.stderr);
  assert.equal((await opensslInfo(join(cwd, "env.p12"), "from env")).code, 0);

  const empty = await portcullis([...base, "-password", "", "-out", "empty.p12"], { cwd });
  assert.equal(empty.code, 0, empty.stderr);
  assert.equal((await opensslInfo(join(cwd, "empty.p12"), "")).code, 0);
});

// ---- bad input: one line, exit code, no file ------------------------------------------------------------

test("bad inputs: one line on stderr, exit code, and no .p12 file", needsOpenssl, async () => {
  const pkiDir = await fixtures();
  const cases: {
    name: string;
    args: string[];
    env?: Record<string, string>;
    code: number;
    stderr: string | RegExp;
  }[] = [
    {
      name: "missing key file",
      args: ["-cert", join(pkiDir, "client-p256.pem"), "-key", "missing-key.pem", "-password", PW],
      code: 1,
      stderr: "portcullis pki: missing-key.pem: cannot read private key: no such file\n",
    },
    {
      name: "key of another certificate",
      args: [
        "-cert",
        join(pkiDir, "client-p256.pem"),
        "-key",
        join(pkiDir, "client-rsa-key.pem"),
        "-password",
        PW,
      ],
      code: 1,
      stderr: `portcullis pki: ${join(pkiDir, "client-rsa-key.pem")}: key: the private key does not match the certificate (CN=client-p256)\n`,
    },
    {
      name: "no certificate in the cert file",
      args: [
        "-cert",
        join(pkiDir, "client-p256-key.pem"),
        "-key",
        join(pkiDir, "client-p256-key.pem"),
        "-password",
        PW,
      ],
      code: 1,
      stderr: new RegExp(
        `^portcullis pki: ${join(pkiDir, "client-p256-key.pem")}: cert: no certificate found .*\\n$`,
      ),
    },
    {
      name: "no password given",
      args: ["-cert", join(pkiDir, "client-p256.pem"), "-key", join(pkiDir, "client-p256-key.pem")],
      env: { PORTCULLIS_P12_PASSWORD: "" },
      code: 2,
      stderr:
        /^portcullis pki: no password: give -password PASS, -password-file FILE or set PORTCULLIS_P12_PASSWORD .*\n$/,
    },
    {
      name: "missing password file",
      args: [
        "-cert",
        join(pkiDir, "client-p256.pem"),
        "-key",
        join(pkiDir, "client-p256-key.pem"),
        "-password-file",
        "nope",
      ],
      code: 1,
      stderr: "portcullis pki: nope: cannot read password file: no such file\n",
    },
  ];
  for (const c of cases) {
    const cwd = await workDir();
    const result = await portcullis(["pki", "pkcs12", ...c.args], { cwd, ...(c.env ? { env: c.env } : {}) });
    assert.equal(result.code, c.code, `${c.name}: ${result.stderr}`);
    if (typeof c.stderr === "string") assert.equal(result.stderr, c.stderr, c.name);
    else assert.match(result.stderr, c.stderr, c.name);
    assert.equal(result.stdout, "", c.name);
    assert.deepEqual(await readdir(cwd), [], `${c.name}: no file is written`);
  }
});

// ---- a real mutual-TLS handshake: curl presents the .p12 to openssl s_server --------------------------------

function curl(server: SServer, pkiDir: string, clientArgs: string[]) {
  return run("curl", [
    "-sS",
    "--max-time",
    "20",
    "--cacert",
    join(pkiDir, "root.pem"),
    "--resolve",
    `localhost:${server.port}:127.0.0.1`,
    ...clientArgs,
    `https://localhost:${server.port}/`,
  ]);
}

test("curl --cert-type P12 authenticates to openssl s_server with the .p12 (RSA, ECDSA, Ed25519)", {
  skip: missingPeer("openssl", "curl"),
}, async () => {
  const pkiDir = await fixtures();
  const cwd = await workDir();
  // Trusts root.pem only and takes one intermediate: the .p12 must carry the client's.
  const server = await startSServer({
    cert: "server.pem",
    key: "server-key.pem",
    caFile: "root.pem",
    cwd: pkiDir,
    verifyDepth: 1,
  });
  try {
    const anonymous = await curl(server, pkiDir, []);
    assert.notEqual(anonymous.code, 0, "without a client certificate the request fails");
    assert.doesNotMatch(anonymous.stdout, /Client certificate/);

    for (const algo of CLIENT_KEYS) {
      const made = await portcullis(
        [
          "pki",
          "pkcs12",
          "-cert",
          join(pkiDir, `client-${algo}.pem`),
          "-key",
          join(pkiDir, `client-${algo}-key.pem`),
        ].concat(["-ca", join(pkiDir, "intermediate.pem"), "-password", PW]),
        { cwd },
      );
      assert.equal(made.code, 0, made.stderr);
      // s_server trusts only the root: the handshake works only if the .p12's intermediate is sent too.
      const result = await curl(server, pkiDir, [
        "--cert-type",
        "P12",
        "--cert",
        `${join(cwd, `client-${algo}.p12`)}:${PW}`,
      ]);
      assert.equal(result.code, 0, `${algo}: curl failed: ${result.stderr}\nserver:\n${server.output()}`);
      assert.match(result.stdout, /Verify return code: 0 \(ok\)/, algo);
      assert.match(
        result.stdout,
        new RegExp(`Client certificate\\n[\\s\\S]*Subject: CN=client-${algo}\\n`),
        algo,
      );
      assert.match(server.output(), new RegExp(`depth=0 CN = client-${algo}\\nverify return:1`), algo);

      const wrongPassword = await curl(server, pkiDir, [
        "--cert-type",
        "P12",
        "--cert",
        `${join(cwd, `client-${algo}.p12`)}:nope`,
      ]);
      assert.notEqual(wrongPassword.code, 0, `${algo}: a wrong password is refused`);
    }
  } finally {
    await server.stop();
  }
});
