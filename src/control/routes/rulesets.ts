/**
 * Custom firewall rules, Cloudflare-shaped: `zones/{zone_id}/rulesets/phases/http_request_firewall_custom/
 * entrypoint` (GET, PUT), `zones/{zone_id}/rulesets` and `…/rulesets/{ruleset_id}` (GET). Every
 * expression is compiled on save: one that does not compile is a 400 naming the rule and the character,
 * and nothing is saved. Plus two native helpers for the CLI and the dashboard: `POST /rules/check`
 * (does it compile) and `POST /rules/test` (does it match this request).
 */
import { isIP } from "node:net";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  expressionProblem,
  type FirewallRuleInput,
  firewallRuleIssues,
  MAX_DESCRIPTION,
  MAX_RESPONSE_CONTENT,
  RESPONSE_CONTENT_TYPES,
  RULE_ACTIONS,
} from "../../config/firewall-rules.ts";
import { hostOf } from "../../edge/decide.ts";
import { NO_CLIENT_AUTH, tlsClientAuthFields } from "../../edge/identity.ts";
import { checkExpression, compileExpression, RULE_LIMITS, type RuleRequest } from "../../rules/index.ts";
import { newId, timestamp } from "../../store/ids.ts";
import {
  FIREWALL_CUSTOM_PHASE,
  type RuleActionParameters,
  type Ruleset,
  type RulesetRule,
  type RulesetSummary,
} from "../../store/rulesets.ts";
import type { Id, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { ApiError, invalid, notFound } from "../errors.ts";
import { body, id, pageProperties, params, query } from "../schemas.ts";

/** Our code for an expression that does not compile (Cloudflare's answer is a filter parsing error too). */
export const INVALID_EXPRESSION_CODE = 20100;
export const MAX_RULES = 1000;

const VERIFICATION_STATUSES = ["SUCCESS", "CERTIFICATE_VERIFICATION_ERROR", "MISSING_CLIENT_CERTIFICATE"];

const expression = { type: "string", minLength: 1, maxLength: RULE_LIMITS.maxLength } as const;

const ruleSchema = body(
  {
    id,
    ref: { type: "string", minLength: 1, maxLength: 64 },
    expression,
    action: { type: "string", enum: RULE_ACTIONS },
    description: { type: "string", maxLength: MAX_DESCRIPTION },
    enabled: { type: "boolean" },
    action_parameters: body({
      response: body(
        {
          status_code: { type: "integer", minimum: 400, maximum: 499 },
          content: { type: "string", maxLength: MAX_RESPONSE_CONTENT },
          content_type: { type: "string", enum: RESPONSE_CONTENT_TYPES },
        },
        ["status_code"],
      ),
      ruleset: { type: "string", enum: ["current"] },
    }),
    // What GET returns, accepted back unchanged so a read-modify-write round trip works; ignored.
    version: { type: "string", maxLength: 20 },
    last_updated: { type: "string", maxLength: 40 },
  },
  ["expression", "action"],
);

const rulesetBodySchema = body(
  {
    name: { type: "string", minLength: 1, maxLength: 100 },
    description: { type: "string", maxLength: MAX_DESCRIPTION },
    kind: { type: "string", enum: ["zone"] },
    phase: { type: "string", enum: [FIREWALL_CUSTOM_PHASE] },
    rules: { type: "array", maxItems: MAX_RULES, items: ruleSchema },
  },
  ["rules"],
);

type RuleBody = FirewallRuleInput & { ref?: string; version?: string; last_updated?: string };
interface RulesetBody {
  name?: string;
  description?: string;
  rules: RuleBody[];
}

type ZoneParams = { Params: { zone_id: Id } };

export async function rulesetRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const tags = ["rulesets"];
  const entrypoint = `/zones/:zone_id/rulesets/phases/${FIREWALL_CUSTOM_PHASE}/entrypoint`;

  app.get<ZoneParams>(entrypoint, { schema: { tags, params: params("zone_id") } }, async (request) => {
    const zone = await requireZone(request, store, request.params.zone_id);
    const ruleset = await store.getRuleset(zone.id, FIREWALL_CUSTOM_PHASE);
    if (!ruleset) throw noEntrypoint(zone);
    return ok(rulesetJson(ruleset));
  });

  app.put<ZoneParams & { Body: RulesetBody }>(
    entrypoint,
    { schema: { tags, params: params("zone_id"), body: rulesetBodySchema } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      checkRules(request.body.rules);
      return save(request, zone, request.body);
    },
  );

  app.get<ZoneParams & { Querystring: PageQuery }>(
    "/zones/:zone_id/rulesets",
    { schema: { tags, params: params("zone_id"), querystring: query(pageProperties) } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return paginate((await store.listRulesets(zone.id)).map(summaryJson), request.query);
    },
  );

  app.get<{ Params: { zone_id: Id; ruleset_id: Id } }>(
    "/zones/:zone_id/rulesets/:ruleset_id",
    { schema: { tags, params: params("zone_id", "ruleset_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const ruleset = await store.getRuleset(zone.id, FIREWALL_CUSTOM_PHASE);
      if (ruleset?.id !== request.params.ruleset_id) {
        throw notFound(`ruleset ${request.params.ruleset_id} not found in zone ${zone.name}`);
      }
      return ok(rulesetJson(ruleset));
    },
  );

  /** Replaces the entrypoint's rules: a rule keeps its version while unchanged; the ruleset's moves. */
  const save = (request: FastifyRequest, zone: Zone, input: RulesetBody) =>
    audited(store, tokenIdOf(request), async (tx) => {
      const before = await tx.getRuleset(zone.id, FIREWALL_CUSTOM_PHASE);
      const now = timestamp();
      const previous = new Map((before?.rules ?? []).map((rule) => [rule.id, rule]));
      const ruleset: Ruleset = {
        id: before?.id ?? newId(),
        zoneId: zone.id,
        phase: FIREWALL_CUSTOM_PHASE,
        name: input.name ?? before?.name ?? "default",
        description: input.description ?? before?.description ?? "",
        version: (before?.version ?? 0) + 1,
        lastUpdated: now,
        rules: input.rules.map((rule) => ruleRecord(rule, previous, now)),
      };
      await tx.putRuleset(ruleset);
      return {
        result: ok(rulesetJson(ruleset)),
        action: before ? "ruleset.update" : "ruleset.create",
        resource: `zones/${zone.id}/rulesets/${ruleset.id}`,
        before: before ? rulesetJson(before) : null,
        after: rulesetJson(ruleset),
      };
    });

  app.post<{ Body: { expression: string } }>(
    "/rules/check",
    {
      schema: {
        tags,
        body: body({ expression: { type: "string", maxLength: 1024 * 1024 } }, ["expression"]),
      },
    },
    async (request) => {
      const checked = checkExpression(request.body.expression);
      return ok(
        checked.ok
          ? { valid: true }
          : { valid: false, error: { message: checked.message, offset: checked.offset } },
      );
    },
  );

  app.post<{ Body: { expression: string; request?: TestRequestBody } }>(
    "/rules/test",
    { schema: { tags, body: body({ expression, request: testRequestSchema }, ["expression"]) } },
    async (request) => {
      const problem = expressionProblem(request.body.expression);
      if (problem !== undefined) throw expressionError(`body.expression: ${problem}`);
      const test = compileExpression(request.body.expression);
      return ok({ matches: test(testRequest(request.body.request ?? {})) });
    },
  );
}

/** Structure is the schema's; this adds the compiled expressions, the parameters' fit and unique ids. */
function checkRules(rules: readonly RuleBody[]): void {
  const seen = new Map<string, number>();
  rules.forEach((rule, index) => {
    const [issue] = firewallRuleIssues(rule);
    if (issue) {
      const field = `body.rules[${index}].${issue.path.join(".")}`;
      if (issue.path[0] === "expression") throw expressionError(`${field}: ${issue.message}`);
      throw invalid(field, issue.message);
    }
    if (rule.id === undefined) return;
    const earlier = seen.get(rule.id);
    if (earlier !== undefined) throw invalid(`body.rules[${index}].id`, `repeats body.rules[${earlier}].id`);
    seen.set(rule.id, index);
  });
}

function expressionError(message: string): ApiError {
  return new ApiError(400, INVALID_EXPRESSION_CODE, message);
}

function ruleRecord(rule: RuleBody, previous: ReadonlyMap<Id, RulesetRule>, now: string): RulesetRule {
  const ruleId = rule.id ?? newId();
  const response = rule.action_parameters?.response;
  const actionParameters: RuleActionParameters | null =
    rule.action === "block" && response
      ? {
          response: {
            statusCode: response.status_code,
            content: response.content ?? "",
            contentType: response.content_type ?? "text/plain",
          },
        }
      : rule.action === "skip"
        ? { ruleset: "current" }
        : null;
  const record: RulesetRule = {
    id: ruleId,
    ref: rule.ref ?? previous.get(ruleId)?.ref ?? ruleId,
    expression: rule.expression,
    action: rule.action,
    description: rule.description ?? "",
    enabled: rule.enabled ?? true,
    actionParameters,
    version: 1,
    lastUpdated: now,
  };
  const old = previous.get(ruleId);
  if (!old) return record;
  const same =
    JSON.stringify({ ...old, version: 0, lastUpdated: "" }) ===
    JSON.stringify({ ...record, version: 0, lastUpdated: "" });
  return same ? old : { ...record, version: old.version + 1 };
}

function noEntrypoint(zone: Zone): ApiError {
  return notFound(`could not find the ${FIREWALL_CUSTOM_PHASE} entrypoint ruleset in zone ${zone.name}`);
}

function summaryJson(ruleset: RulesetSummary) {
  return {
    id: ruleset.id,
    name: ruleset.name,
    description: ruleset.description,
    kind: "zone",
    phase: ruleset.phase,
    version: String(ruleset.version),
    last_updated: ruleset.lastUpdated,
  };
}

/** The ruleset as Cloudflare returns it (versions are strings there). */
export function rulesetJson(ruleset: Ruleset) {
  return {
    ...summaryJson(ruleset),
    rules: ruleset.rules.map((rule) => {
      const response = rule.actionParameters?.response;
      return {
        id: rule.id,
        ref: rule.ref,
        version: String(rule.version),
        action: rule.action,
        expression: rule.expression,
        description: rule.description,
        enabled: rule.enabled,
        last_updated: rule.lastUpdated,
        ...(rule.actionParameters
          ? {
              action_parameters: {
                ...(response
                  ? {
                      response: {
                        status_code: response.statusCode,
                        content: response.content,
                        content_type: response.contentType,
                      },
                    }
                  : {}),
                ...(rule.actionParameters.ruleset ? { ruleset: rule.actionParameters.ruleset } : {}),
              },
            }
          : {}),
      };
    }),
  };
}

// ---------------------------------------------------------------------------------------------------
// POST /rules/test: a request described in JSON, as the edge would see it

/** Every `cf.tls_client_auth.*` field with its value without a certificate: the names and types. */
const NO_CERTIFICATE = tlsClientAuthFields(NO_CLIENT_AUTH);

const testRequestSchema = body({
  host: { type: "string", maxLength: 253 },
  method: { type: "string", minLength: 1, maxLength: 32 },
  uri: { type: "string", maxLength: 16 * 1024 },
  headers: {
    type: "object",
    maxProperties: 200,
    additionalProperties: {
      anyOf: [
        { type: "string", maxLength: 16 * 1024 },
        { type: "array", maxItems: 100, items: { type: "string", maxLength: 16 * 1024 } },
      ],
    },
  },
  ip: { type: "string", maxLength: 45 },
  ssl: { type: "boolean" },
  tls_client_auth: body(
    Object.fromEntries(
      Object.entries(NO_CERTIFICATE).map(([name, value]) => [
        name,
        typeof value === "boolean" ? { type: "boolean" } : { type: "string", maxLength: 32 * 1024 },
      ]),
    ),
  ),
  verification_status: { type: "string", enum: VERIFICATION_STATUSES },
});

interface TestRequestBody {
  host?: string;
  method?: string;
  uri?: string;
  headers?: Record<string, string | string[]>;
  ip?: string;
  ssl?: boolean;
  tls_client_auth?: Record<string, string | boolean>;
  verification_status?: string;
}

/**
 * The RuleRequest for a described request. Defaults: GET / from 127.0.0.1 over TLS with no certificate;
 * a `tls_client_auth` with any value set means a certificate was presented (unless it says otherwise),
 * and the verification status follows from cert_verified and cert_revoked unless given.
 */
export function testRequest(input: TestRequestBody): RuleRequest {
  const ip = input.ip ?? "127.0.0.1";
  if (isIP(ip) === 0) throw invalid("body.request.ip", `${JSON.stringify(ip)} is not an IP address`);
  const given = input.tls_client_auth ?? {};
  const presented =
    given.cert_presented ?? Object.entries(given).some(([, value]) => value !== false && value !== "");
  const fields: Record<string, string | boolean> = { ...NO_CERTIFICATE, ...given, cert_presented: presented };
  const status =
    input.verification_status ??
    (!presented
      ? "MISSING_CLIENT_CERTIFICATE"
      : fields.cert_verified === true && fields.cert_revoked !== true
        ? "SUCCESS"
        : "CERTIFICATE_VERIFICATION_ERROR");
  const uri = input.uri ?? "/";
  const mark = uri.indexOf("?");
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  return {
    host: hostOf(input.host) ?? "",
    method: (input.method ?? "GET").toUpperCase(),
    uri,
    path: mark === -1 ? uri : uri.slice(0, mark),
    query: mark === -1 ? "" : uri.slice(mark + 1),
    headers,
    ip,
    ssl: input.ssl ?? true,
    tlsClientAuth: () => fields,
    verificationStatus: status,
  };
}
