/**
 * The outbound allow list (workerd's vocabulary) for mTLS bindings too: the egress server refuses a
 * destination outside it, whether named by address or resolved from a name.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http from "node:http";
import { test } from "node:test";
import { EgressServer } from "../../src/functions/egress.ts";
import { functionsSettings } from "../../src/functions/from-store.ts";
import { addressPolicy } from "../../src/functions/outbound.ts";
import { EGRESS_SECRET_HEADER } from "../../src/functions/workerd-config.ts";
import { makeClientCert } from "../helpers/openssl-pki.ts";
import { missingPeer } from "../helpers/peers.ts";
import { tempDir } from "../helpers/run.ts";

test("public, private, local, network and CIDR blocks", () => {
  const publicOnly = addressPolicy(["public"]);
  assert.equal(publicOnly("93.184.216.34"), true);
  for (const inside of [
    "127.0.0.1",
    "10.1.2.3",
    "192.168.0.1",
    "172.20.0.1",
    "169.254.169.254",
    "::1",
    "fd00::1",
    "::ffff:10.0.0.1",
  ])
    assert.equal(publicOnly(inside), false, inside);
  const local = addressPolicy(["local"]);
  assert.equal(local("127.0.0.1"), true);
  assert.equal(local("10.0.0.1"), false);
  assert.equal(addressPolicy(["private"])("10.0.0.1"), true);
  assert.equal(addressPolicy(["network"])("127.0.0.1"), false);
  const cidr = addressPolicy(["203.0.113.0/24", "2001:db8::/32"]);
  assert.equal(cidr("203.0.113.9"), true);
  assert.equal(cidr("203.0.114.9"), false);
  assert.equal(cidr("2001:db8::5"), true);
  assert.throws(
    () => addressPolicy(["everything"]),
    /"everything" is not public, private, local, network or a CIDR block/,
  );
});

test("a bad PORTCULLIS_FUNCTIONS_OUTBOUND is one line naming it", async () => {
  await assert.rejects(
    functionsSettings({ PORTCULLIS_FUNCTIONS_OUTBOUND: "public,10.0.0.0/33" }),
    /^ConfigError: PORTCULLIS_FUNCTIONS_OUTBOUND: "10\.0\.0\.0\/33" is not public/,
  );
  await assert.rejects(
    functionsSettings({ PORTCULLIS_FUNCTIONS_CA: "/nonexistent.pem" }),
    /PORTCULLIS_FUNCTIONS_CA: cannot read/,
  );
});

test("an mTLS binding cannot reach what the allow list refuses", {
  skip: missingPeer("openssl"),
}, async () => {
  const { path: dir, cleanup } = await tempDir();
  const egress = new EgressServer(() => {}, addressPolicy(["public"]));
  try {
    const pair = await makeClientCert(dir, "fn", { subject: "/CN=fn" });
    const address = await egress.start();
    const secret = egress.register(
      "fn",
      "MY_CERT",
      "id",
      {
        certPem: await readFile(pair.certPath, "utf8"),
        keyPem: await readFile(pair.keyPath, "utf8"),
      },
      [],
    );
    // What workerd sends for env.MY_CERT.fetch(url): the full URL in the request line, the binding's secret.
    const send = (url: string, key = secret) =>
      new Promise<{ status: number; reason: string; body: string }>((resolve, reject) => {
        const [host, port] = address.split(":");
        const headers = { [EGRESS_SECRET_HEADER]: key };
        const req = http.request({ host, port: Number(port), method: "GET", path: url, headers }, (res) => {
          let body = "";
          res.on("data", (chunk: Buffer) => {
            body += chunk.toString();
          });
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              reason: String(res.headers["x-portcullis-reason"]),
              body,
            }),
          );
        });
        req.on("error", reject);
        req.end();
      });
    const literal = await send("https://127.0.0.1:9/");
    assert.equal(literal.status, 403);
    assert.equal(literal.reason, "destination_not_allowed");
    const named = await send("https://localhost:9/");
    assert.equal(named.status, 502);
    assert.match(named.body, /localhost \(.*\) is not an allowed destination/);
    assert.equal((await send("https://localhost:9/", "not-a-secret")).status, 403);
  } finally {
    await egress.close();
    await cleanup();
  }
});
