/**
 * `/zones/{zone_id}/certificate_authorities/hostname_associations`: which hostnames of the zone trust a
 * CA. GET lists them; PUT replaces the list (`[]` clears). No `mtls_certificate_id` = the managed CA.
 */
import type { FastifyInstance } from "fastify";
import type { Id, StoreReader, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok } from "../envelope.ts";
import { invalid } from "../errors.ts";
import { zoneHostname } from "../hostname-body.ts";
import { body, id, params, query } from "../schemas.ts";

async function checkCa(reader: StoreReader, zone: Zone, certificateId: Id, field: string): Promise<void> {
  const certificate = await reader.getMtlsCertificate(certificateId);
  if (!certificate || certificate.accountId !== zone.accountId) {
    throw invalid(field, `no mtls_certificate ${certificateId} in the zone's account`);
  }
  if (!certificate.ca) throw invalid(field, `mtls_certificate ${certificateId} is not a CA (ca: false)`);
}

export async function hostnameAssociationRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const path = "/zones/:zone_id/certificate_authorities/hostname_associations";
  const tags = ["hostname_associations"];

  app.get<{ Params: { zone_id: Id }; Querystring: { mtls_certificate_id?: Id } }>(
    path,
    { schema: { tags, params: params("zone_id"), querystring: query({ mtls_certificate_id: id }) } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const certificateId = request.query.mtls_certificate_id ?? null;
      const associations = await store.listHostnameAssociations({
        zoneId: zone.id,
        mtlsCertificateId: certificateId,
      });
      return ok({ hostnames: associations.map((association) => association.hostname) });
    },
  );

  app.put<{ Params: { zone_id: Id }; Body: { hostnames: string[]; mtls_certificate_id?: Id } }>(
    path,
    {
      schema: {
        tags,
        params: params("zone_id"),
        body: body(
          {
            hostnames: {
              type: "array",
              maxItems: 1000,
              items: { type: "string", minLength: 1, maxLength: 255 },
            },
            mtls_certificate_id: id,
          },
          ["hostnames"],
        ),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const certificateId = request.body.mtls_certificate_id ?? null;
      const hostnames = request.body.hostnames.map((name, index) =>
        zoneHostname(name, zone, `body.hostnames[${index}]`),
      );
      hostnames.forEach((name, index) => {
        const earlier = hostnames.indexOf(name);
        if (earlier < index)
          throw invalid(
            `body.hostnames[${index}]`,
            `${JSON.stringify(name)} is already at hostnames[${earlier}]`,
          );
      });
      return audited(store, tokenIdOf(request), async (tx) => {
        if (certificateId) await checkCa(tx, zone, certificateId, "body.mtls_certificate_id");
        const before = await tx.listHostnameAssociations({
          zoneId: zone.id,
          mtlsCertificateId: certificateId,
        });
        await tx.replaceHostnameAssociations(zone.id, certificateId, hostnames);
        return {
          result: ok({ hostnames }),
          action: "hostname_associations.replace",
          resource: `zones/${zone.id}/certificate_authorities/hostname_associations/${certificateId ?? "managed"}`,
          before: { hostnames: before.map((association) => association.hostname) },
          after: { hostnames },
        };
      });
    },
  );
}
