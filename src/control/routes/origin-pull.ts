/**
 * `/zones/{zone_id}/origin_tls_client_auth`: Cloudflare's Authenticated Origin Pulls, the client
 * certificate the edge presents to the origin. Zone-level certificates (used once `settings.enabled`)
 * and per-hostname ones (uploaded under `hostnames/certificates`, then bound by PUT `hostnames`); a
 * hostname's own enabled certificate beats the zone's (see src/snapshot/from-store.ts).
 *
 * One store table holds both kinds, told apart by (hostname, enabled):
 * - zone certificate: hostname null, enabled true (Cloudflare has no per-certificate switch for these);
 * - hostname certificate not bound to a hostname: hostname null, enabled false (never used by the edge);
 * - hostname certificate bound: hostname set, enabled as PUT `hostnames` said.
 * A hostname certificate is bound to at most one hostname (Cloudflare allows several).
 */
import type { FastifyInstance } from "fastify";
import { newId, timestamp } from "../../store/ids.ts";
import type { Id, OriginPullCertificate, StoreReader, StoreWriter, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok } from "../envelope.ts";
import { ApiError, conflict, inUse, invalid, notFound } from "../errors.ts";
import { zoneHostname } from "../hostname-body.ts";
import { checkUpload } from "../pem.ts";
import {
  type OriginPullFacts,
  originPullAssociationJson,
  originPullCertificateJson,
  originPullHostnameCertificateJson,
} from "../present.ts";
import { body, id, params } from "../schemas.ts";

interface UploadBody {
  certificate: string;
  private_key: string;
}

interface HostnameConfig {
  hostname: string;
  cert_id: Id;
  enabled: boolean | null;
}

const MAX_PEM = 256 * 1024;

const uploadSchema = body(
  {
    certificate: { type: "string", minLength: 1, maxLength: MAX_PEM, description: "PEM, leaf first" },
    private_key: { type: "string", minLength: 1, maxLength: MAX_PEM },
  },
  ["certificate", "private_key"],
);

const hostnameParam = {
  type: "object",
  additionalProperties: false,
  required: ["zone_id", "hostname"],
  properties: { zone_id: id, hostname: { type: "string", minLength: 1, maxLength: 255 } },
} as const;

const isZoneCertificate = (certificate: OriginPullCertificate) =>
  certificate.hostname === null && certificate.enabled;

/**
 * Issuer, serial, signature and expiry of a stored certificate, derived from its PEM by the same code
 * that checked it on upload (a past `now`, so a certificate that has expired since still presents).
 */
function factsOf(certificate: OriginPullCertificate): OriginPullFacts {
  return checkUpload({ certificates: certificate.certificatePem, ca: false }, new Date(0));
}

/** checkUpload names its field `certificates`; this API's field is `certificate`. */
function checkOriginPullUpload(input: UploadBody) {
  try {
    return checkUpload({ certificates: input.certificate, private_key: input.private_key, ca: false });
  } catch (err) {
    if (err instanceof ApiError && err.message.startsWith("certificates: ")) {
      throw invalid("certificate", err.message.slice("certificates: ".length));
    }
    throw err;
  }
}

