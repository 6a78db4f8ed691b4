/** The CLI's profile file and where each setting comes from: flag, then environment, then profile. */
import assert from "node:assert/strict";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CliError, EXIT } from "../../src/cli/api/errors.ts";
import type { GlobalValues } from "../../src/cli/api/framework.ts";
import { configPath, readConfig, resolveSettings, writeConfig } from "../../src/cli/api/profile.ts";
import { tempDir } from "../helpers/run.ts";

const KEYS = [
  "XDG_CONFIG_HOME",
  "PORTCULLIS_API_URL",
  "PORTCULLIS_API_TOKEN",
  "PORTCULLIS_ACCOUNT",
  "PORTCULLIS_PROFILE",
];
const saved = Object.fromEntries(KEYS.map((key) => [key, process.env[key]]));
let dir = "";
let cleanup = async () => {};

const globals = (values: Partial<GlobalValues> = {}): GlobalValues => ({
  "api-url": undefined,
  token: undefined,
  account: undefined,
  profile: undefined,
  json: false,
  help: false,
  ...values,
});

before(async () => {
  ({ path: dir, cleanup } = await tempDir("portcullis-profile-"));
  for (const key of KEYS) delete process.env[key];
  process.env.XDG_CONFIG_HOME = dir;
});

after(async () => {
  for (const key of KEYS) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
  await cleanup();
});

test("the profile file lives under XDG_CONFIG_HOME, 0600 in a 0700 directory", async () => {
  assert.equal(configPath(), join(dir, "portcullis", "config.json"));
  assert.deepEqual(await readConfig(), { current_profile: "default", profiles: {} }, "no file: empty");
  await writeConfig({
    current_profile: "prod",
    profiles: {
      prod: { api_url: "https://api.prod.test", token: "pct_prod", account: "ops" },
      dev: { api_url: "http://127.0.0.1:9000", token: "pct_dev" },
    },
  });
  assert.equal((await stat(configPath())).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, "portcullis"))).mode & 0o777, 0o700);
  assert.equal(configPath({ HOME: "/home/u" }), "/home/u/.config/portcullis/config.json");
});

test("flags beat the environment, which beats the profile", async () => {
  assert.deepEqual(await resolveSettings(globals()), {
    apiUrl: "https://api.prod.test",
    token: "pct_prod",
    account: "ops",
    profile: "prod",
  });
  process.env.PORTCULLIS_API_TOKEN = "pct_env";
  process.env.PORTCULLIS_ACCOUNT = "";
  const fromEnv = await resolveSettings(globals());
  assert.equal(fromEnv.token, "pct_env");
  assert.equal(fromEnv.account, "ops", "an empty variable is unset");
  const fromFlags = await resolveSettings(globals({ token: "pct_flag", "api-url": "http://h:1/client/v4" }));
  assert.equal(fromFlags.token, "pct_flag");
  assert.equal(fromFlags.apiUrl, "http://h:1");
  delete process.env.PORTCULLIS_API_TOKEN;
  process.env.PORTCULLIS_PROFILE = "dev";
  assert.equal((await resolveSettings(globals())).token, "pct_dev");
  assert.equal((await resolveSettings(globals({ profile: "prod" }))).token, "pct_prod");
  delete process.env.PORTCULLIS_PROFILE;
  await assert.rejects(
    resolveSettings(globals({ profile: "nope" })),
    (err: CliError) => err.exitCode === EXIT.usage && /no profile "nope"/.test(err.message),
  );
});

test("a broken profile file is one error naming it", async () => {
  const other = join(dir, "broken");
  await mkdir(join(other, "portcullis"), { recursive: true });
  process.env.XDG_CONFIG_HOME = other;
  try {
    await writeFile(join(other, "portcullis", "config.json"), "{not json");
    await assert.rejects(readConfig(), /config\.json: malformed JSON/);
    await writeFile(join(other, "portcullis", "config.json"), '{"profiles": {"a": {"token": 5}}}');
    await assert.rejects(readConfig(), /config\.json: profiles\.a\.token: must be a string/);
    await writeFile(join(other, "portcullis", "config.json"), "[]");
    await assert.rejects(readConfig(), (err: Error) => err instanceof CliError);
  } finally {
    process.env.XDG_CONFIG_HOME = dir;
  }
});
