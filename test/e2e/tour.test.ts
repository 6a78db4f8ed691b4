import assert from "node:assert/strict";
import { test } from "node:test";
import { missingPeer } from "../helpers/peers.ts";
import { portcullis, run, shell, tempDir } from "../helpers/run.ts";

test("portcullis tour prints what to try, and every suggested command works", {
  skip: missingPeer("openssl"),
}, async () => {
  const started = await portcullis(["tour"]);
  assert.equal(started.code, 0);
  const commands = started.stdout
    .split("\n")
    .filter((line) => line.startsWith("  $ "))
    .map((line) => line.slice(4));
  assert.ok(commands.length >= 5, started.stdout);
  const home = await tempDir();
  try {
    const script = commands.map((c) => c.replaceAll("/tmp/portcullis-demo", home.path)).join(" && ");
    const result = await shell(script);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /"common_name": "demo-client"/);
    const p12 = await run("openssl", ["pkcs12", "-in", "client.p12", "-passin", "pass:demo", "-nokeys"], {
      cwd: home.path,
    });
    assert.match(p12.stdout, /subject=.*CN = demo-client/);
  } finally {
    await home.cleanup();
  }
});

test("no command prints the help and exits 2; --version prints the version", async () => {
  const none = await portcullis([]);
  assert.equal(none.code, 2);
  assert.match(none.stdout, /Commands:\n {2}pki/);
  const version = await portcullis(["--version"]);
  assert.match(version.stdout, /^portcullis \d+\.\d+\.\d+\n$/);
});
