/** `/zones`: create in an account, list (filtered to what the token can read), get, delete when empty. */
import type { FastifyInstance } from "fastify";
import { isDnsName } from "../../config/values.ts";
import { newId, timestamp } from "../../store/ids.ts";
import type { Id, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAccount, requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { conflict, inUse, invalid } from "../errors.ts";
import { zoneJson } from "../present.ts";
import { body, id, pageProperties, params, query } from "../schemas.ts";
import { permits } from "../tokens.ts";

export async function zoneRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const present = async (zone: Zone) => zoneJson(zone, await store.getAccount(zone.accountId));

  app.post<{ Body: { name: string; account: { id: Id } } }>(
    "/zones",
    {
      schema: {
        tags: ["zones"],
        body: body(
          {
            name: { type: "string", minLength: 1, maxLength: 253 },
            account: body({ id }, ["id"]),
          },
          ["name", "account"],
        ),
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.body.account.id);
      const name = request.body.name.toLowerCase().replace(/\.$/, "");
      if (!isDnsName(name) || !name.includes(".")) {
        throw invalid(
          "body.name",
          `${JSON.stringify(request.body.name)} is not a domain name like example.test`,
        );
      }
      const zone: Zone = { id: newId(), accountId: account.id, name, createdAt: timestamp() };
      await audited(store, tokenIdOf(request), async (tx) => {
        if ((await tx.listZones({ name })).length > 0) throw conflict(`zone ${name} already exists`);
        await tx.insertZone(zone);
        return {
          result: undefined,
          action: "zone.create",
          resource: `zones/${zone.id}`,
          before: null,
          after: zone,
        };
      });
      return ok(zoneJson(zone, account));
    },
  );

  app.get<{ Querystring: PageQuery & { name?: string; "account.id"?: Id } }>(
    "/zones",
    {
      schema: {
        tags: ["zones"],
        querystring: query({ ...pageProperties, name: { type: "string", maxLength: 253 }, "account.id": id }),
      },
    },
    async (request) => {
      const token = request.token;
      const { name, "account.id": accountId } = request.query;
      const zones = await store.listZones({
        ...(name !== undefined ? { name: name.toLowerCase() } : {}),
        ...(accountId !== undefined ? { accountId } : {}),
      });
      const visible = zones.filter(
        (zone) =>
          token && permits(token, { kind: "zone", zoneId: zone.id, accountId: zone.accountId }, "read"),
      );
      return paginate(await Promise.all(visible.map(present)), request.query);
    },
  );

  app.get<{ Params: { zone_id: Id } }>(
    "/zones/:zone_id",
    { schema: { tags: ["zones"], params: params("zone_id") } },
    async (request) => ok(await present(await requireZone(request, store, request.params.zone_id))),
  );

  app.delete<{ Params: { zone_id: Id } }>(
    "/zones/:zone_id",
    { schema: { tags: ["zones"], params: params("zone_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      await audited(store, tokenIdOf(request), async (tx) => {
        const hostnames = await tx.listHostnames({ zoneId: zone.id });
        if (hostnames.length > 0) {
          const names = hostnames.map((host) => host.hostname).join(", ");
          throw inUse(`zone ${zone.name} still has hostnames: ${names}; delete them first`);
        }
        await tx.deleteZone(zone.id);
        return {
          result: undefined,
          action: "zone.delete",
          resource: `zones/${zone.id}`,
          before: zone,
          after: null,
        };
      });
      return ok({ id: zone.id });
    },
  );
}
