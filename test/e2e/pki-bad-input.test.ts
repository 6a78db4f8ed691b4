// Every bad input gets one clear line naming the file and field, exit code 1, and no output file.
import assert from "node:assert/strict";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, run, shell, tempDir } from "../helpers/run.ts";

let work: { path: string; cleanup: () => Promise<void> };
const at = (name: string) => join(work.path, name);
const CONFIG = {
  signing: { profiles: { client: { usages: ["digital signature", "client auth"], expiry: "24h" } } },
};

before(async () => {
  work = await tempDir();
  await writeFile(at("csr.json"), JSON.stringify({ CN: "Test CA", key: { algo: "ecdsa", size: 256 } }));
  await writeFile(at("config.json"), JSON.stringify(CONFIG));
  const made = await shell(
    "portcullis pki gencert -initca csr.json | portcullis pki json -bare ca && " +
      "portcullis pki gencert -initca csr.json | portcullis pki json -bare other && " +
      "portcullis pki gencert -ca ca.pem -ca-key ca-key.pem -config config.json -profile client csr.json | portcullis pki json -bare leaf",
    { cwd: work.path },
  );
  assert.equal(made.code, 0, made.stderr);
});
after(() => work?.cleanup());

/** Runs a failing command in a fresh output directory and checks the one-line error and that nothing was written. */
async function expectFailure(args: string[], message: RegExp) {
  const out = await import("node:fs/promises").then((fs) => fs.mkdtemp(at("out-")));
  const result = await portcullis(args, { cwd: out });
  assert.equal(result.code, 1, `exit code for ${args.join(" ")}: ${result.stderr}`);
  assert.equal(result.stdout, "", "nothing on stdout");
  const lines = result.stderr.trim().split("\n");
  assert.equal(lines.length, 1, `one line of error, got:\n${result.stderr}`);
  assert.match(lines[0] as string, message);
  assert.doesNotMatch(result.stderr, /\bat .*\.ts:\d+/, "no stack trace");
  assert.deepEqual(await readdir(out), [], "no file written");
  // The same command piped into `pki json`, as users run it: the pipeline fails and writes nothing.
  const piped = await shell(
    `portcullis ${args.map((a) => `'${a}'`).join(" ")} | portcullis pki json -bare out`,
    { cwd: out },
  );
  assert.notEqual(piped.code, 0);
  assert.deepEqual(await readdir(out), [], "no file written by the pipeline");
}

/** A self-signed CA made by openssl with the given keyUsage: `NAME.pem` and `NAME-key.pem`. */
async function selfSignedCa(name: string, cn: string, keyUsage: string) {
  const made = await run(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:P-256",
      "-nodes",
      "-keyout",
      `${name}-key.pem`,
      "-out",
      `${name}.pem`,
      "-subj",
      `/CN=${cn}`,
      "-days",
      "1",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      `keyUsage=critical,${keyUsage}`,
    ],
    { cwd: work.path },
  );
  assert.equal(made.code, 0, made.stderr);
}

test("a missing CSR JSON file is named", async () => {
  await expectFailure(
    ["pki", "gencert", "-initca", at("nope.json")],
    /nope\.json: cannot read CSR JSON: no such file$/,
  );
});

test("a directory given as a file is named", async () => {
  await mkdir(at("adir"), { recursive: true });
  await expectFailure(
    ["pki", "gencert", "-initca", at("adir")],
    /adir: cannot read CSR JSON: is a directory$/,
  );
});

test("malformed JSON says where", async () => {
  await writeFile(at("broken.json"), '{\n  "CN": "x",\n  "key": {"algo": "rsa" "size": 2048}\n}\n');
  await expectFailure(
    ["pki", "gencert", "-initca", at("broken.json")],
    /broken\.json: malformed JSON: .*line 3 column \d+/,
  );
});

test("an unknown key algorithm names the field", async () => {
  await writeFile(at("dsa.json"), JSON.stringify({ CN: "x", key: { algo: "dsa", size: 2048 } }));
  await expectFailure(
    ["pki", "gencert", "-initca", at("dsa.json")],
    /dsa\.json: key\.algo: unknown key algorithm "dsa"/,
  );
});

test("RSA below 2048 bits and odd curve sizes are refused", async () => {
  await writeFile(at("weak.json"), JSON.stringify({ CN: "x", key: { algo: "rsa", size: 1024 } }));
  await expectFailure(
    ["pki", "gencert", "-initca", at("weak.json")],
    /weak\.json: key\.size: invalid rsa key size 1024/,
  );
  await writeFile(at("curve.json"), JSON.stringify({ CN: "x", key: { algo: "ecdsa", size: 255 } }));
  await expectFailure(
    ["pki", "gencert", "-initca", at("curve.json")],
    /curve\.json: key\.size: invalid ecdsa key size 255/,
  );
});

test("an expiry that does not parse names the profile field", async () => {
  await writeFile(
    at("bad-expiry.json"),
    JSON.stringify({ signing: { profiles: { client: { usages: ["client auth"], expiry: "1y" } } } }),
  );
  await expectFailure(
    [
      "pki",
      "gencert",
      "-ca",
      at("ca.pem"),
      "-ca-key",
      at("ca-key.pem"),
      "-config",
      at("bad-expiry.json"),
      "-profile",
      "client",
      at("csr.json"),
    ],
    /bad-expiry\.json: signing\.profiles\.client\.expiry: "1y" is not a duration/,
  );
  await writeFile(at("bad-ca-expiry.json"), JSON.stringify({ CN: "x", ca: { expiry: "five years" } }));
  await expectFailure(
    ["pki", "gencert", "-initca", at("bad-ca-expiry.json")],
    /ca\.expiry: "five years" is not a duration/,
  );
});

