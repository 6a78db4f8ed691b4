/**
 * `portcullis origin-pull …`: Authenticated Origin Pulls, the client certificate the edge presents to
 * origins. Zone certificates apply once enabled; a hostname's own certificate beats the zone's.
 */
import { UsageError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import { ApiFailure } from "../client.ts";
import { command, group } from "../framework.ts";
import { zoneFor } from "../resolve.ts";

interface OriginPullCertificate {
  id: string;
  certificate: string;
  expires_on: string;
  issuer: string;
  serial_number?: string;
  status: string;
  uploaded_on: string;
}

interface Association {
  hostname: string;
  cert_id: string;
  enabled: boolean | null;
  expires_on: string;
  issuer: string;
}

const zoneFlag = { type: "string", placeholder: "ID|NAME", required: true, description: "the zone" } as const;
const yesFlag = { type: "boolean", short: "y", description: "do not ask for confirmation" } as const;

const base = (zoneId: string) => `/zones/${zoneId}/origin_tls_client_auth`;

const list = command({
  name: "list",
  summary: "Show whether zone certificates are enabled, and list zone and hostname certificates",
  flags: { zone: zoneFlag },
  async run({ flags, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const settings = await client.get<{ enabled: boolean }>(`${base(zone.id)}/settings`);
    const zoneCerts = await client.get<OriginPullCertificate[]>(base(zone.id));
    const hostCerts = await client.get<OriginPullCertificate[]>(`${base(zone.id)}/hostnames/certificates`);
    const rows = [
      ...zoneCerts.map((c) => ({ kind: "zone", ...c })),
      ...hostCerts.map((c) => ({ kind: "hostname", ...c })),
    ];
    out.result(
      { enabled: settings.enabled, zone_certificates: zoneCerts, hostname_certificates: hostCerts },
      () => {
        out.say(`Zone certificates presented to origins: ${settings.enabled ? "enabled" : "disabled"}`);
        out.table(
          rows,
          [
            { header: "id", value: (c) => c.id },
            { header: "kind", value: (c) => c.kind },
            { header: "issuer", value: (c) => c.issuer },
            { header: "expires", value: (c) => c.expires_on },
          ],
          "No origin pull certificates.",
        );
      },
    );
  },
});

const upload = command({
  name: "upload",
  summary: "Upload a client certificate for origins (zone-wide, or for one --hostname)",
  description:
    "Uploads a certificate (PEM, leaf first) and its key. Without --hostname it is a zone certificate, used\n" +
    "for every host of the zone once `origin-pull enable`; with --hostname it is uploaded as a hostname\n" +
    "certificate and bound to that hostname (enabled), replacing the hostname's previous one.",
  flags: {
    zone: zoneFlag,
    cert: { type: "string", placeholder: "FILE", required: true, description: "certificate chain (PEM)" },
    key: { type: "string", placeholder: "FILE", required: true, description: "its private key (PEM)" },
    hostname: { type: "string", placeholder: "HOST", description: "bind it to this hostname only" },
  },
  examples: [
    "portcullis origin-pull upload --zone example.test --cert edge.pem --key edge-key.pem --hostname api.example.test",
  ],
  async run({ flags, out, api }) {
    const certificate = (await readInput(flags.cert, "certificate")).toString("utf8");
    const privateKey = (await readInput(flags.key, "private key")).toString("utf8");
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const body = { certificate, private_key: privateKey };
    if (!flags.hostname) {
      const result = await client.post<OriginPullCertificate>(base(zone.id), body);
      out.result(result, () =>
        out.say(`Uploaded zone origin pull certificate ${result.id} (zone ${zone.name})`),
      );
      return;
    }
    const uploaded = await client.post<OriginPullCertificate>(
      `${base(zone.id)}/hostnames/certificates`,
      body,
    );
    const bound = await client.put<Association[]>(`${base(zone.id)}/hostnames`, {
      config: [{ hostname: flags.hostname, cert_id: uploaded.id, enabled: true }],
    });
    out.result({ certificate: uploaded, associations: bound }, () =>
      out.say(`Uploaded origin pull certificate ${uploaded.id} for ${flags.hostname}`),
    );
  },
});

const remove = command({
  name: "delete",
  summary: "Delete an origin pull certificate (a bound hostname certificate: unbind it first)",
  flags: { zone: zoneFlag, yes: yesFlag },
  args: [{ name: "ID", description: "the certificate's id", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const id = encodeURIComponent(args.ID as string);
    let path = `${base(zone.id)}/${id}`;
    try {
      await client.get(path);
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 404)) throw err;
      path = `${base(zone.id)}/hostnames/certificates/${id}`;
      await client.get(path);
    }
    if (
      !(await out.confirm(`Are you sure you want to delete origin pull certificate ${args.ID}?`, flags.yes))
    ) {
      out.say("Not deleting");
      return;
    }
    const result = await client.delete(path);
    out.result(result, () => out.say(`Deleted origin pull certificate ${args.ID}`));
  },
});

function setting(enabled: boolean) {
  return command({
    name: enabled ? "enable" : "disable",
    summary: enabled ? "Present the zone certificate to origins" : "Stop presenting the zone certificate",
    flags: { zone: zoneFlag },
    async run({ flags, out, api }) {
      const client = await api();
      const zone = await zoneFor(client, flags.zone);
      const result = await client.put<{ enabled: boolean }>(`${base(zone.id)}/settings`, { enabled });
      out.result(result, () =>
        out.say(
          `Zone origin pull certificates ${result.enabled ? "enabled" : "disabled"} (zone ${zone.name})`,
        ),
      );
    },
  });
}

const bind = command({
  name: "bind",
  summary: "Bind an uploaded hostname certificate to a hostname",
  flags: {
    zone: zoneFlag,
    "cert-id": { type: "string", placeholder: "ID", required: true, description: "the hostname certificate" },
    enabled: { type: "string", choices: ["true", "false"], defaultText: "true", description: "present it" },
  },
  args: [{ name: "HOSTNAME", description: "a hostname of the zone", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const enabled = (flags.enabled ?? "true") === "true";
    const result = await client.put<Association[]>(`${base(zone.id)}/hostnames`, {
      config: [{ hostname: args.HOSTNAME, cert_id: flags["cert-id"], enabled }],
    });
    out.result(result, () =>
      out.say(
        `${args.HOSTNAME}: origin pull certificate ${flags["cert-id"]} ${enabled ? "enabled" : "bound, disabled"}`,
      ),
    );
  },
});

const unbind = command({
  name: "unbind",
  summary: "Remove a hostname's origin pull certificate binding",
  flags: { zone: zoneFlag },
  args: [{ name: "HOSTNAME", description: "a hostname of the zone", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const hostname = args.HOSTNAME as string;
    const current = await client.get<Association>(
      `${base(zone.id)}/hostnames/${encodeURIComponent(hostname)}`,
    );
    if (!current.cert_id) throw new UsageError(`${hostname} has no origin pull certificate`);
    const result = await client.put<Association[]>(`${base(zone.id)}/hostnames`, {
      config: [{ hostname, cert_id: current.cert_id, enabled: null }],
    });
    out.result(result, () => out.say(`${hostname}: origin pull certificate ${current.cert_id} unbound`));
  },
});

export const originPullGroup = group({
  name: "origin-pull",
  summary: "Authenticated Origin Pulls: the client certificate the edge presents to origins",
  commands: [list, upload, remove, setting(true), setting(false), bind, unbind],
});
