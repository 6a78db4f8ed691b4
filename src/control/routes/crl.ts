/**
 * `GET /crl/{zone_id}.crl` (public, outside /client/v4): the zone's managed-CA CRL, DER, as CRL distribution
 * points are served, listing every revoked or pending-revocation client certificate; valid for a day,
 * cached for a minute.
 */
import type { FastifyInstance } from "fastify";
import { managedCrl } from "../../ca/managed.ts";
import type { ClientCertificate } from "../../store/types.ts";
import type { ApiContext } from "../context.ts";
import { notFound } from "../errors.ts";

export async function crlRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  app.get<{ Params: { file: string } }>(
    "/crl/:file",
    {
      config: { public: true },
      schema: {
        hide: true,
        params: {
          type: "object",
          additionalProperties: false,
          required: ["file"],
          properties: { file: { type: "string", pattern: "^[0-9a-f]{32}(\\.crl)?$" } },
        },
      },
    },
    async (request, reply) => {
      const zoneId = request.params.file.replace(/\.crl$/, "");
      const ca = await store.getManagedCa(zoneId);
      const key = ca ? await store.secretKeyPem({ kind: "managed_ca", id: ca.id }) : undefined;
      if (!ca || !key) throw notFound(`zone ${zoneId} has no managed CA`);
      const revoked: ClientCertificate[] = [];
      for (const status of ["revoked", "pending_revocation"] as const) {
        for (let offset = 0; ; offset += 1000) {
          const page = await store.listClientCertificates({ zoneId, status, limit: 1000, offset });
          revoked.push(...page.items);
          if (page.items.length === 0 || offset + page.items.length >= page.total) break;
        }
      }
      const crl = await managedCrl(ca, key, revoked);
      return reply
        .header("content-type", "application/pkix-crl")
        .header("cache-control", "max-age=60")
        .send(crl.der);
    },
  );
}
