/**
 * `portcullis hostname list | get | create | update | delete`: the native hostname resource (mTLS mode,
 * per-path modes, origin, server certificate, CRLs, OCSP, forwarded identity headers).
 */

import type { hostnameJson } from "../../../control/present.ts";
import { UsageError } from "../../errors.ts";
import type { ApiClient } from "../client.ts";
import { notFoundError } from "../errors.ts";
import { command, type FlagSpecs, group } from "../framework.ts";
import { formatFields } from "../output.ts";
import { isId, resolveMtlsCertificate, type Zone, zoneFor } from "../resolve.ts";

const MODES = ["enforce", "permissive", "off"] as const;

/** What the API returns for a hostname (the server's own presenter's type). */
export type HostnameJson = ReturnType<typeof hostnameJson>;

/** A host's writable fields as the CLI fills them from flags (the API checks the values). */
interface HostnameBody {
  hostname: string;
  default?: boolean;
  server_certificate_id?: string | null;
  mtls: {
    mode?: string;
    paths?: { prefix: string; mode: string }[];
    stale_crl?: string;
    max_chain_depth?: number;
    crls?: string[];
    ocsp: { enabled?: boolean; timeout_ms?: number };
  };
  origin: { url: string; ca_certificate_id?: string | null; servername?: string | null };
  forward?: (string | { header: string; variable: string })[];
}

const zoneFlag = {
  type: "string",
  placeholder: "ID|NAME",
  description: "the zone (default: the zone whose name ends the hostname)",
} as const;

/** The settings create and update share; update leaves out what is not given. */
const settingFlags = {
  zone: zoneFlag,
  origin: {
    type: "string",
    placeholder: "URL",
    description: "origin URL the edge forwards to (http or https)",
  },
  mode: { type: "string", choices: MODES, description: "client certificate mode for the whole host" },
  path: {
    type: "string",
    multiple: true,
    placeholder: "PREFIX=MODE",
    description: "a path prefix with its own mode, e.g. /admin=enforce (replaces the list)",
  },
  "server-cert": {
    type: "string",
    placeholder: "ID|NAME",
    description: "mtls_certificate (leaf with key) the edge presents for this host; `none` clears",
  },
  "origin-ca": {
    type: "string",
    placeholder: "ID|NAME",
    description: "CA mtls_certificate that verifies an https origin; `none` clears",
  },
  "origin-servername": {
    type: "string",
    placeholder: "NAME",
    description: "TLS server name sent to the origin; `none` clears",
  },
  forward: {
    type: "string",
    multiple: true,
    placeholder: "FORMAT|HEADER=VARIABLE",
    description:
      "identity headers for the origin: cloudflare, access, rfc9440, xfcc, traefik, nginx, or a header set from an nginx variable, e.g. X-Client-DN=ssl_client_s_dn (replaces the list)",
  },
  crl: {
    type: "string",
    multiple: true,
    placeholder: "URL|PATH",
    description:
      "CRL (http(s) URL or absolute file path) checked for client certificates (replaces the list)",
  },
  "stale-crl": { type: "string", choices: ["deny", "allow"], description: "what an expired CRL means" },
  ocsp: { type: "string", choices: ["on", "off"], description: "check client certificates with OCSP" },
  "max-chain-depth": { type: "integer", placeholder: "N", description: "longest client chain accepted" },
  default: {
    type: "string",
    choices: ["true", "false"],
    description: "serve this host to clients that send no (or an unknown) SNI",
  },
} as const satisfies FlagSpecs;

type Settings = {
  [K in keyof typeof settingFlags]: (typeof settingFlags)[K] extends { multiple: true }
    ? string[]
    : (typeof settingFlags)[K] extends { type: "integer" }
      ? number | undefined
      : string | undefined;
};

function pathRule(value: string, index: number): { prefix: string; mode: string } {
  const at = value.lastIndexOf("=");
  const mode = value.slice(at + 1);
  if (at <= 0 || !(MODES as readonly string[]).includes(mode)) {
    throw new UsageError(
      `--path #${index + 1}: expected PREFIX=enforce|permissive|off, got ${JSON.stringify(value)}`,
    );
  }
  return { prefix: value.slice(0, at), mode };
}

function forwardSpec(value: string): string | { header: string; variable: string } {
  const at = value.indexOf("=");
  if (at < 0) return value;
  return { header: value.slice(0, at), variable: value.slice(at + 1) };
}

async function certificateId(
  client: ApiClient,
  spec: string | undefined,
): Promise<string | null | undefined> {
  if (spec === undefined) return undefined;
  if (spec === "none") return null;
  return (await resolveMtlsCertificate(client, spec)).id;
}

