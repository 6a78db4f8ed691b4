/**
 * `/zones/{zone_id}/client_certificates`: the zone's managed CA (created on first use) issues client
 * certificates from CSRs; DELETE revokes (pending_revocation, then revoked once the edge enforces it),
 * PATCH `{reactivate: true}` undoes it. The CA's CRL is published by `portcullis up` at `/crl/<zone_id>`.
 */
import type { FastifyInstance } from "fastify";
import { createManagedCa, issueClientCertificate, MAX_VALIDITY_DAYS } from "../../ca/managed.ts";
import { PkiError } from "../../pki/errors.ts";
import { timestamp } from "../../store/ids.ts";
import type { ClientCertificate, ClientCertificateStatus, Id, StoreReader, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, okList } from "../envelope.ts";
import { invalid, notFound } from "../errors.ts";
import { clientCertificateJson } from "../present.ts";
import { body, params, query } from "../schemas.ts";

const STATUSES = ["all", "active", "pending_reactivation", "pending_revocation", "revoked"] as const;

export async function clientCertificateRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const base = "/zones/:zone_id/client_certificates";
  const tags = ["client_certificates"];
  const present = async (reader: StoreReader, certificate: ClientCertificate) =>
    clientCertificateJson(certificate, await reader.getManagedCa(certificate.zoneId));
  const load = async (reader: StoreReader, zone: Zone, id: Id) => {
    const certificate = await reader.getClientCertificate(zone.id, id);
    if (!certificate) throw notFound(`client_certificate ${id} not found`);
    return certificate;
  };

  app.post<{ Params: { zone_id: Id }; Body: { csr: string; validity_days?: number } }>(
    base,
    {
      schema: {
        tags,
        params: params("zone_id"),
        body: body(
          {
            csr: { type: "string", minLength: 1, maxLength: 64 * 1024 },
            validity_days: { type: "integer", minimum: 1, maximum: MAX_VALIDITY_DAYS },
          },
          ["csr"],
        ),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const validityDays = request.body.validity_days ?? 3650;
      const certificate = await audited(store, tokenIdOf(request), async (tx) => {
        let ca = await tx.getManagedCa(zone.id);
        let caKeyPem = ca ? await tx.secretKeyPem({ kind: "managed_ca", id: ca.id }) : undefined;
        if (!ca || !caKeyPem) {
          const made = await createManagedCa(zone);
          await tx.insertManagedCa(made.ca, made.keyPem);
          ca = made.ca;
          caKeyPem = made.keyPem;
        }
        const issued = await issueFromCsr(ca, caKeyPem, request.body.csr, validityDays);
        await tx.insertClientCertificate(issued);
        const resource = `zones/${zone.id}/client_certificates/${issued.id}`;
        return {
          result: issued,
          action: "client_certificate.create",
          resource,
          before: null,
          after: withoutPem(issued),
        };
      });
      return ok(await present(store, certificate));
    },
  );

  app.get<{
    Params: { zone_id: Id };
    Querystring: {
      status?: (typeof STATUSES)[number];
      limit?: string;
      offset?: string;
      page?: string;
      per_page?: string;
    };
  }>(
    base,
    {
      schema: {
        tags,
        params: params("zone_id"),
        querystring: query({
          status: { type: "string", enum: STATUSES },
          limit: { type: "string", pattern: "^(?:[1-9][0-9]{0,2}|1000)$" },
          offset: { type: "string", pattern: "^[0-9]{1,9}$" },
          page: { type: "string", pattern: "^[1-9][0-9]{0,5}$" },
          per_page: { type: "string", pattern: "^(?:[1-9][0-9]{0,2}|1000)$" },
        }),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const { status, limit, offset, page, per_page: perPage } = request.query;
      const size = Number(limit ?? perPage ?? 20);
      const start = offset !== undefined ? Number(offset) : (Number(page ?? 1) - 1) * size;
      const result = await store.listClientCertificates({
        zoneId: zone.id,
        ...(status && status !== "all" ? { status: status as ClientCertificateStatus } : {}),
        limit: size,
        offset: start,
      });
      const items = await Promise.all(result.items.map((item) => present(store, item)));
      return okList(items, { page: Math.floor(start / size) + 1, perPage: size, total: result.total });
    },
  );

  app.get<{ Params: { zone_id: Id; id: Id } }>(
    `${base}/:id`,
    { schema: { tags, params: params("zone_id", "id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return ok(await present(store, await load(store, zone, request.params.id)));
    },
  );

  app.delete<{ Params: { zone_id: Id; id: Id } }>(
    `${base}/:id`,
    { schema: { tags, params: params("zone_id", "id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const updated = await changeStatus(zone, request.params.id, tokenIdOf(request), "revoke");
      return ok(await present(store, updated));
    },
  );

  app.patch<{ Params: { zone_id: Id; id: Id }; Body: { reactivate: boolean } }>(
    `${base}/:id`,
    {
      schema: {
        tags,
        params: params("zone_id", "id"),
        body: body({ reactivate: { type: "boolean", const: true } }, ["reactivate"]),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const updated = await changeStatus(zone, request.params.id, tokenIdOf(request), "reactivate");
      return ok(await present(store, updated));
    },
  );

  /** Revoke (active → pending_revocation) or reactivate (revoked/pending_revocation → pending_reactivation). */
  function changeStatus(zone: Zone, id: Id, tokenId: Id | null, change: "revoke" | "reactivate") {
    return audited(store, tokenId, async (tx) => {
      const before = await load(tx, zone, id);
      const revoking = change === "revoke";
      const already = revoking
        ? before.status === "pending_revocation" || before.status === "revoked"
        : before.status === "active" || before.status === "pending_reactivation";
      const status: ClientCertificateStatus = already
        ? before.status
        : revoking
          ? "pending_revocation"
          : "pending_reactivation";
      const revokedOn = revoking ? (before.revokedOn ?? timestamp()) : null;
      if (!already) await tx.updateClientCertificateStatus(id, status, revokedOn);
      const after = { ...before, status, revokedOn };
      const resource = `zones/${zone.id}/client_certificates/${id}`;
      return {
        result: after,
        action: `client_certificate.${change}`,
        resource,
        before: withoutPem(before),
        after: withoutPem(after),
      };
    });
  }
}

async function issueFromCsr(
  ca: Parameters<typeof issueClientCertificate>[0],
  caKeyPem: string,
  csr: string,
  validityDays: number,
): Promise<ClientCertificate> {
  try {
    return await issueClientCertificate(ca, caKeyPem, csr, validityDays);
  } catch (err) {
    if (err instanceof PkiError) throw invalid("body.csr", err.detail);
    throw err;
  }
}

/** Audit entries keep the facts, not the PEM blobs. */
function withoutPem(certificate: ClientCertificate) {
  const { certificatePem: _certificate, csr: _csr, ...facts } = certificate;
  return facts;
}
