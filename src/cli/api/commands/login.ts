/** `portcullis login` and `portcullis profile …`: the profile file (API URL, token, account), 0600. */
import { UsageError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import { ApiClient, DEFAULT_API_URL, normalizeApiUrl } from "../client.ts";
import { CliError, EXIT } from "../errors.ts";
import { command, group } from "../framework.ts";
import { type ConfigFile, configPath, DEFAULT_PROFILE, readConfig, writeConfig } from "../profile.ts";
import { resolveAccount } from "../resolve.ts";

/** `--token -` reads the token from stdin (keeps it out of shell history). */
async function tokenValue(flag: string | undefined): Promise<string | undefined> {
  if (flag !== "-") return flag;
  const token = (await readInput("-", "token")).toString("utf8").trim();
  if (!token) throw new UsageError("--token -: stdin is empty");
  return token;
}

export const loginCommand = command({
  name: "login",
  summary: "Check an API URL and token, then save them as a profile",
  usage: "--api-url URL --token TOKEN|- [--account ID|NAME] [--profile NAME]",
  description:
    "Verifies the token against the API (GET /user/tokens/verify; and the account, if given), then writes\n" +
    `the profile to ${"$XDG_CONFIG_HOME/portcullis/config.json"} (else ~/.config/portcullis/config.json), mode 0600,\n` +
    "and makes it the current profile. --token - reads the token from stdin. The profile is named by\n" +
    `--profile (default "${DEFAULT_PROFILE}").`,
  examples: [
    "portcullis login --api-url http://127.0.0.1:9000 --token pct_…",
    'echo "$TOKEN" | portcullis login --api-url https://api.example.test --token - --profile prod',
  ],
  async run({ flags, out }) {
    const token = (await tokenValue(flags.token)) ?? (process.env.PORTCULLIS_API_TOKEN || undefined);
    if (!token) throw new UsageError("missing required flag --token");
    const apiUrl = normalizeApiUrl(
      flags["api-url"] ?? (process.env.PORTCULLIS_API_URL || undefined) ?? DEFAULT_API_URL,
    );
    const client = new ApiClient(apiUrl, token, flags.account);
    const verified = await client.get<{ id: string; status: string }>("/user/tokens/verify");
    if (flags.account !== undefined) await resolveAccount(client);
    const path = configPath();
    const config = await readConfig(path);
    const name = flags.profile ?? DEFAULT_PROFILE;
    config.profiles[name] = {
      api_url: apiUrl,
      token,
      ...(flags.account !== undefined ? { account: flags.account } : {}),
    };
    config.current_profile = name;
    await writeConfig(config, path);
    const result = { profile: name, api_url: apiUrl, token_id: verified.id, path };
    out.result(result, () =>
      out.say(`Logged in to ${apiUrl} with token ${verified.id}; saved as profile "${name}" in ${path}`),
    );
  },
});

const maskToken = (token: string | undefined) => (token ? `${token.slice(0, 8)}…` : "");

const list = command({
  name: "list",
  summary: "List the saved profiles (tokens masked)",
  async run({ out }) {
    const config = await readConfig();
    const rows = Object.entries(config.profiles).map(([name, profile]) => ({
      name,
      current: name === config.current_profile,
      api_url: profile.api_url ?? DEFAULT_API_URL,
      account: profile.account ?? null,
      token: maskToken(profile.token),
    }));
    out.table(
      rows,
      [
        { header: "current", value: (row) => (row.current ? "*" : " ") },
        { header: "name", value: (row) => row.name },
        { header: "api url", value: (row) => row.api_url },
        { header: "account", value: (row) => row.account },
        { header: "token", value: (row) => row.token },
      ],
      `No profiles in ${configPath()}; run 'portcullis login'.`,
    );
  },
});

const set = command({
  name: "set",
  summary: "Set fields of a profile without checking them (--api-url, --token, --account)",
  usage: "[--profile NAME] [--api-url URL] [--token TOKEN|-] [--account ID|NAME]",
  description:
    "Writes the given --api-url, --token and --account into the profile named by --profile (default: the\n" +
    "current one), creating it if needed. Nothing is checked against the API: use `login` for that.",
  examples: ["portcullis profile set --profile staging --api-url http://10.0.0.5:9000 --account ops"],
  async run({ flags, out }) {
    const token = await tokenValue(flags.token);
    if (flags["api-url"] === undefined && token === undefined && flags.account === undefined) {
      throw new UsageError("nothing to set: give --api-url, --token or --account");
    }
    const path = configPath();
    const config = await readConfig(path);
    const name = flags.profile ?? config.current_profile;
    const profile = { ...config.profiles[name] };
    if (flags["api-url"] !== undefined) profile.api_url = normalizeApiUrl(flags["api-url"]);
    if (token !== undefined) profile.token = token;
    if (flags.account !== undefined) profile.account = flags.account;
    config.profiles[name] = profile;
    if (Object.keys(config.profiles).length === 1) config.current_profile = name;
    await writeConfig(config, path);
    out.result({ profile: name, ...profile, token: maskToken(profile.token) }, () =>
      out.say(`Saved profile "${name}" in ${path}`),
    );
  },
});

/** A command on one saved profile: `change` edits the config, which is then written back. */
function profileCommand(
  name: string,
  summary: string,
  change: (config: ConfigFile, profile: string) => void,
  done: (profile: string) => string,
) {
  return command({
    name,
    summary,
    args: [{ name: "NAME", description: "the profile", required: true }],
    async run({ args, out }) {
      const profile = args.NAME as string;
      const path = configPath();
      const config = await readConfig(path);
      if (!config.profiles[profile]) {
        throw new CliError(`no profile ${JSON.stringify(profile)} in ${path}`, EXIT.notFound);
      }
      change(config, profile);
      await writeConfig(config, path);
      out.result({ profile, current_profile: config.current_profile }, () => out.say(done(profile)));
    },
  });
}

const use = profileCommand(
  "use",
  "Make a profile the current one",
  (config, profile) => {
    config.current_profile = profile;
  },
  (profile) => `Using profile "${profile}"`,
);

const remove = profileCommand(
  "delete",
  "Delete a profile (its token is forgotten, not revoked)",
  (config, profile) => {
    delete config.profiles[profile];
    if (config.current_profile === profile) {
      config.current_profile = Object.keys(config.profiles)[0] ?? DEFAULT_PROFILE;
    }
  },
  (profile) => `Deleted profile "${profile}"`,
);

export const profileGroup = group({
  name: "profile",
  summary: "Saved API URLs, tokens and accounts (the profile file)",
  description:
    "Profiles live in $XDG_CONFIG_HOME/portcullis/config.json (else ~/.config/portcullis/config.json), mode 0600.\n" +
    "A command takes each setting from its flag, then the environment (PORTCULLIS_API_URL, PORTCULLIS_API_TOKEN,\n" +
    "PORTCULLIS_ACCOUNT; PORTCULLIS_PROFILE picks the profile), then the profile.",
  commands: [list, set, use, remove],
});