/** Applies the given settings to a body (a new host's, or an existing host's for PUT). */
async function applySettings(client: ApiClient, body: HostnameBody, flags: Settings): Promise<void> {
  if (flags.origin !== undefined) body.origin.url = flags.origin;
  if (flags.mode !== undefined) body.mtls.mode = flags.mode;
  if (flags.path.length > 0) body.mtls.paths = flags.path.map(pathRule);
  if (flags.forward.length > 0) body.forward = flags.forward.map(forwardSpec);
  if (flags.crl.length > 0) body.mtls.crls = flags.crl;
  if (flags["stale-crl"] !== undefined) body.mtls.stale_crl = flags["stale-crl"];
  if (flags.ocsp !== undefined) body.mtls.ocsp.enabled = flags.ocsp === "on";
  if (flags["max-chain-depth"] !== undefined) body.mtls.max_chain_depth = flags["max-chain-depth"];
  if (flags.default !== undefined) body.default = flags.default === "true";
  const server = await certificateId(client, flags["server-cert"]);
  if (server !== undefined) body.server_certificate_id = server;
  const originCa = await certificateId(client, flags["origin-ca"]);
  if (originCa !== undefined) body.origin.ca_certificate_id = originCa;
  const servername = flags["origin-servername"];
  if (servername !== undefined) body.origin.servername = servername === "none" ? null : servername;
}

/** The PUT/POST body of a host: everything but the ids and times. */
function writable(host: HostnameBody & Partial<HostnameJson>) {
  const { id: _id, zone_id: _zone, created_on: _created, modified_on: _modified, ...body } = host;
  return body;
}

/** A host of the zone by name or id. */
export async function findHostname(client: ApiClient, zone: Zone, spec: string): Promise<HostnameJson> {
  if (isId(spec)) return client.get<HostnameJson>(`/zones/${zone.id}/hostnames/${spec}`);
  const name = spec.toLowerCase();
  const found = (await client.list<HostnameJson>(`/zones/${zone.id}/hostnames`)).find(
    (h) => h.hostname === name,
  );
  if (!found) throw notFoundError(`no hostname ${name} in zone ${zone.name}`);
  return found;
}

/** The client, the zone and the host a command's HOSTNAME argument (and --zone) name. */
async function target(api: () => Promise<ApiClient>, spec: string, zoneSpec: string | undefined) {
  const client = await api();
  const zone = await zoneFor(client, zoneSpec, spec);
  return { client, zone, host: await findHostname(client, zone, spec) };
}

function showHost(host: HostnameJson): string {
  const forward = host.forward.map((f) => (typeof f === "string" ? f : `${f.header}=${f.variable}`));
  return formatFields([
    ["ID", host.id],
    ["Hostname", host.hostname],
    ["Default", host.default],
    ["mTLS mode", host.mtls.mode],
    ["Paths", host.mtls.paths.map((p) => `${p.prefix}=${p.mode}`).join(", ")],
    ["CRLs", host.mtls.crls.join(", ")],
    ["Stale CRL", host.mtls.stale_crl],
    ["OCSP", host.mtls.ocsp.enabled ? "on" : "off"],
    ["Max chain depth", host.mtls.max_chain_depth],
    ["Server certificate", host.server_certificate_id],
    ["Origin", host.origin.url],
    ["Origin CA", host.origin.ca_certificate_id],
    ["Origin servername", host.origin.servername],
    ["Forward", forward.join(", ")],
    ["Modified on", host.modified_on],
  ]);
}

const list = command({
  name: "list",
  summary: "List the hostnames of a zone, or of every zone the token sees",
  flags: { zone: { ...zoneFlag, description: "only this zone (default: every zone)" } },
  async run({ flags, out, api }) {
    const client = await api();
    const zones = flags.zone ? [await zoneFor(client, flags.zone)] : await client.list<Zone>("/zones");
    const hosts: HostnameJson[] = [];
    for (const zone of zones) hosts.push(...(await client.list<HostnameJson>(`/zones/${zone.id}/hostnames`)));
    const zoneName = new Map(zones.map((zone) => [zone.id, zone.name]));
    out.table(
      hosts,
      [
        { header: "id", value: (h) => h.id },
        { header: "hostname", value: (h) => h.hostname },
        { header: "zone", value: (h) => zoneName.get(h.zone_id) },
        { header: "mode", value: (h) => h.mtls.mode },
        { header: "paths", value: (h) => h.mtls.paths.map((p) => `${p.prefix}=${p.mode}`).join(",") },
        { header: "origin", value: (h) => h.origin.url },
        { header: "default", value: (h) => (h.default ? "yes" : "no") },
      ],
      flags.zone ? `No hostnames in zone ${zones[0]?.name}.` : "No hostnames.",
    );
  },
});

