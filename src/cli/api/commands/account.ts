/** `portcullis account list | create`. */
import { command, group } from "../framework.ts";
import type { Account } from "../resolve.ts";

const list = command({
  name: "list",
  summary: "List the accounts the token can see",
  async run({ out, api }) {
    const accounts = await (await api()).list<Account>("/accounts");
    out.table(
      accounts,
      [
        { header: "id", value: (a) => a.id },
        { header: "name", value: (a) => a.name },
        { header: "created", value: (a) => a.created_on },
      ],
      "No accounts.",
    );
  },
});

const create = command({
  name: "create",
  summary: "Create an account (admin token)",
  args: [{ name: "NAME", description: "the account's name", required: true }],
  async run({ args, out, api }) {
    const account = await (await api()).post<Account>("/accounts", { name: args.NAME });
    out.result(account, () => out.say(`Created account ${account.name} (${account.id})`));
  },
});

export const accountGroup = group({
  name: "account",
  summary: "Accounts (own certificates, zones and Access apps)",
  commands: [list, create],
});
