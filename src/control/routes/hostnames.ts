/** `/zones/{zone_id}/hostnames`: the native hostname resource (everything the edge config says of a host). */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { newId, timestamp } from "../../store/ids.ts";
import type { Hostname, Id, StoreReader, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { notFound } from "../errors.ts";
import {
  checkHostnameReferences,
  type HostnameBody,
  hostnameBodySchema,
  hostnameFromBody,
} from "../hostname-body.ts";
import { hostnameJson } from "../present.ts";
import { pageProperties, params, query } from "../schemas.ts";

type One = { Params: { zone_id: Id; hostname_id: Id } };

export async function hostnameRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const base = "/zones/:zone_id/hostnames";
  const tags = ["hostnames"];

  const load = async (reader: StoreReader, zone: Zone, id: Id) => {
    const host = await reader.getHostname(id);
    if (!host || host.zoneId !== zone.id) throw notFound(`hostname ${id} not found`);
    return host;
  };

  /** Create (no existing record) or replace (PUT) a hostname from a validated body. */
  const save = async (request: FastifyRequest, zone: Zone, input: HostnameBody, existingId?: Id) => {
    const now = timestamp();
    return audited(store, tokenIdOf(request), async (tx) => {
      const before = existingId ? await load(tx, zone, existingId) : undefined;
      const record: Hostname = hostnameFromBody(input, zone, {
        id: before?.id ?? newId(),
        createdAt: before?.createdAt ?? now,
        updatedAt: now,
      });
      await checkHostnameReferences(tx, record, zone);
      await tx.putHostname(record);
      return {
        result: ok(hostnameJson(record)),
        action: before ? "hostname.update" : "hostname.create",
        resource: `zones/${zone.id}/hostnames/${record.id}`,
        before: before ? hostnameJson(before) : null,
        after: hostnameJson(record),
      };
    });
  };

  app.post<{ Params: { zone_id: Id }; Body: HostnameBody }>(
    base,
    { schema: { tags, params: params("zone_id"), body: hostnameBodySchema } },
    async (request) => save(request, await requireZone(request, store, request.params.zone_id), request.body),
  );

  app.get<{ Params: { zone_id: Id }; Querystring: PageQuery }>(
    base,
    { schema: { tags, params: params("zone_id"), querystring: query(pageProperties) } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return paginate((await store.listHostnames({ zoneId: zone.id })).map(hostnameJson), request.query);
    },
  );

  app.get<One>(
    `${base}/:hostname_id`,
    { schema: { tags, params: params("zone_id", "hostname_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return ok(hostnameJson(await load(store, zone, request.params.hostname_id)));
    },
  );

  app.put<One & { Body: HostnameBody }>(
    `${base}/:hostname_id`,
    { schema: { tags, params: params("zone_id", "hostname_id"), body: hostnameBodySchema } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return save(request, zone, request.body, request.params.hostname_id);
    },
  );

  app.delete<One>(
    `${base}/:hostname_id`,
    { schema: { tags, params: params("zone_id", "hostname_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return audited(store, tokenIdOf(request), async (tx) => {
        const host = await load(tx, zone, request.params.hostname_id);
        await tx.deleteHostname(host.id);
        return {
          result: ok({ id: host.id }),
          action: "hostname.delete",
          resource: `zones/${zone.id}/hostnames/${host.id}`,
          before: hostnameJson(host),
          after: null,
        };
      });
    },
  );
}
