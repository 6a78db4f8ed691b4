/** `/audit_logs` (admin): every write, newest first as the store returns them. */
import type { FastifyInstance } from "fastify";
import { requireAdmin } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { okList, type PageQuery, pageOf } from "../envelope.ts";
import { auditJson } from "../present.ts";
import { pageProperties, query } from "../schemas.ts";

export async function auditLogRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  app.get<{ Querystring: PageQuery & { action?: string; resource?: string } }>(
    "/audit_logs",
    {
      schema: {
        tags: ["audit_logs"],
        querystring: query({
          ...pageProperties,
          action: { type: "string", minLength: 1, maxLength: 200 },
          resource: { type: "string", minLength: 1, maxLength: 500 },
        }),
      },
    },
    async (request) => {
      requireAdmin(request);
      const { action, resource } = request.query;
      const { page, perPage } = pageOf(request.query);
      const found = await store.listAudit({
        ...(action !== undefined ? { action } : {}),
        ...(resource !== undefined ? { resource } : {}),
        limit: perPage,
        offset: (page - 1) * perPage,
      });
      return okList(found.items.map(auditJson), { page, perPage, total: found.total });
    },
  );
}
