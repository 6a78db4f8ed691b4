/**
 * `portcullis access certificate | app | policy | service-token`: Cloudflare Access over the API —
 * mTLS root CAs for hostnames, self-hosted applications, their policies (allow/deny/non_identity/bypass
 * with certificate, common name, service token, IP... rules) and service tokens.
 */
import type {
  accessAppJson,
  accessCertificateJson,
  accessPolicyJson,
  serviceTokenJson,
} from "../../../control/routes/access.ts";
import { UsageError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import type { ApiClient } from "../client.ts";
import { command, group } from "../framework.ts";
import { type Column, formatFields } from "../output.ts";
import { isId, one, resolveAccount } from "../resolve.ts";

// The API's JSON, typed by the server's presenters (type-only: nothing of the server loads).
type AccessCertificate = ReturnType<typeof accessCertificateJson>;
type AccessApp = ReturnType<typeof accessAppJson>;
type AccessPolicy = ReturnType<typeof accessPolicyJson>;
type ServiceToken = ReturnType<typeof serviceTokenJson> & { client_secret?: string };

const yesFlag = { type: "boolean", short: "y", description: "do not ask for confirmation" } as const;

async function accessBase(client: ApiClient): Promise<string> {
  return `/accounts/${(await resolveAccount(client)).id}/access`;
}

/** An Access object by id, or by name among the list. */
async function byIdOrName<T extends { id: string; name: string }>(
  client: ApiClient,
  path: string,
  spec: string,
  what: string,
): Promise<T> {
  if (isId(spec)) return client.get<T>(`${path}/${spec}`);
  return one(
    (await client.list<T>(path)).filter((item) => item.name === spec),
    `${what} named ${JSON.stringify(spec)}`,
  );
}

/** Deletes after wrangler-style confirmation. */
async function confirmAndDelete(
  ctx: { out: import("../output.ts").Output },
  client: ApiClient,
  path: string,
  label: string,
  yes: boolean,
): Promise<void> {
  if (!(await ctx.out.confirm(`Are you sure you want to delete ${label}?`, yes))) {
    ctx.out.say("Not deleting");
    return;
  }
  const result = await client.delete(path);
  ctx.out.result(result, () => ctx.out.say(`Deleted ${label}`));
}

/** `list`: the account's Access objects at `subpath`, as a table. */
function listCommand<T>(summary: string, subpath: string, columns: Column<T>[], empty: string) {
  return command({
    name: "list",
    summary,
    async run({ out, api }) {
      const client = await api();
      out.table(await client.list<T>(`${await accessBase(client)}/${subpath}`), columns, empty);
    },
  });
}

/** `delete ID|NAME [-y]`: one Access object at `subpath`, after the confirmation question. */
function deleteCommand(summary: string, subpath: string, what: string, label: string) {
  return command({
    name: "delete",
    summary,
    flags: { yes: yesFlag },
    args: [{ name: "ID|NAME", description: `the ${label}`, required: true }],
    async run({ flags, args, out, api }) {
      const client = await api();
      const path = `${await accessBase(client)}/${subpath}`;
      const found = await byIdOrName<{ id: string; name: string }>(
        client,
        path,
        args["ID|NAME"] as string,
        what,
      );
      await confirmAndDelete(
        { out },
        client,
        `${path}/${found.id}`,
        `${label} ${found.id} (${found.name})`,
        flags.yes,
      );
    },
  });
}

// --- certificates ----------------------------------------------------------------------------------

const certificateList = listCommand<AccessCertificate>(
  "List Access mTLS root CAs and their hostnames",
  "certificates",
  [
    { header: "id", value: (c) => c.id },
    { header: "name", value: (c) => c.name },
    { header: "hostnames", value: (c) => c.associated_hostnames.join(",") },
    { header: "expires", value: (c) => c.expires_on },
  ],
  "No Access certificates.",
);

const certificateCreate = command({
  name: "create",
  summary: "Add an mTLS root CA for Access, associated with hostnames",
  description:
    "Uploads a CA certificate (PEM; the whole chain if an intermediate signs the clients) that Access uses to\n" +
    "verify client certificates on the associated hostnames (Zero Trust > Access > Service Auth > Mutual TLS).",
  flags: {
    name: { type: "string", placeholder: "NAME", required: true, description: "a name for the CA" },
    cert: { type: "string", placeholder: "FILE", required: true, description: "the CA certificate (PEM)" },
    hostname: {
      type: "string",
      multiple: true,
      placeholder: "HOST",
      description: "a hostname (of the account's zones) that uses this CA",
    },
  },
  examples: [
    "portcullis access certificate create --name 'Access Testing CA' --cert ca.pem --hostname auth.example.test",
  ],
  async run({ flags, out, api }) {
    const certificate = (await readInput(flags.cert, "certificate")).toString("utf8");
    const client = await api();
    const result = await client.post<AccessCertificate>(`${await accessBase(client)}/certificates`, {
      name: flags.name,
      certificate,
      associated_hostnames: flags.hostname,
    });
    out.result(result, () =>
      out.say(
        `Added Access certificate ${result.name} (${result.id}) for ${result.associated_hostnames.join(", ") || "no hostname yet"}`,
      ),
    );
  },
});

const certificateUpdate = command({
  name: "update",
  summary: "Rename an Access mTLS root CA or replace its hostnames",
  description:
    "--hostname (repeatable) replaces the associated hostnames; --clear-hostnames removes them all.",
  flags: {
    name: { type: "string", placeholder: "NAME", description: "a new name" },
    hostname: { type: "string", multiple: true, placeholder: "HOST", description: "the hostnames (replace)" },
    "clear-hostnames": { type: "boolean", description: "associate no hostname (needed before delete)" },
  },
  args: [{ name: "ID|NAME", description: "the certificate", required: true }],
  async run({ flags, args, out, api }) {
    if (flags["clear-hostnames"] && flags.hostname.length > 0) {
      throw new UsageError("--hostname and --clear-hostnames contradict each other");
    }
    const client = await api();
    const path = `${await accessBase(client)}/certificates`;
    const found = await byIdOrName<AccessCertificate>(
      client,
      path,
      args["ID|NAME"] as string,
      "access certificate",
    );
    const hostnames = flags["clear-hostnames"]
      ? []
      : flags.hostname.length > 0
        ? flags.hostname
        : found.associated_hostnames;
    const result = await client.put<AccessCertificate>(`${path}/${found.id}`, {
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      associated_hostnames: hostnames,
    });
    out.result(result, () =>
      out.say(
        `Updated Access certificate ${result.name} (${result.id}): ${result.associated_hostnames.join(", ") || "no hostname"}`,
      ),
    );
  },
});

const certificateDelete = deleteCommand(
  "Delete an Access mTLS root CA (clear its hostnames first)",
  "certificates",
  "access certificate",
  "Access certificate",
);

// --- apps --------------------------------------------------------------------------------------------

const appList = listCommand<AccessApp>(
  "List Access applications",
  "apps",
  [
    { header: "id", value: (a) => a.id },
    { header: "name", value: (a) => a.name },
    { header: "domain", value: (a) => a.domain },
    { header: "session", value: (a) => a.session_duration },
    { header: "aud", value: (a) => a.aud },
  ],
  "No Access applications.",
);

const appCreate = command({
  name: "create",
  summary: "Create a self-hosted Access application for a hostname (or hostname/path)",
  flags: {
    domain: {
      type: "string",
      placeholder: "HOST[/PATH]",
      required: true,
      description: "what the app protects",
    },
    name: { type: "string", placeholder: "NAME", description: "a name (default: the domain)" },
    "session-duration": {
      type: "string",
      placeholder: "DURATION",
      defaultText: "24h",
      description: 'Go duration of a session; 0s checks every request ("no duration, expires immediately")',
    },
  },
  examples: ["portcullis access app create --domain auth.example.test --name Auth --session-duration 0s"],
  async run({ flags, out, api }) {
    const client = await api();
    const result = await client.post<AccessApp>(`${await accessBase(client)}/apps`, {
      domain: flags.domain,
      type: "self_hosted",
      ...(flags.name !== undefined ? { name: flags.name } : {}),
      ...(flags["session-duration"] !== undefined ? { session_duration: flags["session-duration"] } : {}),
    });
    out.result(result, () =>
      out.say(
        `Created Access application ${result.name} (${result.id}) for ${result.domain}, session ${result.session_duration}, aud ${result.aud}`,
      ),
    );
  },
});

const appDelete = deleteCommand(
  "Delete an Access application and its policies",
  "apps",
  "access app",
  "Access application",
);

// --- policies ----------------------------------------------------------------------------------------

const SELECTOR_HELP =
  "certificate, common_name=CN, service_token=ID|NAME, any_valid_service_token, ip=CIDR, everyone, " +
  "san.dns=NAME, san.email=ADDR, san.uri=URI, issuer_ski=HEX, certificate_fingerprint=HEX, " +
  "certificate_serial=HEX, or a JSON rule object";

/** A rule from its short form (`common_name=James Royal`) or JSON (`{"certificate": {}}`). */
async function selector(
  client: ApiClient,
  base: string,
  text: string,
  flag: string,
): Promise<Record<string, unknown>> {
  if (text.startsWith("{")) {
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch (err) {
      throw new UsageError(`--${flag} ${text}: malformed JSON: ${(err as Error).message}`);
    }
  }
  const at = text.indexOf("=");
  const name = at < 0 ? text : text.slice(0, at);
  const value = at < 0 ? undefined : text.slice(at + 1);
  const needs = (key: string) => {
    if (value === undefined || value === "")
      throw new UsageError(`--${flag} ${name}: needs =${key.toUpperCase()}`);
    return value;
  };
  switch (name) {
    case "certificate":
    case "any_valid_service_token":
    case "everyone":
      if (value !== undefined) throw new UsageError(`--${flag} ${name}: takes no value`);
      return { [name]: {} };
    case "common_name":
      return { common_name: { common_name: needs("common name") } };
    case "ip":
      return { ip: { ip: needs("cidr") } };
    case "service_token": {
      const spec = needs("id");
      const token = await byIdOrName<ServiceToken>(client, `${base}/service_tokens`, spec, "service token");
      return { service_token: { token_id: token.id } };
    }
    case "san.dns":
    case "san.email":
    case "san.uri":
      return { san: { [name.slice(4)]: needs(name.slice(4)) } };
    case "issuer_ski":
      return { issuer_ski: { ski: needs("ski") } };
    case "certificate_fingerprint":
      return { certificate_fingerprint: { sha256: needs("sha256") } };
    case "certificate_serial":
      return { certificate_serial: { serial: needs("serial") } };
    default:
      throw new UsageError(`--${flag}: unknown rule ${JSON.stringify(name)} (${SELECTOR_HELP})`);
  }
}

const selectorText = (rule: Record<string, unknown>) => {
  const [name, value] = Object.entries(rule)[0] ?? ["?", {}];
  const inner = Object.values((value ?? {}) as Record<string, unknown>);
  return inner.length > 0 ? `${name}=${inner.join(",")}` : name;
};

const appFlag = {
  type: "string",
  placeholder: "ID|NAME",
  required: true,
  description: "the application",
} as const;

const policyList = command({
  name: "list",
  summary: "List an application's policies",
  flags: { app: appFlag },
  async run({ flags, out, api }) {
    const client = await api();
    const base = await accessBase(client);
    const app = await byIdOrName<AccessApp>(client, `${base}/apps`, flags.app, "access app");
    const policies = await client.list<AccessPolicy>(`${base}/apps/${app.id}/policies`);
    out.table(
      policies,
      [
        { header: "id", value: (p) => p.id },
        { header: "precedence", value: (p) => p.precedence },
        { header: "name", value: (p) => p.name },
        { header: "decision", value: (p) => p.decision },
        { header: "include", value: (p) => p.include.map(selectorText).join(" or ") },
        { header: "require", value: (p) => p.require.map(selectorText).join(" and ") },
        { header: "exclude", value: (p) => p.exclude.map(selectorText).join(" or ") },
      ],
      `No policies for ${app.name}.`,
    );
  },
});

const policyCreate = command({
  name: "create",
  summary: "Add a policy to an application",
  description:
    "A policy grants (allow; non_identity = Service Auth, for clients that do not log in, such as devices with\n" +
    `a certificate), refuses (deny) or skips Access (bypass) when any --include rule, every --require rule and\n` +
    `no --exclude rule matches. Rules: ${SELECTOR_HELP}.`,
  flags: {
    app: appFlag,
    name: { type: "string", placeholder: "NAME", required: true, description: "the policy's name" },
    decision: {
      type: "string",
      choices: ["allow", "deny", "non_identity", "bypass"],
      required: true,
      description: "what a match means",
    },
    include: {
      type: "string",
      multiple: true,
      required: true,
      placeholder: "RULE",
      description: "any of these",
    },
    require: { type: "string", multiple: true, placeholder: "RULE", description: "all of these too" },
    exclude: { type: "string", multiple: true, placeholder: "RULE", description: "none of these" },
    precedence: {
      type: "integer",
      placeholder: "N",
      description: "order among the app's policies (1 first)",
    },
  },
  examples: [
    "portcullis access policy create --app Auth --name 'Valid certificate' --decision non_identity --include certificate",
    "portcullis access policy create --app Auth --name James --decision non_identity --include 'common_name=James Royal'",
  ],
  async run({ flags, out, api }) {
    const client = await api();
    const base = await accessBase(client);
    const app = await byIdOrName<AccessApp>(client, `${base}/apps`, flags.app, "access app");
    const rules = async (list: string[], flag: string) => {
      const result = [];
      for (const text of list) result.push(await selector(client, base, text, flag));
      return result;
    };
    const policy = await client.post<AccessPolicy>(`${base}/apps/${app.id}/policies`, {
      name: flags.name,
      decision: flags.decision,
      include: await rules(flags.include, "include"),
      require: await rules(flags.require, "require"),
      exclude: await rules(flags.exclude, "exclude"),
      ...(flags.precedence !== undefined ? { precedence: flags.precedence } : {}),
    });
    out.result(policy, () =>
      out.say(
        `Added policy ${policy.name} (${policy.id}) to ${app.name}: ${policy.decision} ${policy.include.map(selectorText).join(" or ")}`,
      ),
    );
  },
});

const policyDelete = command({
  name: "delete",
  summary: "Delete a policy",
  flags: { app: appFlag, yes: yesFlag },
  args: [{ name: "ID|NAME", description: "the policy", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const base = await accessBase(client);
    const app = await byIdOrName<AccessApp>(client, `${base}/apps`, flags.app, "access app");
    const path = `${base}/apps/${app.id}/policies`;
    const found = await byIdOrName<AccessPolicy>(client, path, args["ID|NAME"] as string, "access policy");
    await confirmAndDelete(
      { out },
      client,
      `${path}/${found.id}`,
      `policy ${found.id} (${found.name}) of ${app.name}`,
      flags.yes,
    );
  },
});

// --- service tokens ----------------------------------------------------------------------------------

const tokenList = listCommand<ServiceToken>(
  "List service tokens (never their secrets)",
  "service_tokens",
  [
    { header: "id", value: (t) => t.id },
    { header: "name", value: (t) => t.name },
    { header: "client id", value: (t) => t.client_id },
    { header: "expires", value: (t) => t.expires_at },
  ],
  "No service tokens.",
);

const tokenCreate = command({
  name: "create",
  summary: "Create a service token (its secret is shown once)",
  description:
    "Clients send it as the headers CF-Access-Client-Id and CF-Access-Client-Secret; policies admit it with\n" +
    "the rule service_token=ID|NAME or any_valid_service_token.",
  flags: {
    name: { type: "string", placeholder: "NAME", required: true, description: "the token's name" },
    duration: { type: "string", placeholder: "DURATION", defaultText: "8760h", description: "Go duration" },
  },
  async run({ flags, out, api }) {
    const client = await api();
    const token = await client.post<ServiceToken>(`${await accessBase(client)}/service_tokens`, {
      name: flags.name,
      ...(flags.duration !== undefined ? { duration: flags.duration } : {}),
    });
    out.result(token, () =>
      process.stdout.write(
        formatFields([
          ["Created service token", `${token.name} (${token.id})`],
          ["CF-Access-Client-Id", token.client_id],
          ["CF-Access-Client-Secret", `${token.client_secret} (shown once)`],
          ["Expires at", token.expires_at],
        ]),
      ),
    );
  },
});

const tokenDelete = deleteCommand(
  "Delete a service token",
  "service_tokens",
  "service token",
  "service token",
);

export const accessGroup = group({
  name: "access",
  summary: "Access: mTLS root CAs, applications, policies and service tokens",
  commands: [
    group({
      name: "certificate",
      summary: "mTLS root CAs Access verifies client certificates against",
      commands: [certificateList, certificateCreate, certificateUpdate, certificateDelete],
    }),
    group({ name: "app", summary: "Self-hosted applications", commands: [appList, appCreate, appDelete] }),
    group({
      name: "policy",
      summary: "An application's policies",
      commands: [policyList, policyCreate, policyDelete],
    }),
    group({
      name: "service-token",
      summary: "Service tokens",
      commands: [tokenList, tokenCreate, tokenDelete],
    }),
  ],
});
