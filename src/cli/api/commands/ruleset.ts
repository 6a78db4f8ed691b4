/**
 * `portcullis ruleset get | put | check | test`: a zone's custom firewall rules (Cloudflare's
 * http_request_firewall_custom entrypoint), from a JSON or YAML file, and expressions checked or tried
 * against a sample request by the API (`/rules/check`, `/rules/test`).
 */
import { UsageError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import { CliError } from "../errors.ts";
import { command, group } from "../framework.ts";
import { zoneFor } from "../resolve.ts";

const PHASE = "http_request_firewall_custom";

interface RuleJson {
  id: string;
  action: string;
  expression: string;
  description: string;
  enabled: boolean;
  version: string;
}

interface RulesetJson {
  id: string;
  name: string;
  version: string;
  last_updated: string;
  rules: RuleJson[];
}

const zoneFlag = { type: "string", placeholder: "ID|NAME", required: true, description: "the zone" } as const;
const entrypoint = (zoneId: string) => `/zones/${zoneId}/rulesets/phases/${PHASE}/entrypoint`;

function printRules(ruleset: RulesetJson): void {
  process.stdout.write(`Ruleset ${ruleset.id} (version ${ruleset.version}, ${ruleset.rules.length} rules)\n`);
  ruleset.rules.forEach((rule, index) => {
    const state = rule.enabled ? rule.action : `${rule.action}, disabled`;
    const description = rule.description ? ` ${rule.description}` : "";
    process.stdout.write(`${index + 1}. [${state}]${description} (${rule.id})\n   ${rule.expression}\n`);
  });
}

const get = command({
  name: "get",
  summary: "Show the zone's custom firewall rules",
  flags: { zone: zoneFlag },
  async run({ flags, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const ruleset = await client.get<RulesetJson>(entrypoint(zone.id));
    out.result(ruleset, () => printRules(ruleset));
  },
});

/** The rules file: `{rules: [...], name?, description?}` or a bare list of rules, JSON or YAML. */
export async function readRulesFile(path: string): Promise<{ rules: unknown[] }> {
  const text = (await readInput(path, "rules file")).toString("utf8");
  const where = path === "-" ? "stdin" : path;
  let doc: unknown;
  try {
    const { parse } = await import("yaml"); // YAML 1.2 is a superset of JSON
    doc = parse(text);
  } catch (err) {
    throw new CliError(
      `${where}: not JSON or YAML: ${(err as Error).message.split("\n")[0]?.replace(/:$/, "")}`,
    );
  }
  if (Array.isArray(doc)) return { rules: doc };
  if (typeof doc === "object" && doc !== null && Array.isArray((doc as { rules?: unknown }).rules)) {
    return doc as { rules: unknown[] };
  }
  throw new CliError(`${where}: expected {"rules": [...]} or a list of rules`);
}

const put = command({
  name: "put",
  summary: "Replace the zone's custom firewall rules with those of a JSON or YAML file",
  description:
    "Reads {rules: [...], name?, description?} (or just the list) from FILE (`-` for stdin), JSON or YAML,\n" +
    "and replaces every rule of the zone's entrypoint ruleset. A rule: {expression, action: block|log|skip,\n" +
    "description?, enabled?, action_parameters?}. Every expression is compiled first: one that does not\n" +
    "compile is refused with the rule and the position, and nothing is saved. The edge applies it within a second.",
  flags: { zone: zoneFlag },
  args: [{ name: "FILE", description: "the rules (JSON or YAML); - reads stdin", required: true }],
  examples: [
    "portcullis ruleset put --zone example.test rules.yaml",
    "portcullis ruleset get --zone example.test --json > rules.json   # edit, then put it back",
  ],
  async run({ flags, args, out, api }) {
    const body = await readRulesFile(args.FILE as string);
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    // What `get --json` printed goes back unchanged: the ruleset's own read-only fields are left out.
    const {
      id: _id,
      version: _version,
      last_updated: _updated,
      kind: _kind,
      phase: _phase,
      ...rest
    } = body as Record<string, unknown>;
    const ruleset = await client.put<RulesetJson>(entrypoint(zone.id), rest);
    out.result(ruleset, () =>
      out.say(
        `Saved the custom rules of zone ${zone.name}: version ${ruleset.version}, ${ruleset.rules.length} rules`,
      ),
    );
  },
});

const check = command({
  name: "check",
  summary: "Check that an expression compiles (the position of the first problem if not)",
  args: [{ name: "EXPRESSION", description: "a rule expression", required: true }],
  examples: [
    `portcullis ruleset check 'not cf.tls_client_auth.cert_verified and http.request.uri.path in {"/admin"}'`,
  ],
  async run({ args, out, api }) {
    const expression = args.EXPRESSION as string;
    const result = await (await api()).post<{ valid: boolean; error?: { message: string; offset: number } }>(
      "/rules/check",
      { expression },
    );
    out.result(result, () => {
      if (result.valid) out.say("valid");
    });
    if (!result.valid && result.error) {
      if (!out.json) {
        const line = expression.replace(/\s/g, " ");
        process.stderr.write(`  ${line}\n  ${" ".repeat(Math.min(result.error.offset, line.length))}^\n`);
      }
      throw new CliError(`invalid expression at character ${result.error.offset}: ${result.error.message}`);
    }
  },
});

/** `name=value` → [name, value]. */
function pair(text: string, flag: string, separator = "="): [string, string] {
  const at = text.indexOf(separator);
  if (at <= 0) throw new UsageError(`--${flag}: expected NAME${separator}VALUE, got ${JSON.stringify(text)}`);
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}

const test = command({
  name: "test",
  summary: "Does an expression match a sample request? (evaluated by the API, as the edge would)",
  description:
    "Builds a request from the flags (default: GET / over TLS from 127.0.0.1, no client certificate) and\n" +
    "evaluates the expression on it. --tls sets cf.tls_client_auth.* fields (cert_verified=true,\n" +
    "cert_subject_dn=CN=x, ...): any of them means a certificate was presented. Prints `match` or `no match`;\n" +
    "exit 0 either way (use --json for {matches}).",
  flags: {
    host: { type: "string", placeholder: "HOST", description: "http.host" },
    method: { type: "string", placeholder: "METHOD", description: "http.request.method (default GET)" },
    uri: { type: "string", placeholder: "PATH?QUERY", description: "http.request.uri (default /)" },
    header: { type: "string", multiple: true, placeholder: "NAME:VALUE", description: "a request header" },
    ip: { type: "string", placeholder: "IP", description: "ip.src (default 127.0.0.1)" },
    "no-ssl": { type: "boolean", description: "plain HTTP (ssl false)" },
    tls: {
      type: "string",
      multiple: true,
      placeholder: "FIELD=VALUE",
      description: "a cf.tls_client_auth field (true/false for the boolean ones)",
    },
    "verification-status": {
      type: "string",
      choices: ["SUCCESS", "CERTIFICATE_VERIFICATION_ERROR", "MISSING_CLIENT_CERTIFICATE"],
      description: "mtls.verification_status (default: follows from --tls)",
    },
  },
  args: [{ name: "EXPRESSION", description: "a rule expression", required: true }],
  examples: [
    `portcullis ruleset test 'http.host eq "api.example.test" and not cf.tls_client_auth.cert_verified' --host api.example.test`,
    "portcullis ruleset test 'cf.tls_client_auth.cert_verified' --tls cert_verified=true --tls 'cert_subject_dn=CN=device-1'",
  ],
  async run({ flags, args, out, api }) {
    const headers: Record<string, string[]> = {};
    for (const text of flags.header) {
      const [name, value] = pair(text, "header", ":");
      headers[name] = [...(headers[name] ?? []), value];
    }
    const tls: Record<string, string | boolean> = {};
    for (const text of flags.tls) {
      const [name, value] = pair(text, "tls");
      const field = name.replace(/^cf\.tls_client_auth\./, "");
      tls[field] = value === "true" ? true : value === "false" ? false : value;
    }
    const request = {
      ...(flags.host !== undefined ? { host: flags.host } : {}),
      ...(flags.method !== undefined ? { method: flags.method } : {}),
      ...(flags.uri !== undefined ? { uri: flags.uri } : {}),
      ...(Object.keys(headers).length > 0
        ? {
            headers: Object.fromEntries(
              Object.entries(headers).map(([k, v]) => [k, v.length === 1 ? v[0] : v]),
            ),
          }
        : {}),
      ...(flags.ip !== undefined ? { ip: flags.ip } : {}),
      ...(flags["no-ssl"] ? { ssl: false } : {}),
      ...(Object.keys(tls).length > 0 ? { tls_client_auth: tls } : {}),
      ...(flags["verification-status"] !== undefined
        ? { verification_status: flags["verification-status"] }
        : {}),
    };
    const result = await (await api()).post<{ matches: boolean }>("/rules/test", {
      expression: args.EXPRESSION,
      request,
    });
    out.result(result, () => out.say(result.matches ? "match" : "no match"));
  },
});

export const rulesetGroup = group({
  name: "ruleset",
  summary: "Custom firewall rules per zone (Cloudflare's expression language): get, put, check, test",
  commands: [get, put, check, test],
});
