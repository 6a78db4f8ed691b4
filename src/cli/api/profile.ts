/**
 * The CLI's profile file: `$XDG_CONFIG_HOME/portcullis/config.json` (else `~/.config/portcullis/config.json`),
 * mode 0600 in a 0700 directory, written atomically. Settings come from the flags, then the environment
 * (PORTCULLIS_API_URL, PORTCULLIS_API_TOKEN, PORTCULLIS_ACCOUNT, PORTCULLIS_PROFILE), then the profile.
 */
import { chmod, mkdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { describeFsError, writeFilesAtomically } from "../../files.ts";
import { ApiClient, DEFAULT_API_URL, normalizeApiUrl } from "./client.ts";
import { CliError, EXIT } from "./errors.ts";
import type { GlobalValues } from "./framework.ts";

export interface Profile {
  api_url?: string;
  token?: string;
  account?: string;
}

export interface ConfigFile {
  current_profile: string;
  profiles: Record<string, Profile>;
}

export const DEFAULT_PROFILE = "default";

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME?.startsWith("/")
    ? env.XDG_CONFIG_HOME
    : join(env.HOME || homedir(), ".config");
  return join(base, "portcullis", "config.json");
}

/** The config file, or an empty one when there is none; a broken file is one clear error naming it. */
export async function readConfig(path = configPath()): Promise<ConfigFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT")
      return { current_profile: DEFAULT_PROFILE, profiles: {} };
    throw new CliError(`${path}: cannot read the profile file: ${describeFsError(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${path}: malformed JSON: ${(err as Error).message}`);
  }
  const doc = parsed as Partial<ConfigFile>;
  if (typeof doc !== "object" || doc === null || typeof doc.profiles !== "object" || doc.profiles === null) {
    throw new CliError(`${path}: expected {"current_profile": "...", "profiles": {...}}`);
  }
  for (const [name, profile] of Object.entries(doc.profiles)) {
    for (const key of ["api_url", "token", "account"] as const) {
      const value = (profile as Profile)?.[key];
      if (value !== undefined && typeof value !== "string") {
        throw new CliError(`${path}: profiles.${name}.${key}: must be a string`);
      }
    }
  }
  return {
    current_profile: typeof doc.current_profile === "string" ? doc.current_profile : DEFAULT_PROFILE,
    profiles: doc.profiles,
  };
}

/** Writes the config file atomically, 0600, creating its directory 0700. */
export async function writeConfig(config: ConfigFile, path = configPath()): Promise<void> {
  try {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CliError(`${dirname(path)}: cannot create the config directory: ${describeFsError(err)}`);
  }
  await writeFilesAtomically([{ path, content: `${JSON.stringify(config, null, 2)}\n`, mode: 0o600 }]);
  await chmod(path, 0o600); // whatever the umask
}

/** The profile name in use: --profile, PORTCULLIS_PROFILE, then the file's current one. */
export function profileName(globals: Pick<GlobalValues, "profile">, config: ConfigFile): string {
  return globals.profile ?? (process.env.PORTCULLIS_PROFILE || undefined) ?? config.current_profile;
}

export interface Settings {
  apiUrl: string;
  token: string | undefined;
  account: string | undefined;
  profile: string;
}

/** Flags, then environment, then the profile, then the defaults. */
export async function resolveSettings(globals: GlobalValues): Promise<Settings> {
  const config = await readConfig();
  const name = profileName(globals, config);
  const profile = config.profiles[name];
  if (!profile && (globals.profile !== undefined || process.env.PORTCULLIS_PROFILE)) {
    throw new CliError(`no profile ${JSON.stringify(name)} in ${configPath()}`, EXIT.usage);
  }
  const env = (key: string) => process.env[key] || undefined; // an empty variable is an unset one
  return {
    apiUrl: normalizeApiUrl(
      globals["api-url"] ?? env("PORTCULLIS_API_URL") ?? profile?.api_url ?? DEFAULT_API_URL,
    ),
    token: globals.token ?? env("PORTCULLIS_API_TOKEN") ?? profile?.token,
    account: globals.account ?? env("PORTCULLIS_ACCOUNT") ?? profile?.account,
    profile: name,
  };
}

export async function makeClient(globals: GlobalValues): Promise<ApiClient> {
  const settings = await resolveSettings(globals);
  if (!settings.token) {
    throw new CliError(
      "no API token: pass --token, set PORTCULLIS_API_TOKEN or run 'portcullis login --api-url URL --token TOKEN'",
      EXIT.usage,
    );
  }
  return new ApiClient(settings.apiUrl, settings.token, settings.account);
}
