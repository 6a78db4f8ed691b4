/** wrangler.toml / wrangler.json(c) reading: the keys Portcullis acts on, and one-line errors with file:line:col. */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import {
  parseWranglerConfig,
  readWranglerConfig,
  WranglerConfigError,
} from "../../src/functions/wrangler.ts";

const SEED = `name = "mtls-worker"
main = "src/index.js"
compatibility_date = "2024-09-23"

mtls_certificates = [
  { binding = "MY_CERT", certificate_id = "0123456789abcdef0123456789abcdef" }
]

routes = [
  "api.example.test/*",
  { pattern = "shop.example.test/checkout*", zone_name = "example.test" },
]

[vars]
GREETING = "hello"
LIMITS = { max = 3 }

[limits]
cpu_ms = 50

[[kv_namespaces]]
binding = "KV"
id = "x"
`;

test("the seed's wrangler.toml shape: name, main, vars, routes, mtls_certificates, limits", () => {
  const project = parseWranglerConfig("/p/wrangler.toml", SEED);
  assert.equal(project.name, "mtls-worker");
  assert.equal(project.main, "/p/src/index.js");
  assert.equal(project.compatibilityDate, "2024-09-23");
  assert.deepEqual(project.mtlsCertificates, [
    { binding: "MY_CERT", certificateId: "0123456789abcdef0123456789abcdef" },
  ]);
  assert.deepEqual(project.routes, [
    { pattern: "api.example.test/*" },
    { pattern: "shop.example.test/checkout*", zoneName: "example.test" },
  ]);
  assert.deepEqual(JSON.parse(JSON.stringify(project.vars)), { GREETING: "hello", LIMITS: { max: 3 } });
  assert.equal(project.cpuMs, 50);
  assert.deepEqual(project.ignored, ["kv_namespaces"]);
});

test("wrangler.json and wrangler.jsonc (comments, trailing commas) say the same", async () => {
  const dir = await mkdtemp(join(tmpdir(), "portcullis-wrangler-"));
  try {
    const json = {
      name: "mtls-worker",
      main: "index.js",
      mtls_certificates: [{ binding: "MY_CERT", certificate_id: "abc" }],
      route: { pattern: "api.example.test/*", zone_id: "0123456789abcdef0123456789abcdef" },
    };
    await writeFile(join(dir, "wrangler.json"), JSON.stringify(json));
    await writeFile(
      join(dir, "wrangler.jsonc"),
      `// a comment\n{\n  "name": "mtls-worker", /* inline */ "main": "index.js",\n  "mtls_certificates": [{ "binding": "MY_CERT", "certificate_id": "abc" },],\n  "route": { "pattern": "api.example.test/*", "zone_id": "0123456789abcdef0123456789abcdef" },\n}\n`,
    );
    const a = await readWranglerConfig(join(dir, "wrangler.json"));
    const b = await readWranglerConfig(join(dir, "wrangler.jsonc"));
    assert.deepEqual({ ...a, file: "" }, { ...b, file: "" });
    assert.deepEqual(a.routes, [
      { pattern: "api.example.test/*", zoneId: "0123456789abcdef0123456789abcdef" },
    ]);
    assert.equal(a.main, join(dir, "index.js"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function errorOf(file: string, text: string): string {
  try {
    parseWranglerConfig(file, text);
  } catch (err) {
    assert.ok(err instanceof WranglerConfigError, String(err));
    assert.doesNotMatch(err.message, /\n/);
    return err.message;
  }
  assert.fail("no error");
}

test("mistakes are one line with file:line:col", () => {
  assert.equal(errorOf("w.toml", 'name = "x"\nmain = [1,\n x]\n'), "w.toml:3:2: invalid value");
  assert.equal(
    errorOf("w.toml", 'name = "x"\n\nmtls_certificates = [\n  { binding = "MY_CERT" }\n]\n'),
    "w.toml:3:1: certificate_id: must be the certificate's id (portcullis mtls-certificate list)",
  );
  assert.equal(
    errorOf("w.toml", 'name = "x"\nmtls_certificates = [ { binding = "MY CERT", certificate_id = "a" } ]\n'),
    "w.toml:2:25: binding: must be a binding name such as MY_CERT",
  );
  assert.match(
    errorOf("w.toml", 'routes = ["api.example.test"]\n'),
    /^w\.toml:1:1: routes: route pattern "api\.example\.test": needs a path/,
  );
  assert.equal(
    errorOf("w.toml", '\nname = "Not Valid"\n'),
    "w.toml:2:1: name: use lower-case letters, digits, - and _ (at most 63)",
  );
  assert.equal(
    errorOf("w.toml", "[limits]\ncpu_ms = 0\n"),
    "w.toml:2:1: cpu_ms: must be a whole number of milliseconds from 1 to 300000",
  );
  assert.equal(
    errorOf("w.json", '{\n  "name": "x",\n  "main": 3\n}'),
    "w.json:3:3: main: must be a non-empty string",
  );
  assert.match(errorOf("w.json", '{\n  "name": "x"\n  "main": "a"\n}'), /^w\.json:3:3: /);
  assert.equal(
    errorOf(
      "w.toml",
      '[vars]\nMY_CERT = "a"\n[[mtls_certificates]]\nbinding = "MY_CERT"\ncertificate_id = "b"\n',
    ),
    "w.toml:2:1: MY_CERT: is bound twice",
  );
});
