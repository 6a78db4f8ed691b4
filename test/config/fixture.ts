/**
 * A temp directory (the process's working directory while the tests run) with `etc/pki/` holding
 * openssl-made certificates, and helpers that write `etc/portcullis.yaml` and load it by that relative
 * name, as a user would. Relative paths in the config resolve against `etc/`, not the working directory.
 */
import assert from "node:assert/strict";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../src/config/errors.ts";
import { loadEdgeConfig } from "../../src/config/load.ts";
import type { EdgeConfig } from "../../src/config/types.ts";
import { makeCa, makeClientCert, makeServerCert } from "../helpers/openssl-pki.ts";
import { tempDir } from "../helpers/run.ts";

export const CONFIG = "etc/portcullis.yaml";

export interface Fixture {
  /** The temp directory (absolute); also the working directory. */
  root: string;
  /** `root/etc`, where the config lives. */
  etc: string;
  cleanup: () => Promise<void>;
}

/**
 * etc/pki: ca (root) → inter (intermediate) → api (P-256 server, api-chain.pem = api + inter);
 * api-rsa (RSA server, by ca); alice (client, by ca); cas.pem = ca + inter; not-ca.pem = ca + alice;
 * origin-ca (root) → aop (client for origin pull); ca.crl (bytes only: CRLs are not parsed here).
 */
export async function makeFixture(): Promise<Fixture> {
  const dir = await tempDir("portcullis-config-");
  const previous = process.cwd();
  process.chdir(dir.path);
  const etc = join(dir.path, "etc");
  const pki = join(etc, "pki");
  await mkdir(pki, { recursive: true });
  await makeCa(pki, "ca");
  await makeCa(pki, "inter", { issuer: "ca" });
  await makeServerCert(pki, "api", { issuer: "inter" });
  await makeServerCert(pki, "api-rsa", { issuer: "ca", key: "rsa" });
  await makeClientCert(pki, "alice", { issuer: "ca" });
  await makeCa(pki, "origin-ca");
  await makeClientCert(pki, "aop", { issuer: "origin-ca" });
  const text = (name: string) => readFile(join(pki, name), "utf8");
  await writeFile(join(pki, "api-chain.pem"), (await text("api.pem")) + (await text("inter.pem")));
  await writeFile(join(pki, "cas.pem"), (await text("ca.pem")) + (await text("inter.pem")));
  await writeFile(join(pki, "not-ca.pem"), (await text("ca.pem")) + (await text("alice.pem")));
  await writeFile(join(pki, "ca.crl"), "not parsed by the config loader\n");
  return {
    root: dir.path,
    etc,
    cleanup: async () => {
      process.chdir(previous);
      await dir.cleanup();
    },
  };
}

/** Writes the lines (line N of the file is `lines[N - 1]`) as etc/portcullis.yaml and loads it. */
export async function load(lines: readonly string[]): Promise<EdgeConfig> {
  await writeFile(CONFIG, `${lines.join("\n")}\n`);
  return loadEdgeConfig(CONFIG);
}

/** Loading the lines fails with exactly this one-line message (and a ConfigError carrying its parts). */
export async function rejects(lines: readonly string[], message: string): Promise<ConfigError> {
  let caught: unknown;
  try {
    await load(lines);
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConfigError, `expected a ConfigError, got ${String(caught)}`);
  assert.equal(caught.message, message);
  assert.doesNotMatch(caught.message, /\n/);
  return caught;
}

/** A valid host entry (3 lines, from `- hostname`), for configs that test something else. */
export function minimalHost(hostname = "api.example.test"): string[] {
  return [
    `  - hostname: ${hostname}`,
    "    tls: { cert: pki/api-chain.pem, key: pki/api-key.pem }",
    '    origin: { url: "http://127.0.0.1:9000" }',
  ];
}