export async function originPullRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const base = "/zones/:zone_id/origin_tls_client_auth";
  const tags = ["origin_tls_client_auth"];

  const zoneJson = (certificate: OriginPullCertificate) =>
    originPullCertificateJson(certificate, factsOf(certificate));
  const hostnameCertificateJson = (certificate: OriginPullCertificate) =>
    originPullHostnameCertificateJson(certificate, factsOf(certificate));

  const loadZoneCertificate = async (reader: StoreReader, zone: Zone, certificateId: Id) => {
    const found = (await reader.listOriginPullCertificates({ zoneId: zone.id })).find(
      (certificate) => certificate.id === certificateId && isZoneCertificate(certificate),
    );
    if (!found) throw notFound(`origin_tls_client_auth certificate ${certificateId} not found`);
    return found;
  };
  const loadHostnameCertificate = async (reader: StoreReader, zone: Zone, certificateId: Id) => {
    const found = (await reader.listOriginPullCertificates({ zoneId: zone.id })).find(
      (certificate) => certificate.id === certificateId && !isZoneCertificate(certificate),
    );
    if (!found) throw notFound(`origin_tls_client_auth hostname certificate ${certificateId} not found`);
    return found;
  };

  /** Upload (zone-level or per-hostname), audited. */
  const upload = async (tokenId: Id | null, zone: Zone, input: UploadBody, kind: "zone" | "hostname") => {
    const checked = checkOriginPullUpload(input);
    const certificate: OriginPullCertificate = {
      id: newId(),
      zoneId: zone.id,
      hostname: null,
      certificatePem: checked.certificates,
      enabled: kind === "zone",
      createdAt: timestamp(),
    };
    const json =
      kind === "zone"
        ? originPullCertificateJson(certificate, checked)
        : originPullHostnameCertificateJson(certificate, checked);
    return audited(store, tokenId, async (tx) => {
      await tx.insertOriginPullCertificate(certificate, checked.privateKeyPem as string);
      return {
        result: ok(json),
        action:
          kind === "zone" ? "origin_pull_certificate.create" : "origin_pull_hostname_certificate.create",
        resource:
          kind === "zone"
            ? `zones/${zone.id}/origin_tls_client_auth/${certificate.id}`
            : `zones/${zone.id}/origin_tls_client_auth/hostnames/certificates/${certificate.id}`,
        before: null,
        after: json,
      };
    });
  };

  // Zone-level certificates.

  app.post<{ Params: { zone_id: Id }; Body: UploadBody }>(
    base,
    { schema: { tags, params: params("zone_id"), body: uploadSchema } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return upload(tokenIdOf(request), zone, request.body, "zone");
    },
  );

  app.get<{ Params: { zone_id: Id } }>(
    base,
    { schema: { tags, params: params("zone_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const all = await store.listOriginPullCertificates({ zoneId: zone.id });
      return ok(all.filter(isZoneCertificate).map(zoneJson));
    },
  );

  app.get<{ Params: { zone_id: Id } }>(
    `${base}/settings`,
    { schema: { tags, params: params("zone_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return ok({ enabled: await store.getOriginPullEnabled(zone.id) });
    },
  );

  app.put<{ Params: { zone_id: Id }; Body: { enabled: boolean } }>(
    `${base}/settings`,
    {
      schema: { tags, params: params("zone_id"), body: body({ enabled: { type: "boolean" } }, ["enabled"]) },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const { enabled } = request.body;
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = await tx.getOriginPullEnabled(zone.id);
        await tx.setOriginPullEnabled(zone.id, enabled);
        return {
          result: ok({ enabled }),
          action: "origin_pull_settings.update",
          resource: `zones/${zone.id}/origin_tls_client_auth/settings`,
          before: { enabled: before },
          after: { enabled },
        };
      });
    },
  );

  app.get<{ Params: { zone_id: Id; certificate_id: Id } }>(
    `${base}/:certificate_id`,
    { schema: { tags, params: params("zone_id", "certificate_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return ok(zoneJson(await loadZoneCertificate(store, zone, request.params.certificate_id)));
    },
  );

  app.delete<{ Params: { zone_id: Id; certificate_id: Id } }>(
    `${base}/:certificate_id`,
    { schema: { tags, params: params("zone_id", "certificate_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return audited(store, tokenIdOf(request), async (tx) => {
        const certificate = await loadZoneCertificate(tx, zone, request.params.certificate_id);
        await tx.deleteOriginPullCertificate(certificate.id);
        const json = zoneJson(certificate);
        return {
          result: ok(json),
          action: "origin_pull_certificate.delete",
          resource: `zones/${zone.id}/origin_tls_client_auth/${certificate.id}`,
          before: json,
          after: null,
        };
      });
    },
  );

  // Per-hostname certificates and their bindings.

  app.post<{ Params: { zone_id: Id }; Body: UploadBody }>(
    `${base}/hostnames/certificates`,
    { schema: { tags, params: params("zone_id"), body: uploadSchema } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return upload(tokenIdOf(request), zone, request.body, "hostname");
    },
  );

  app.get<{ Params: { zone_id: Id } }>(
    `${base}/hostnames/certificates`,
    { schema: { tags, params: params("zone_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const all = await store.listOriginPullCertificates({ zoneId: zone.id });
      return ok(all.filter((certificate) => !isZoneCertificate(certificate)).map(hostnameCertificateJson));
    },
  );

  app.get<{ Params: { zone_id: Id; certificate_id: Id } }>(
    `${base}/hostnames/certificates/:certificate_id`,
    { schema: { tags, params: params("zone_id", "certificate_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const certificate = await loadHostnameCertificate(store, zone, request.params.certificate_id);
      return ok(hostnameCertificateJson(certificate));
    },
  );

  app.delete<{ Params: { zone_id: Id; certificate_id: Id } }>(
    `${base}/hostnames/certificates/:certificate_id`,
    { schema: { tags, params: params("zone_id", "certificate_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return audited(store, tokenIdOf(request), async (tx) => {
        const certificate = await loadHostnameCertificate(tx, zone, request.params.certificate_id);
        if (certificate.hostname !== null) {
          throw inUse(
            `origin_tls_client_auth hostname certificate ${certificate.id} is associated with ` +
              `${certificate.hostname}; PUT hostnames with enabled: null first`,
          );
        }
        await tx.deleteOriginPullCertificate(certificate.id);
        const json = hostnameCertificateJson(certificate);
        return {
          result: ok(json),
          action: "origin_pull_hostname_certificate.delete",
          resource: `zones/${zone.id}/origin_tls_client_auth/hostnames/certificates/${certificate.id}`,
          before: json,
          after: null,
        };
      });
    },
  );

  app.put<{ Params: { zone_id: Id }; Body: { config: HostnameConfig[] } }>(
    `${base}/hostnames`,
    {
      schema: {
        tags,
        params: params("zone_id"),
        body: body(
          {
            config: {
              type: "array",
              minItems: 1,
              maxItems: 1000,
              items: body(
                {
                  hostname: { type: "string", minLength: 1, maxLength: 255 },
                  cert_id: id,
                  enabled: {
                    type: "boolean",
                    nullable: true,
                    description: "null removes the association",
                  },
                },
                ["hostname", "cert_id", "enabled"],
              ),
            },
          },
          ["config"],
        ),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const config = request.body.config.map((entry, index) => ({
        ...entry,
        hostname: zoneHostname(entry.hostname, zone, `body.config[${index}].hostname`),
        field: `body.config[${index}]`,
      }));
      config.forEach((entry, index) => {
        const earlier = config.findIndex((other) => other.hostname === entry.hostname);
        if (earlier < index) {
          throw invalid(
            `${entry.field}.hostname`,
            `${JSON.stringify(entry.hostname)} is already at config[${earlier}]`,
          );
        }
      });
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = (await tx.listOriginPullCertificates({ zoneId: zone.id })).filter(
          (certificate) => !isZoneCertificate(certificate),
        );
        const results = [];
        for (const entry of config) {
          const certificate = (await tx.listOriginPullCertificates({ zoneId: zone.id })).find(
            (candidate) => candidate.id === entry.cert_id && !isZoneCertificate(candidate),
          );
          if (!certificate) {
            throw invalid(
              `${entry.field}.cert_id`,
              `no origin_tls_client_auth hostname certificate ${entry.cert_id} in zone ${zone.name}`,
            );
          }
          if (entry.enabled === null) {
            // Voids the association (idempotent: a certificate bound elsewhere, or nowhere, is left alone).
            const bound = certificate.hostname === entry.hostname;
            const after = bound ? await rebind(tx, certificate, null, false) : certificate;
            results.push(originPullAssociationJson(after, factsOf(after), entry.hostname, null));
            continue;
          }
          if (certificate.hostname !== null && certificate.hostname !== entry.hostname) {
            throw conflict(
              `${entry.field}.cert_id: hostname certificate ${certificate.id} is already associated with ` +
                `${certificate.hostname}; one certificate serves one hostname here (PUT enabled: null there first)`,
            );
          }
          // The hostname's previous certificate, if another, is unbound: the new one replaces it.
          const previous = (await tx.listOriginPullCertificates({ zoneId: zone.id })).find(
            (candidate) => candidate.hostname === entry.hostname && candidate.id !== certificate.id,
          );
          if (previous) await rebind(tx, previous, null, false);
          const after = await rebind(tx, certificate, entry.hostname, entry.enabled);
          results.push(originPullAssociationJson(after, factsOf(after), entry.hostname, entry.enabled));
        }
        const afterAll = (await tx.listOriginPullCertificates({ zoneId: zone.id })).filter(
          (certificate) => !isZoneCertificate(certificate),
        );
        const bindings = (list: OriginPullCertificate[]) =>
          list.map((certificate) => ({
            cert_id: certificate.id,
            hostname: certificate.hostname,
            enabled: certificate.hostname === null ? null : certificate.enabled,
          }));
        return {
          result: ok(results),
          action: "origin_pull_hostnames.update",
          resource: `zones/${zone.id}/origin_tls_client_auth/hostnames`,
          before: bindings(before),
          after: bindings(afterAll),
        };
      });
    },
  );

  app.get<{ Params: { zone_id: Id; hostname: string } }>(
    `${base}/hostnames/:hostname`,
    { schema: { tags, params: hostnameParam } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const hostname = zoneHostname(request.params.hostname, zone, "params.hostname");
      const certificate = (await store.listOriginPullCertificates({ zoneId: zone.id })).find(
        (candidate) => candidate.hostname === hostname,
      );
      if (!certificate) {
        throw notFound(`no origin_tls_client_auth hostname certificate is associated with ${hostname}`);
      }
      return ok(originPullAssociationJson(certificate, factsOf(certificate), hostname, certificate.enabled));
    },
  );
}

/**
 * Sets a certificate's hostname and enabled flag. The store has no update for these, so: read the key,
 * delete, insert again with the same id and creation time; the caller's transaction makes it one change.
 */
async function rebind(
  tx: StoreWriter,
  certificate: OriginPullCertificate,
  hostname: string | null,
  enabled: boolean,
): Promise<OriginPullCertificate> {
  if (certificate.hostname === hostname && certificate.enabled === enabled) return certificate;
  const keyPem = await tx.secretKeyPem({ kind: "origin_pull", id: certificate.id });
  if (keyPem === undefined) {
    throw new Error(`origin pull certificate ${certificate.id} has no stored private key`);
  }
  const updated: OriginPullCertificate = { ...certificate, hostname, enabled };
  await tx.deleteOriginPullCertificate(certificate.id);
  await tx.insertOriginPullCertificate(updated, keyPem);
  return updated;
}
