/** `/accounts`: create (admin; a native addition), list the accounts the token can read, get one. */
import type { FastifyInstance } from "fastify";
import { newId, timestamp } from "../../store/ids.ts";
import type { Account, Id } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAccount, requireAdmin, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { accountJson } from "../present.ts";
import { body, pageProperties, params, query } from "../schemas.ts";
import { permits } from "../tokens.ts";

export async function accountRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  app.post<{ Body: { name: string } }>(
    "/accounts",
    {
      schema: {
        tags: ["accounts"],
        body: body({ name: { type: "string", minLength: 1, maxLength: 200 } }, ["name"]),
      },
    },
    async (request) => {
      requireAdmin(request);
      const account: Account = { id: newId(), name: request.body.name, createdAt: timestamp() };
      await audited(store, tokenIdOf(request), async (tx) => {
        await tx.insertAccount(account);
        return {
          result: undefined,
          action: "account.create",
          resource: `accounts/${account.id}`,
          before: null,
          after: account,
        };
      });
      return ok(accountJson(account));
    },
  );

  app.get<{ Querystring: PageQuery }>(
    "/accounts",
    { schema: { tags: ["accounts"], querystring: query(pageProperties) } },
    async (request) => {
      const token = request.token;
      const visible = (await store.listAccounts()).filter(
        (account) => token && permits(token, { kind: "account", accountId: account.id }, "read"),
      );
      return paginate(visible.map(accountJson), request.query);
    },
  );

  app.get<{ Params: { account_id: Id } }>(
    "/accounts/:account_id",
    { schema: { tags: ["accounts"], params: params("account_id") } },
    async (request) => ok(accountJson(await requireAccount(request, store, request.params.account_id))),
  );
}