const get = command({
  name: "get",
  summary: "Show one hostname",
  args: [{ name: "HOSTNAME", description: "the hostname or its id", required: true }],
  flags: { zone: zoneFlag },
  async run({ args, flags, out, api }) {
    const { host } = await target(api, args.HOSTNAME as string, flags.zone);
    out.result(host, () => process.stdout.write(showHost(host)));
  },
});

const create = command({
  name: "create",
  summary: "Create a hostname: its mTLS mode, origin and certificates",
  description:
    "Creates a host the edge serves. --mode enforce requires a valid client certificate (403 otherwise),\n" +
    "permissive asks for one and forwards its verification status, off does not ask; --path sets a mode per\n" +
    "path prefix (longest prefix wins). Which CAs a host trusts is set with `hostname-association set`.",
  args: [{ name: "HOSTNAME", description: "exact name, or *.zone wildcard", required: true }],
  flags: {
    ...settingFlags,
    origin: { ...settingFlags.origin, required: true },
    mode: { ...settingFlags.mode, defaultText: "off" },
  },
  examples: [
    "portcullis hostname create api.example.test --origin http://10.0.0.7:8080 --mode enforce",
    "portcullis hostname create app.example.test --origin https://app.internal --mode permissive \\\n  --path /admin=enforce --forward cloudflare --forward X-Client-Serial=ssl_client_serial",
  ],
  async run({ args, flags, out, api }) {
    const client = await api();
    const name = args.HOSTNAME as string;
    const zone = await zoneFor(client, flags.zone, name);
    // The API fills in every default; applySettings adds what the flags say.
    const body = {
      hostname: name,
      mtls: { ocsp: {} },
      origin: { url: flags.origin },
    } as unknown as HostnameJson;
    await applySettings(client, body, flags as unknown as Settings);
    const host = await client.post<HostnameJson>(`/zones/${zone.id}/hostnames`, body);
    out.result(host, () =>
      out.say(`Created hostname ${host.hostname} (${host.id}) in zone ${zone.name}: mTLS ${host.mtls.mode}`),
    );
  },
});

const update = command({
  name: "update",
  summary: "Change a hostname's settings (the ones given; the rest stay)",
  args: [{ name: "HOSTNAME", description: "the hostname or its id", required: true }],
  flags: {
    ...settingFlags,
    "clear-paths": { type: "boolean", description: "remove every per-path mode" },
    "clear-forward": { type: "boolean", description: "forward no identity headers" },
    "clear-crls": { type: "boolean", description: "check no CRLs" },
  },
  examples: [
    "portcullis hostname update api.example.test --mode enforce",
    "portcullis hostname update app.example.test --path /admin=enforce --path /api=permissive",
  ],
  async run({ args, flags, out, api }) {
    const { client, zone, host: current } = await target(api, args.HOSTNAME as string, flags.zone);
    const body: HostnameBody & HostnameJson = structuredClone(current);
    if (flags["clear-paths"]) body.mtls.paths = [];
    if (flags["clear-forward"]) body.forward = [];
    if (flags["clear-crls"]) body.mtls.crls = [];
    await applySettings(client, body, flags as unknown as Settings);
    const host = await client.put<HostnameJson>(`/zones/${zone.id}/hostnames/${current.id}`, writable(body));
    out.result(host, () => out.say(`Updated hostname ${host.hostname} (${host.id}): mTLS ${host.mtls.mode}`));
  },
});

const remove = command({
  name: "delete",
  summary: "Delete a hostname (the edge stops serving it within a second)",
  args: [{ name: "HOSTNAME", description: "the hostname or its id", required: true }],
  flags: { zone: zoneFlag, yes: { type: "boolean", short: "y", description: "do not ask for confirmation" } },
  async run({ args, flags, out, api }) {
    const { client, zone, host } = await target(api, args.HOSTNAME as string, flags.zone);
    if (
      !(await out.confirm(
        `Are you sure you want to delete hostname ${host.hostname} (${host.id})?`,
        flags.yes,
      ))
    ) {
      out.say("Not deleting");
      return;
    }
    const result = await client.delete(`/zones/${zone.id}/hostnames/${host.id}`);
    out.result(result, () => out.say(`Deleted hostname ${host.hostname} (${host.id})`));
  },
});

export const hostnameGroup = group({
  name: "hostname",
  summary: "Hostnames the edge serves: mTLS mode, per-path modes, origin, certificates, forwarding",
  commands: [list, get, create, update, remove],
});
