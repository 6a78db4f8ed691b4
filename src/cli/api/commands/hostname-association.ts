/**
 * `portcullis hostname-association list | set`: which hostnames of a zone trust a CA (an uploaded CA
 * mtls_certificate, or without --mtls-certificate the zone's managed CA).
 */
import { command, group } from "../framework.ts";
import { resolveMtlsCertificate, zoneFor } from "../resolve.ts";

const flags = {
  zone: { type: "string", placeholder: "ID|NAME", required: true, description: "the zone" },
  "mtls-certificate": {
    type: "string",
    placeholder: "ID|NAME",
    description: "the CA certificate (default: the zone's managed CA)",
  },
} as const;

const list = command({
  name: "list",
  summary: "List the hostnames that trust a CA",
  flags,
  examples: ["portcullis hostname-association list --zone example.test --mtls-certificate partners-ca"],
  async run({ flags, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const ca = flags["mtls-certificate"];
    const certificateId = ca === undefined ? undefined : (await resolveMtlsCertificate(client, ca)).id;
    const result = await client.get<{ hostnames: string[] }>(
      `/zones/${zone.id}/certificate_authorities/hostname_associations`,
      { mtls_certificate_id: certificateId },
    );
    out.result(result, () => {
      const which = ca === undefined ? "the managed CA" : ca;
      if (result.hostnames.length === 0) out.say(`No hostnames of zone ${zone.name} trust ${which}.`);
      else for (const hostname of result.hostnames) out.say(hostname);
    });
  },
});

const set = command({
  name: "set",
  summary: "Replace the hostnames that trust a CA (none given: clear)",
  description:
    "Replaces the whole list of hostnames (of the zone) that verify client certificates against the CA.\n" +
    "Give no hostname to clear it. The edge applies it within a second.",
  flags,
  args: [{ name: "HOSTNAME", description: "hostnames of the zone", variadic: true }],
  examples: [
    "portcullis hostname-association set --zone example.test --mtls-certificate partners-ca api.example.test",
    "portcullis hostname-association set --zone example.test app.example.test   # the managed CA",
  ],
  async run({ flags, rest, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const ca = flags["mtls-certificate"];
    const certificateId = ca === undefined ? undefined : (await resolveMtlsCertificate(client, ca)).id;
    const result = await client.put<{ hostnames: string[] }>(
      `/zones/${zone.id}/certificate_authorities/hostname_associations`,
      { hostnames: rest, ...(certificateId ? { mtls_certificate_id: certificateId } : {}) },
    );
    out.result(result, () => {
      const which = ca === undefined ? "the managed CA" : ca;
      out.say(
        result.hostnames.length === 0
          ? `No hostname of zone ${zone.name} trusts ${which} now.`
          : `Trusting ${which} on: ${result.hostnames.join(", ")}`,
      );
    });
  },
});

export const hostnameAssociationGroup = group({
  name: "hostname-association",
  summary: "Which hostnames verify client certificates against which CA",
  commands: [list, set],
});
