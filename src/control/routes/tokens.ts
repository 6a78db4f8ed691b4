/** `/user/tokens`: verify (any token), list/create/revoke (admin). */
import type { FastifyInstance } from "fastify";
import type { Id, StoreReader, TokenScope } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAdmin, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { conflict, invalid, notFound } from "../errors.ts";
import { tokenJson } from "../present.ts";
import { body, id, pageProperties, params, query } from "../schemas.ts";
import { insertToken } from "../tokens.ts";

interface ScopeBody {
  kind: "admin" | "account" | "zone";
  account_id?: Id;
  zone_id?: Id;
  access?: "read" | "edit";
}

const scopeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["kind"],
  properties: {
    kind: { type: "string", enum: ["admin", "account", "zone"] },
    account_id: id,
    zone_id: id,
    access: { type: "string", enum: ["read", "edit"] },
  },
} as const;

async function scopeOf(reader: StoreReader, input: ScopeBody, field: string): Promise<TokenScope> {
  const extra = (name: keyof ScopeBody) => {
    if (input[name] !== undefined)
      throw invalid(`${field}.${name}`, `is not allowed with kind ${input.kind}`);
  };
  const need = <K extends keyof ScopeBody>(name: K): NonNullable<ScopeBody[K]> => {
    const value = input[name];
    if (value === undefined) throw invalid(`${field}.${name}`, `is required with kind ${input.kind}`);
    return value as NonNullable<ScopeBody[K]>;
  };
  switch (input.kind) {
    case "admin":
      extra("account_id");
      extra("zone_id");
      extra("access");
      return { kind: "admin" };
    case "account": {
      extra("zone_id");
      const accountId = need("account_id");
      if (!(await reader.getAccount(accountId)))
        throw invalid(`${field}.account_id`, `no account ${accountId}`);
      return { kind: "account", accountId, access: need("access") };
    }
    case "zone": {
      extra("account_id");
      const zoneId = need("zone_id");
      if (!(await reader.getZone(zoneId))) throw invalid(`${field}.zone_id`, `no zone ${zoneId}`);
      return { kind: "zone", zoneId, access: need("access") };
    }
  }
}

export async function tokenRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  app.get("/user/tokens/verify", { schema: { tags: ["tokens"] } }, async (request) =>
    ok({ id: request.token?.id, status: "active" }),
  );

  app.get<{ Querystring: PageQuery }>(
    "/user/tokens",
    { schema: { tags: ["tokens"], querystring: query(pageProperties) } },
    async (request) => {
      requireAdmin(request);
      return paginate((await store.listApiTokens()).map(tokenJson), request.query);
    },
  );

  app.post<{ Body: { name: string; scopes: ScopeBody[] } }>(
    "/user/tokens",
    {
      schema: {
        tags: ["tokens"],
        body: body(
          {
            name: { type: "string", minLength: 1, maxLength: 120 },
            scopes: { type: "array", minItems: 1, maxItems: 50, items: scopeSchema },
          },
          ["name", "scopes"],
        ),
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const created = await audited(store, tokenIdOf(request), async (tx) => {
        const scopes: TokenScope[] = [];
        for (const [index, scope] of request.body.scopes.entries()) {
          scopes.push(await scopeOf(tx, scope, `body.scopes[${index}]`));
        }
        const made = await insertToken(tx, { name: request.body.name, scopes });
        return {
          result: made,
          action: "api_token.create",
          resource: `user/tokens/${made.record.id}`,
          before: null,
          after: made.record,
        };
      });
      return reply.code(200).send(ok({ ...tokenJson(created.record), value: created.token }));
    },
  );

  app.delete<{ Params: { token_id: Id } }>(
    "/user/tokens/:token_id",
    { schema: { tags: ["tokens"], params: params("token_id") } },
    async (request) => {
      requireAdmin(request);
      const { token_id } = request.params;
      return audited(store, tokenIdOf(request), async (tx) => {
        const token = await tx.getApiToken(token_id);
        if (!token) throw notFound(`token ${token_id} not found`);
        const isAdmin = (t: typeof token) =>
          t.status === "active" && t.scopes.some((s) => s.kind === "admin");
        if (isAdmin(token) && (await tx.listApiTokens()).filter(isAdmin).length === 1) {
          throw conflict("refusing to revoke the last active admin token");
        }
        await tx.updateApiToken(token_id, { status: "revoked" });
        return {
          result: ok({ id: token_id }),
          action: "api_token.revoke",
          resource: `user/tokens/${token_id}`,
          before: token,
          after: { ...token, status: "revoked" },
        };
      });
    },
  );
}