test("an unknown profile or usage is named", async () => {
  await expectFailure(
    [
      "pki",
      "gencert",
      "-ca",
      at("ca.pem"),
      "-ca-key",
      at("ca-key.pem"),
      "-config",
      at("config.json"),
      "-profile",
      "server",
      at("csr.json"),
    ],
    /profile: unknown profile "server" \(the config has: client\)/,
  );
  await writeFile(
    at("bad-usage.json"),
    JSON.stringify({ signing: { default: { usages: ["signing", "client-auth"] } } }),
  );
  await expectFailure(
    [
      "pki",
      "gencert",
      "-ca",
      at("ca.pem"),
      "-ca-key",
      at("ca-key.pem"),
      "-config",
      at("bad-usage.json"),
      at("csr.json"),
    ],
    /bad-usage\.json: signing\.default\.usages\[1\]: unknown usage "client-auth"/,
  );
});

test("a CA key that does not match the CA certificate is refused", async () => {
  await expectFailure(
    ["pki", "gencert", "-ca", at("ca.pem"), "-ca-key", at("other-key.pem"), at("csr.json")],
    /other-key\.pem: the CA key does not match the CA certificate/,
  );
});

test("a CA certificate without CA:TRUE cannot sign", async () => {
  await expectFailure(
    ["pki", "gencert", "-ca", at("leaf.pem"), "-ca-key", at("leaf-key.pem"), at("csr.json")],
    /leaf\.pem: CN=Test CA is not a CA certificate \(basicConstraints CA:TRUE is missing\)/,
  );
});

test("a CA certificate without keyCertSign cannot sign", { skip: missingPeer("openssl") }, async () => {
  await selfSignedCa("nosign", "No Sign", "digitalSignature");
  await expectFailure(
    ["pki", "gencert", "-ca", at("nosign.pem"), "-ca-key", at("nosign-key.pem"), at("csr.json")],
    /nosign\.pem: CN=No Sign may not sign certificates \(keyUsage lacks keyCertSign\)/,
  );
});

test("a CA certificate without cRLSign cannot sign CRLs", { skip: missingPeer("openssl") }, async () => {
  await selfSignedCa("nocrl", "No CRL", "keyCertSign");
  await writeFile(at("serials.txt"), "12345\n");
  await expectFailure(
    ["pki", "gencrl", at("serials.txt"), at("nocrl.pem"), at("nocrl-key.pem")],
    /nocrl\.pem: CN=No CRL may not sign CRLs \(keyUsage lacks cRLSign\)/,
  );
});

test("a CSR whose signature fails is not signed", async () => {
  const made = await shell("portcullis pki genkey csr.json | portcullis pki json -bare req", {
    cwd: work.path,
  });
  assert.equal(made.code, 0, made.stderr);
  const pem = await readFile(at("req.csr"), "utf8");
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
  der[der.length - 5] = (der[der.length - 5] as number) ^ 0xff; // flip bits inside the signature
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
  await writeFile(at("tampered.csr"), tampered);
  await expectFailure(
    ["pki", "sign", "-ca", at("ca.pem"), "-ca-key", at("ca-key.pem"), at("tampered.csr")],
    /tampered\.csr: csr: the CSR's signature does not verify/,
  );
});

test("a CSR with a weak RSA key is not signed", { skip: missingPeer("openssl") }, async () => {
  const made = await run(
    "openssl",
    [
      "req",
      "-new",
      "-newkey",
      "rsa:1024",
      "-nodes",
      "-keyout",
      "weak-key.pem",
      "-out",
      "weak.csr",
      "-subj",
      "/CN=weak",
    ],
    {
      cwd: work.path,
    },
  );
  assert.equal(made.code, 0, made.stderr);
  await expectFailure(
    ["pki", "sign", "-ca", at("ca.pem"), "-ca-key", at("ca-key.pem"), at("weak.csr")],
    /weak\.csr: csr: the CSR's RSA key has 1024 bits; at least 2048 are required/,
  );
});

test("pki json with input that is not JSON writes nothing", async () => {
  const out = await import("node:fs/promises").then((fs) => fs.mkdtemp(at("json-")));
  const result = await portcullis(["pki", "json", "-bare", "x"], { cwd: out, input: '{"cert": "abc"' });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^portcullis pki: stdin: malformed JSON: /);
  assert.deepEqual(await readdir(out), []);
  const empty = await portcullis(["pki", "json", "-bare", "x"], { cwd: out, input: "" });
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /stdin: empty input: expected JSON/);
  const bare = await portcullis(["pki", "json", "x"], { cwd: out, input: '{"cert": "abc"}' });
  assert.match(bare.stderr, /not a cfssl API response .* use -bare/);
  assert.deepEqual(await readdir(out), []);
});

test("pki json into a directory that does not exist writes nothing", async () => {
  const out = await import("node:fs/promises").then((fs) => fs.mkdtemp(at("nodir-")));
  const input = await readFile(at("ca.pem"), "utf8");
  const result = await portcullis(["pki", "json", "-bare", "missing/dir/ca"], {
    cwd: out,
    input: JSON.stringify({ cert: input, key: "k" }),
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /missing\/dir\/ca.*: cannot write: no such file/);
  assert.deepEqual(await readdir(out), []);
});

test("an unknown flag or missing argument is a usage error (exit 2) without a stack trace", async () => {
  const unknown = await portcullis(["pki", "gencert", "-initcaa", "csr.json"], { cwd: work.path });
  assert.equal(unknown.code, 2);
  assert.equal(
    unknown.stderr.trim(),
    "portcullis pki: flag provided but not defined: -initcaa (run with -h for usage)",
  );
  const missing = await portcullis(["pki", "gencert", "-ca"], { cwd: work.path });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /flag needs an argument: -ca/);
});
