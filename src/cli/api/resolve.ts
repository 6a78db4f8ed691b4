/**
 * Names to ids: `--account`, `--zone` and certificates may be given by id (32 hex digits) or by name.
 * A name matching nothing is exit 3; one matching several asks for the id.
 */
import type { accountJson, mtlsCertificateJson, zoneJson } from "../../control/present.ts";
import type { ApiClient } from "./client.ts";
import { CliError, EXIT, notFoundError } from "./errors.ts";

// The API's JSON, typed by the server's own presenters (type-only imports: nothing of the server loads).
export type Account = ReturnType<typeof accountJson>;
export type Zone = ReturnType<typeof zoneJson>;
export type MtlsCertificate = ReturnType<typeof mtlsCertificateJson>;

export const isId = (value: string): boolean => /^[0-9a-f]{32}$/.test(value);

const accounts = new WeakMap<ApiClient, Promise<Account>>();

/** The account: --account (id or name), else the only one the token can see. */
export function resolveAccount(client: ApiClient): Promise<Account> {
  let found = accounts.get(client);
  if (!found) {
    found = findAccount(client);
    accounts.set(client, found);
  }
  return found;
}

async function findAccount(client: ApiClient): Promise<Account> {
  const spec = client.account;
  if (spec && isId(spec)) return client.get<Account>(`/accounts/${spec}`);
  const all = await client.list<Account>("/accounts");
  if (spec) {
    return one(
      all.filter((account) => account.name === spec),
      `account named ${JSON.stringify(spec)}`,
    );
  }
  if (all.length === 1 && all[0]) return all[0];
  if (all.length === 0) {
    throw new CliError("the token can see no account: create one with 'portcullis account create NAME'");
  }
  throw new CliError(
    `the token can see ${all.length} accounts (${all.map((a) => a.name).join(", ")}): pass --account ID|NAME or set it with 'portcullis profile set --account'`,
    EXIT.usage,
  );
}

/** Exactly one match, or exit 3 (none) / exit 1 (several, with their ids). */
export function one<T extends { id: string }>(matches: readonly T[], what: string): T {
  const [first, ...others] = matches;
  if (!first) throw notFoundError(`no ${what}`);
  if (others.length > 0) {
    throw new CliError(
      `several ${what.replace(/^\w+/, (w) => `${w}s`)}: ${matches.map((m) => m.id).join(", ")}; give the id`,
    );
  }
  return first;
}

/** A zone by id or name. */
export async function resolveZone(client: ApiClient, spec: string): Promise<Zone> {
  if (isId(spec)) return client.get<Zone>(`/zones/${spec}`);
  const name = spec.toLowerCase().replace(/\.$/, "");
  return one(await client.list<Zone>("/zones", { name }), `zone named ${JSON.stringify(name)}`);
}

/** The zone given with --zone, else the zone whose name is the longest suffix of `hostname`. */
export async function zoneFor(client: ApiClient, spec: string | undefined, hostname?: string): Promise<Zone> {
  if (spec) return resolveZone(client, spec);
  if (!hostname || isId(hostname)) throw new CliError("which zone? pass --zone ID|NAME", EXIT.usage);
  const bare = hostname.toLowerCase().replace(/^\*\./, "");
  const zones = (await client.list<Zone>("/zones"))
    .filter((zone) => bare === zone.name || bare.endsWith(`.${zone.name}`))
    .sort((a, b) => b.name.length - a.name.length);
  if (!zones[0]) throw notFoundError(`no zone contains ${hostname}; pass --zone ID|NAME`);
  return zones[0];
}

/** An account mTLS certificate by id or name. */
export async function resolveMtlsCertificate(client: ApiClient, spec: string): Promise<MtlsCertificate> {
  const account = await resolveAccount(client);
  const base = `/accounts/${account.id}/mtls_certificates`;
  if (isId(spec)) return client.get<MtlsCertificate>(`${base}/${spec}`);
  return one(
    await client.list<MtlsCertificate>(base, { name: spec }),
    `mtls_certificate named ${JSON.stringify(spec)}`,
  );
}
