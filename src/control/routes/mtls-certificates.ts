/** `/accounts/{account_id}/mtls_certificates`: upload, list, get, delete (unless in use), associations. */
import type { FastifyInstance } from "fastify";
import { newId, timestamp } from "../../store/ids.ts";
import type { Id, MtlsCertificate, StoreReader } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAccount, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { ApiError, CODES, inUse, notFound } from "../errors.ts";
import { checkUpload } from "../pem.ts";
import { mtlsCertificateJson } from "../present.ts";
import { body, booleanQuery, pageProperties, params, query } from "../schemas.ts";

interface UploadBody {
  name?: string;
  certificates: string;
  private_key?: string;
  ca: boolean;
}

const MAX_PEM = 256 * 1024;

/** Who uses a certificate: hostname associations (trust) and hostnames (server or origin CA). */
export async function usesOf(reader: StoreReader, certificate: MtlsCertificate): Promise<string[]> {
  const uses = (await reader.listHostnameAssociations({ mtlsCertificateId: certificate.id })).map(
    (association) => `hostname association ${association.hostname}`,
  );
  for (const host of await reader.listHostnames()) {
    if (host.serverCertificateId === certificate.id)
      uses.push(`hostname ${host.hostname} (server certificate)`);
    if (host.origin.caCertificateId === certificate.id) uses.push(`hostname ${host.hostname} (origin CA)`);
  }
  for (const fn of await reader.functions.listFunctions({ accountId: certificate.accountId })) {
    for (const b of fn.bindings)
      if (b.type === "mtls_certificate" && b.certificateId === certificate.id)
        uses.push(`function ${fn.name} (binding ${b.name})`);
  }
  return uses;
}

export async function mtlsCertificateRoutes(
  app: FastifyInstance,
  { store, caQuota }: ApiContext,
): Promise<void> {
  const base = "/accounts/:account_id/mtls_certificates";
  const tags = ["mtls_certificates"];

  /** The certificate, when it belongs to the account (a 404 otherwise, never another account's). */
  const load = async (reader: StoreReader, accountId: Id, id: Id) => {
    const certificate = await reader.getMtlsCertificate(id);
    if (!certificate || certificate.accountId !== accountId)
      throw notFound(`mtls_certificate ${id} not found`);
    return certificate;
  };

  app.post<{ Params: { account_id: Id }; Body: UploadBody }>(
    base,
    {
      schema: {
        tags,
        params: params("account_id"),
        body: body(
          {
            name: { type: "string", minLength: 1, maxLength: 200 },
            certificates: {
              type: "string",
              minLength: 1,
              maxLength: MAX_PEM,
              description: "PEM, leaf first",
            },
            private_key: { type: "string", minLength: 1, maxLength: MAX_PEM },
            ca: { type: "boolean" },
          },
          ["certificates", "ca"],
        ),
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const input = request.body;
      const checked = checkUpload(input);
      const now = timestamp();
      const certificate: MtlsCertificate = {
        id: newId(),
        accountId: account.id,
        name: input.name ?? null,
        ca: input.ca,
        certificates: checked.certificates,
        hasPrivateKey: checked.privateKeyPem !== undefined,
        issuer: checked.issuer,
        serialNumber: checked.serialNumber,
        signature: checked.signature,
        expiresOn: checked.expiresOn,
        uploadedOn: now,
        updatedAt: now,
      };
      await audited(store, tokenIdOf(request), async (tx) => {
        if (certificate.ca && Number.isFinite(caQuota)) {
          const cas = await tx.listMtlsCertificates({ accountId: account.id, ca: true });
          if (cas.length >= caQuota)
            throw new ApiError(400, CODES.caQuota, "Hit maximum CA cert allocation.");
        }
        await tx.insertMtlsCertificate(certificate, checked.privateKeyPem);
        return {
          result: undefined,
          action: "mtls_certificate.create",
          resource: `accounts/${account.id}/mtls_certificates/${certificate.id}`,
          before: null,
          after: mtlsCertificateJson(certificate),
        };
      });
      return ok(mtlsCertificateJson(certificate));
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: PageQuery & { ca?: "true" | "false"; name?: string } }>(
    base,
    {
      schema: {
        tags,
        params: params("account_id"),
        querystring: query({ ...pageProperties, ca: booleanQuery, name: { type: "string", maxLength: 200 } }),
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const { ca, name } = request.query;
      const list = await store.listMtlsCertificates({
        accountId: account.id,
        ...(ca !== undefined ? { ca: ca === "true" } : {}),
        ...(name !== undefined ? { name } : {}),
      });
      return paginate(list.map(mtlsCertificateJson), request.query);
    },
  );

  app.get<{ Params: { account_id: Id; mtls_certificate_id: Id } }>(
    `${base}/:mtls_certificate_id`,
    { schema: { tags, params: params("account_id", "mtls_certificate_id") } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      return ok(mtlsCertificateJson(await load(store, account.id, request.params.mtls_certificate_id)));
    },
  );

  app.delete<{ Params: { account_id: Id; mtls_certificate_id: Id } }>(
    `${base}/:mtls_certificate_id`,
    { schema: { tags, params: params("account_id", "mtls_certificate_id") } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const deleted = await audited(store, tokenIdOf(request), async (tx) => {
        const certificate = await load(tx, account.id, request.params.mtls_certificate_id);
        const uses = await usesOf(tx, certificate);
        if (uses.length > 0) {
          throw inUse(
            `mtls_certificate ${certificate.id} is in use by ${uses.join(", ")}; remove those first`,
          );
        }
        await tx.deleteMtlsCertificate(certificate.id);
        const json = mtlsCertificateJson(certificate);
        return {
          result: json,
          action: "mtls_certificate.delete",
          resource: `accounts/${account.id}/mtls_certificates/${certificate.id}`,
          before: json,
          after: null,
        };
      });
      return ok(deleted);
    },
  );

  app.get<{ Params: { account_id: Id; mtls_certificate_id: Id } }>(
    `${base}/:mtls_certificate_id/associations`,
    { schema: { tags, params: params("account_id", "mtls_certificate_id") } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const certificate = await load(store, account.id, request.params.mtls_certificate_id);
      const associations = await store.listHostnameAssociations({ mtlsCertificateId: certificate.id });
      const services = new Set(associations.map((association) => association.hostname));
      for (const host of await store.listHostnames()) {
        if (host.serverCertificateId === certificate.id || host.origin.caCertificateId === certificate.id) {
          services.add(host.hostname);
        }
      }
      const result = [...services].sort().map((service) => ({ service, status: "active" }));
      return ok(result);
    },
  );
}
