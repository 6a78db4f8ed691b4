/** `portcullis token create | list | revoke`: API tokens (admin). */
import { UsageError } from "../../errors.ts";
import type { ApiClient } from "../client.ts";
import { command, group } from "../framework.ts";
import { type Account, isId, one, resolveZone } from "../resolve.ts";

interface TokenJson {
  id: string;
  name: string;
  status: string;
  scopes: { kind: string; account_id?: string; zone_id?: string; access?: string }[];
  created_on: string;
  last_used_on: string | null;
  value?: string;
}

const scopeText = (scope: TokenJson["scopes"][number]) =>
  scope.kind === "admin" ? "admin" : `${scope.kind}:${scope.account_id ?? scope.zone_id}:${scope.access}`;

/** `admin`, `account:ID|NAME:read|edit`, `zone:ID|NAME:read|edit`. */
async function scopeBody(client: ApiClient, text: string, index: number) {
  if (text === "admin") return { kind: "admin" };
  const match = /^(account|zone):(.+):(read|edit)$/.exec(text);
  if (!match) {
    throw new UsageError(
      `--scope #${index + 1}: expected admin, account:ID|NAME:read|edit or zone:ID|NAME:read|edit, got ${JSON.stringify(text)}`,
    );
  }
  const [, kind, target, access] = match as unknown as [string, "account" | "zone", string, string];
  if (kind === "zone") return { kind, zone_id: (await resolveZone(client, target)).id, access };
  const accountId = isId(target)
    ? target
    : one(
        (await client.list<Account>("/accounts")).filter((a) => a.name === target),
        `account named ${JSON.stringify(target)}`,
      ).id;
  return { kind, account_id: accountId, access };
}

const create = command({
  name: "create",
  summary: "Create an API token (its value is shown once)",
  flags: {
    name: { type: "string", placeholder: "NAME", required: true, description: "what the token is for" },
    scope: {
      type: "string",
      multiple: true,
      required: true,
      placeholder: "SCOPE",
      description: "admin, account:ID|NAME:read|edit or zone:ID|NAME:read|edit",
    },
  },
  examples: ["portcullis token create --name ci --scope zone:example.test:edit"],
  async run({ flags, out, api }) {
    const client = await api();
    const scopes = [];
    for (const [index, scope] of flags.scope.entries()) scopes.push(await scopeBody(client, scope, index));
    const token = await client.post<TokenJson>("/user/tokens", { name: flags.name, scopes });
    out.result(token, () => {
      out.say(
        `Created token ${token.name} (${token.id}) with scopes ${token.scopes.map(scopeText).join(", ")}`,
      );
      out.say(`Token (shown once): ${token.value}`);
    });
  },
});

const list = command({
  name: "list",
  summary: "List API tokens (never their values)",
  async run({ out, api }) {
    const tokens = await (await api()).list<TokenJson>("/user/tokens");
    out.table(
      tokens,
      [
        { header: "id", value: (t) => t.id },
        { header: "name", value: (t) => t.name },
        { header: "status", value: (t) => t.status },
        { header: "scopes", value: (t) => t.scopes.map(scopeText).join(",") },
        { header: "last used", value: (t) => t.last_used_on },
      ],
      "No tokens.",
    );
  },
});

const revoke = command({
  name: "revoke",
  summary: "Revoke an API token (the last admin token cannot be revoked)",
  args: [{ name: "ID", description: "the token's id", required: true }],
  flags: { yes: { type: "boolean", short: "y", description: "do not ask for confirmation" } },
  async run({ args, flags, out, api }) {
    const client = await api();
    const id = args.ID as string;
    if (!(await out.confirm(`Are you sure you want to revoke token ${id}?`, flags.yes))) {
      out.say("Not revoking");
      return;
    }
    const result = await client.delete(`/user/tokens/${encodeURIComponent(id)}`);
    out.result(result, () => out.say(`Revoked token ${id}`));
  },
});

export const tokenGroup = group({
  name: "token",
  summary: "API tokens and their scopes (admin)",
  commands: [create, list, revoke],
});
