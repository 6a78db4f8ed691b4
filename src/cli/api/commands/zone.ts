/** `portcullis zone list | create | delete`. */
import { command, group } from "../framework.ts";
import { resolveAccount, resolveZone, type Zone } from "../resolve.ts";

const list = command({
  name: "list",
  summary: "List zones",
  flags: { name: { type: "string", placeholder: "NAME", description: "only the zone with this name" } },
  async run({ flags, out, api }) {
    const zones = await (await api()).list<Zone>("/zones", { name: flags.name?.toLowerCase() });
    out.table(
      zones,
      [
        { header: "id", value: (z) => z.id },
        { header: "name", value: (z) => z.name },
        { header: "account", value: (z) => z.account.name },
        { header: "created", value: (z) => z.created_on },
      ],
      "No zones.",
    );
  },
});

const create = command({
  name: "create",
  summary: "Create a zone in the account",
  args: [{ name: "NAME", description: "a domain name like example.test", required: true }],
  examples: ["portcullis zone create example.test"],
  async run({ args, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const zone = await client.post<Zone>("/zones", { name: args.NAME, account: { id: account.id } });
    out.result(zone, () => out.say(`Created zone ${zone.name} (${zone.id})`));
  },
});

const remove = command({
  name: "delete",
  summary: "Delete a zone (refused while it has hostnames)",
  args: [{ name: "ZONE", description: "the zone's id or name", required: true }],
  flags: { yes: { type: "boolean", short: "y", description: "do not ask for confirmation" } },
  async run({ args, flags, out, api }) {
    const client = await api();
    const zone = await resolveZone(client, args.ZONE as string);
    if (!(await out.confirm(`Are you sure you want to delete zone ${zone.name} (${zone.id})?`, flags.yes))) {
      out.say("Not deleting");
      return;
    }
    const result = await client.delete(`/zones/${zone.id}`);
    out.result(result, () => out.say(`Deleted zone ${zone.name} (${zone.id})`));
  },
});

export const zoneGroup = group({
  name: "zone",
  summary: "Zones: the domains hostnames, client certificates and rules belong to",
  commands: [list, create, remove],
});
