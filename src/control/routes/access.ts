/**
 * Cloudflare Access, under `/accounts/{account_id}/access/`: mTLS root CAs (`certificates`, and their
 * per-hostname `certificates/settings`), applications (`apps`), their policies (`apps/{id}/policies`) and
 * service tokens (`service_tokens`, the secret shown once, in the create answer). Every write is audited.
 * Also runs the signing-key schedule (src/access/keys.ts) while the API is up.
 */
import { createHash, randomBytes } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import {
  DEFAULT_ROTATION_DAYS,
  ensureSigningKey,
  keyStatus,
  newSigningKey,
  rotateAccessKeys,
} from "../../access/keys.ts";
import {
  DECISIONS,
  type Decision,
  normalizeSelectors,
  SELECTOR_SCHEMA,
  type Selector,
  SelectorError,
  tokensNamed,
} from "../../access/policy.ts";
import { DEFAULT_SESSION_DURATION, sessionDurationProblem } from "../../access/session.ts";
import { hostname as hostnameValue, pathPrefix } from "../../config/values.ts";
import { parseGoDuration } from "../../pki/duration.ts";
import type { AccessApp, AccessCertificate, AccessPolicy, AccessServiceToken } from "../../store/access.ts";
import { newId, timestamp } from "../../store/ids.ts";
import type { Account, Id, StoreReader } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAccount, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok, type PageQuery, paginate } from "../envelope.ts";
import { conflict, inUse, invalid, notFound } from "../errors.ts";
import { inZone } from "../hostname-body.ts";
import { checkUpload } from "../pem.ts";
import { body, pageProperties, params, query } from "../schemas.ts";

const MAX_PEM = 256 * 1024;
const hostnameList = {
  type: "array",
  maxItems: 1000,
  items: { type: "string", minLength: 1, maxLength: 255 },
} as const;
const selectorList = { type: "array", maxItems: 1000, items: SELECTOR_SCHEMA } as const;
const goDuration = { type: "string", minLength: 1, maxLength: 32, description: 'Go duration, e.g. "24h"' };
/** Cloudflare's default service token lifetime: one year. */
const DEFAULT_TOKEN_DURATION = "8760h";
const MAX_TOKEN_MS = 10 * 8760 * 3_600_000;
const KEY_CHECK_MS = 3_600_000;

interface CertificateBody {
  name: string;
  certificate: string;
  associated_hostnames?: string[];
}
interface AppBody {
  domain: string;
  name?: string;
  type?: "self_hosted";
  session_duration?: string;
}
interface PolicyBody {
  name: string;
  decision: Decision;
  include: Selector[];
  exclude?: Selector[];
  require?: Selector[];
  precedence?: number;
}
interface TokenBody {
  name: string;
  duration?: string;
}
interface SettingsBody {
  settings: { hostname: string; china_network: boolean; client_certificate_forwarding: boolean }[];
}

// ---------------------------------------------------------------------------------------------------
// JSON

export function accessCertificateJson(c: AccessCertificate) {
  return {
    id: c.id,
    name: c.name,
    fingerprint: c.fingerprint,
    associated_hostnames: c.associatedHostnames,
    expires_on: c.expiresOn,
    created_at: c.createdAt,
    updated_at: c.updatedAt,
  };
}

export function accessAppJson(app: AccessApp, policies?: readonly AccessPolicy[]) {
  return {
    id: app.id,
    uid: app.id,
    aud: app.aud,
    name: app.name,
    domain: app.domain,
    type: app.type,
    session_duration: app.sessionDuration,
    created_at: app.createdAt,
    updated_at: app.updatedAt,
    ...(policies ? { policies: policies.map(accessPolicyJson) } : {}),
  };
}

export function accessPolicyJson(policy: AccessPolicy) {
  return {
    id: policy.id,
    name: policy.name,
    decision: policy.decision,
    include: policy.include,
    exclude: policy.exclude,
    require: policy.require,
    precedence: policy.precedence,
    created_at: policy.createdAt,
    updated_at: policy.updatedAt,
  };
}

export function serviceTokenJson(token: AccessServiceToken) {
  return {
    id: token.id,
    name: token.name,
    client_id: token.clientId,
    duration: token.duration,
    expires_at: token.expiresAt,
    created_at: token.createdAt,
    updated_at: token.updatedAt,
  };
}

// ---------------------------------------------------------------------------------------------------
// Checks

/** A host name in one of the account's zones, lower-cased; a 400 naming `field` otherwise. */
async function accountHostname(
  reader: StoreReader,
  account: Account,
  input: string,
  field: string,
): Promise<string> {
  const parsed = hostnameValue.safeParse(input);
  if (!parsed.success) throw invalid(field, parsed.error.issues[0]?.message ?? "is not a host name");
  const zones = await reader.listZones({ accountId: account.id });
  if (!zones.some((zone) => inZone(parsed.data, zone))) {
    throw invalid(field, `${JSON.stringify(parsed.data)} is not in a zone of this account`);
  }
  return parsed.data;
}

/** `host` or `host/path`: the host in one of the account's zones, the path a clean prefix (a trailing `*` allowed). */
async function appDomain(reader: StoreReader, account: Account, input: string): Promise<string> {
  const slash = input.indexOf("/");
  const host = await accountHostname(
    reader,
    account,
    slash === -1 ? input : input.slice(0, slash),
    "body.domain",
  );
  if (slash === -1) return host;
  const path = input.slice(slash);
  const bare = path.endsWith("/*") ? path.slice(0, -1) : path;
  if (!pathPrefix.safeParse(bare).success || bare.includes("*") || bare.includes("%")) {
    throw invalid(
      "body.domain",
      `the path ${JSON.stringify(path)} must start with "/" and have no spaces, "?", "#", "%" or "*" (but a final "/*")`,
    );
  }
  return `${host}${path === "/" ? "" : path}`;
}

function uniqueHostnames(list: readonly string[], field: string): void {
  list.forEach((name, index) => {
    const earlier = list.indexOf(name);
    if (earlier < index)
      throw invalid(`${field}[${index}]`, `${JSON.stringify(name)} is already at ${field}[${earlier}]`);
  });
}

function durationMs(text: string, field: string, max: number): number {
  let ms: number;
  try {
    ms = parseGoDuration(text, field);
  } catch {
    throw invalid(field, `${JSON.stringify(text)} is not a Go duration (e.g. "8760h", "30m")`);
  }
  if (ms <= 0 || ms > max) throw invalid(field, `must be more than 0 and at most ${max / 3_600_000}h`);
  return ms;
}

async function policyRules(reader: StoreReader, accountId: Id, input: PolicyBody) {
  const tokens = new Set((await reader.access.listServiceTokens(accountId)).map((token) => token.id));
  try {
    const rules = {
      include: normalizeSelectors(input.include, "body.include", tokens),
      exclude: normalizeSelectors(input.exclude ?? [], "body.exclude", tokens),
      require: normalizeSelectors(input.require ?? [], "body.require", tokens),
    };
    if (rules.include.length === 0) throw new SelectorError("body.include", "needs at least one rule");
    return rules;
  } catch (error) {
    if (error instanceof SelectorError) throw invalid(error.field, error.message);
    throw error;
  }
}

function rotationDays(): number {
  const text = process.env.PORTCULLIS_ACCESS_KEY_ROTATION_DAYS;
  const days = text === undefined || text === "" ? DEFAULT_ROTATION_DAYS : Number(text);
  return Number.isFinite(days) && days > 0 ? days : DEFAULT_ROTATION_DAYS;
}

// ---------------------------------------------------------------------------------------------------
// Routes

export async function accessRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const base = "/accounts/:account_id/access";
  const tags = ["access"];
  const account = (request: FastifyRequest<{ Params: { account_id: Id } }>) =>
    requireAccount(request, store, request.params.account_id);

  // The signing-key schedule: at start, then hourly. Several API processes may run it; the store's
  // transactions make the check-and-create safe.
  const rotate = () =>
    rotateAccessKeys(store, { rotationDays: rotationDays() }).catch((error: Error) => {
      app.log.warn({ event: "access_key_rotation_failed", err: error.message }, "Access key rotation failed");
    });
  const timer = setInterval(rotate, KEY_CHECK_MS);
  timer.unref();
  app.addHook("onReady", async () => {
    void rotate();
  });
  app.addHook("onClose", async () => clearInterval(timer));

  // --- signing keys (Cloudflare's /access/keys) ---------------------------------------------------

  app.get<{ Params: { account_id: Id } }>(
    `${base}/keys`,
    { schema: { tags, params: params("account_id") } },
    async (request) => {
      const acct = await account(request);
      return ok(await keyStatus(store, acct.id, rotationDays()));
    },
  );

  app.put<{ Params: { account_id: Id }; Body: { key_rotation_interval_days: number } }>(
    `${base}/keys`,
    {
      schema: {
        tags,
        params: params("account_id"),
        body: body({ key_rotation_interval_days: { type: "integer", minimum: 21, maximum: 365 } }, [
          "key_rotation_interval_days",
        ]),
      },
    },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = await keyStatus(tx, acct.id, rotationDays());
        await tx.access.setKeyRotationDays(acct.id, request.body.key_rotation_interval_days);
        const after = await keyStatus(tx, acct.id, rotationDays());
        return {
          result: ok(after),
          action: "access_keys.update",
          resource: `accounts/${acct.id}/access/keys`,
          before,
          after,
        };
      });
    },
  );

  app.post<{ Params: { account_id: Id } }>(
    `${base}/keys/rotate`,
    { schema: { tags, params: params("account_id") } },
    async (request) => {
      const acct = await account(request);
      const fresh = await newSigningKey(acct.id);
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = (await tx.access.listKeys(acct.id)).map((key) => key.kid);
        await tx.access.insertKey(fresh.key, fresh.privateKeyPem);
        return {
          result: ok(await keyStatus(tx, acct.id, rotationDays())),
          action: "access_keys.rotate",
          resource: `accounts/${acct.id}/access/keys`,
          before: { kids: before },
          after: { kids: [fresh.key.kid, ...before] },
        };
      });
    },
  );

  // --- certificates --------------------------------------------------------------------------------

  const loadCertificate = async (reader: StoreReader, accountId: Id, id: Id) => {
    const certificate = await reader.access.getCertificate(id);
    if (!certificate || certificate.accountId !== accountId)
      throw notFound(`access certificate ${id} not found`);
    return certificate;
  };

  /** Hostnames checked, and not associated with another of the account's Access CAs. */
  const certificateHostnames = async (
    reader: StoreReader,
    acct: Account,
    input: string[],
    self: Id | null,
  ) => {
    const names: string[] = [];
    for (const [index, name] of input.entries()) {
      names.push(await accountHostname(reader, acct, name, `body.associated_hostnames[${index}]`));
    }
    uniqueHostnames(names, "body.associated_hostnames");
    for (const other of await reader.access.listCertificates(acct.id)) {
      if (other.id === self) continue;
      const taken = names.find((name) => other.associatedHostnames.includes(name));
      if (taken)
        throw conflict(`${taken} is already associated with Access certificate ${other.id} (${other.name})`);
    }
    return names;
  };

  app.post<{ Params: { account_id: Id }; Body: CertificateBody }>(
    `${base}/certificates`,
    {
      schema: {
        tags,
        params: params("account_id"),
        body: body(
          {
            name: { type: "string", minLength: 1, maxLength: 200 },
            certificate: { type: "string", minLength: 1, maxLength: MAX_PEM, description: "PEM, CA:TRUE" },
            associated_hostnames: hostnameList,
          },
          ["name", "certificate"],
        ),
      },
    },
    async (request) => {
      const acct = await account(request);
      const input = request.body;
      const checked = checkUpload({ certificates: input.certificate, ca: true });
      const first =
        checked.certificates.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/)?.[0] ?? "";
      const der = Buffer.from(first.replace(/-----[A-Z ]+-----|\s/g, ""), "base64");
      const now = timestamp();
      return audited(store, tokenIdOf(request), async (tx) => {
        const certificate: AccessCertificate = {
          id: newId(),
          accountId: acct.id,
          name: input.name,
          certificate: checked.certificates,
          fingerprint: createHash("sha256").update(der).digest("hex"),
          associatedHostnames: await certificateHostnames(tx, acct, input.associated_hostnames ?? [], null),
          expiresOn: checked.expiresOn,
          createdAt: now,
          updatedAt: now,
        };
        await tx.access.insertCertificate(certificate);
        const json = accessCertificateJson(certificate);
        return {
          result: ok(json),
          action: "access_certificate.create",
          resource: `accounts/${acct.id}/access/certificates/${certificate.id}`,
          before: null,
          after: json,
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: PageQuery }>(
    `${base}/certificates`,
    { schema: { tags, params: params("account_id"), querystring: query(pageProperties) } },
    async (request) => {
      const acct = await account(request);
      const list = await store.access.listCertificates(acct.id);
      return paginate(list.map(accessCertificateJson), request.query);
    },
  );

  app.get<{ Params: { account_id: Id } }>(
    `${base}/certificates/settings`,
    { schema: { tags, params: params("account_id") } },
    async (request) => {
      const acct = await account(request);
      return ok((await store.access.listCertificateSettings(acct.id)).map(settingJson));
    },
  );

  app.put<{ Params: { account_id: Id }; Body: SettingsBody }>(
    `${base}/certificates/settings`,
    {
      schema: {
        tags,
        params: params("account_id"),
        body: body(
          {
            settings: {
              type: "array",
              maxItems: 1000,
              items: body(
                {
                  hostname: { type: "string", minLength: 1, maxLength: 255 },
                  china_network: { type: "boolean" },
                  client_certificate_forwarding: { type: "boolean" },
                },
                ["hostname", "china_network", "client_certificate_forwarding"],
              ),
            },
          },
          ["settings"],
        ),
      },
    },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const settings = [];
        for (const [index, setting] of request.body.settings.entries()) {
          settings.push({
            hostname: await accountHostname(tx, acct, setting.hostname, `body.settings[${index}].hostname`),
            chinaNetwork: setting.china_network,
            clientCertificateForwarding: setting.client_certificate_forwarding,
          });
        }
        uniqueHostnames(
          settings.map((s) => s.hostname),
          "body.settings",
        );
        const before = (await tx.access.listCertificateSettings(acct.id)).map(settingJson);
        await tx.access.replaceCertificateSettings(acct.id, settings);
        const after = settings.map(settingJson);
        return {
          result: ok(after),
          action: "access_certificate_settings.replace",
          resource: `accounts/${acct.id}/access/certificates/settings`,
          before,
          after,
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id; certificate_id: Id } }>(
    `${base}/certificates/:certificate_id`,
    { schema: { tags, params: params("account_id", "certificate_id") } },
    async (request) => {
      const acct = await account(request);
      return ok(accessCertificateJson(await loadCertificate(store, acct.id, request.params.certificate_id)));
    },
  );

  app.put<{
    Params: { account_id: Id; certificate_id: Id };
    Body: { name?: string; associated_hostnames: string[] };
  }>(
    `${base}/certificates/:certificate_id`,
    {
      schema: {
        tags,
        params: params("account_id", "certificate_id"),
        body: body(
          { name: { type: "string", minLength: 1, maxLength: 200 }, associated_hostnames: hostnameList },
          ["associated_hostnames"],
        ),
      },
    },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = await loadCertificate(tx, acct.id, request.params.certificate_id);
        const after: AccessCertificate = {
          ...before,
          name: request.body.name ?? before.name,
          associatedHostnames: await certificateHostnames(
            tx,
            acct,
            request.body.associated_hostnames,
            before.id,
          ),
          updatedAt: timestamp(),
        };
        await tx.access.updateCertificate(after);
        return {
          result: ok(accessCertificateJson(after)),
          action: "access_certificate.update",
          resource: `accounts/${acct.id}/access/certificates/${before.id}`,
          before: accessCertificateJson(before),
          after: accessCertificateJson(after),
        };
      });
    },
  );

  app.delete<{ Params: { account_id: Id; certificate_id: Id } }>(
    `${base}/certificates/:certificate_id`,
    { schema: { tags, params: params("account_id", "certificate_id") } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const certificate = await loadCertificate(tx, acct.id, request.params.certificate_id);
        // Cloudflare refuses while hostnames are associated: clear them first (PUT with []).
        if (certificate.associatedHostnames.length > 0) {
          throw inUse(
            `access certificate ${certificate.id} is associated with ${certificate.associatedHostnames.join(", ")}; set associated_hostnames to [] first`,
          );
        }
        await tx.access.deleteCertificate(certificate.id);
        return {
          result: ok({ id: certificate.id }),
          action: "access_certificate.delete",
          resource: `accounts/${acct.id}/access/certificates/${certificate.id}`,
          before: accessCertificateJson(certificate),
          after: null,
        };
      });
    },
  );

  // --- apps ----------------------------------------------------------------------------------------

  const loadApp = async (reader: StoreReader, accountId: Id, id: Id) => {
    const found = await reader.access.getApp(id);
    if (!found || found.accountId !== accountId) throw notFound(`access app ${id} not found`);
    return found;
  };

  const appSchema = body(
    {
      domain: { type: "string", minLength: 1, maxLength: 2048, description: "host, or host/path" },
      name: { type: "string", minLength: 1, maxLength: 200 },
      type: { type: "string", enum: ["self_hosted"] },
      session_duration: goDuration,
    },
    ["domain"],
  );

  const appFromBody = async (reader: StoreReader, acct: Account, input: AppBody, existing?: AccessApp) => {
    const sessionDuration = input.session_duration ?? existing?.sessionDuration ?? DEFAULT_SESSION_DURATION;
    const problem = sessionDurationProblem(sessionDuration);
    if (problem) throw invalid("body.session_duration", problem);
    const domain = await appDomain(reader, acct, input.domain);
    const now = timestamp();
    return {
      id: existing?.id ?? newId(),
      accountId: acct.id,
      name: input.name ?? existing?.name ?? domain,
      domain,
      type: "self_hosted",
      sessionDuration,
      aud: existing?.aud ?? randomBytes(32).toString("hex"),
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    } satisfies AccessApp;
  };

  app.post<{ Params: { account_id: Id }; Body: AppBody }>(
    `${base}/apps`,
    { schema: { tags, params: params("account_id"), body: appSchema } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const created = await appFromBody(tx, acct, request.body);
        await tx.access.putApp(created);
        // The account's first application gets its signing key now, not at the next schedule run.
        await ensureSigningKey(tx, acct.id, { rotationDays: rotationDays() });
        const json = accessAppJson(created, []);
        return {
          result: ok(json),
          action: "access_app.create",
          resource: `accounts/${acct.id}/access/apps/${created.id}`,
          before: null,
          after: json,
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: PageQuery }>(
    `${base}/apps`,
    { schema: { tags, params: params("account_id"), querystring: query(pageProperties) } },
    async (request) => {
      const acct = await account(request);
      const policies = await store.access.listPolicies({ accountId: acct.id });
      const apps = await store.access.listApps(acct.id);
      return paginate(
        apps.map((a) =>
          accessAppJson(
            a,
            policies.filter((p) => p.appId === a.id),
          ),
        ),
        request.query,
      );
    },
  );

  app.get<{ Params: { account_id: Id; app_id: Id } }>(
    `${base}/apps/:app_id`,
    { schema: { tags, params: params("account_id", "app_id") } },
    async (request) => {
      const acct = await account(request);
      const found = await loadApp(store, acct.id, request.params.app_id);
      return ok(accessAppJson(found, await store.access.listPolicies({ appId: found.id })));
    },
  );

  app.put<{ Params: { account_id: Id; app_id: Id }; Body: AppBody }>(
    `${base}/apps/:app_id`,
    { schema: { tags, params: params("account_id", "app_id"), body: appSchema } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = await loadApp(tx, acct.id, request.params.app_id);
        const after = await appFromBody(tx, acct, request.body, before);
        await tx.access.putApp(after);
        const policies = await tx.access.listPolicies({ appId: after.id });
        return {
          result: ok(accessAppJson(after, policies)),
          action: "access_app.update",
          resource: `accounts/${acct.id}/access/apps/${after.id}`,
          before: accessAppJson(before),
          after: accessAppJson(after),
        };
      });
    },
  );

  app.delete<{ Params: { account_id: Id; app_id: Id } }>(
    `${base}/apps/:app_id`,
    { schema: { tags, params: params("account_id", "app_id") } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const found = await loadApp(tx, acct.id, request.params.app_id);
        const policies = await tx.access.listPolicies({ appId: found.id });
        await tx.access.deleteApp(found.id);
        return {
          result: ok({ id: found.id }),
          action: "access_app.delete",
          resource: `accounts/${acct.id}/access/apps/${found.id}`,
          before: accessAppJson(found, policies),
          after: null,
        };
      });
    },
  );

  // --- policies ------------------------------------------------------------------------------------

  const policySchema = body(
    {
      name: { type: "string", minLength: 1, maxLength: 200 },
      decision: { type: "string", enum: DECISIONS },
      include: selectorList,
      exclude: selectorList,
      require: selectorList,
      precedence: { type: "integer", minimum: 1, maximum: 1_000_000 },
    },
    ["name", "decision", "include"],
  );

  const loadPolicy = async (reader: StoreReader, appId: Id, id: Id) => {
    const found = await reader.access.getPolicy(id);
    if (!found || found.appId !== appId) throw notFound(`access policy ${id} not found`);
    return found;
  };

  app.post<{ Params: { account_id: Id; app_id: Id }; Body: PolicyBody }>(
    `${base}/apps/:app_id/policies`,
    { schema: { tags, params: params("account_id", "app_id"), body: policySchema } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const parent = await loadApp(tx, acct.id, request.params.app_id);
        const rules = await policyRules(tx, acct.id, request.body);
        const existing = await tx.access.listPolicies({ appId: parent.id });
        const now = timestamp();
        const policy: AccessPolicy = {
          id: newId(),
          appId: parent.id,
          name: request.body.name,
          decision: request.body.decision,
          ...rules,
          precedence: request.body.precedence ?? Math.max(0, ...existing.map((p) => p.precedence)) + 1,
          createdAt: now,
          updatedAt: now,
        };
        await tx.access.putPolicy(policy);
        const json = accessPolicyJson(policy);
        return {
          result: ok(json),
          action: "access_policy.create",
          resource: `accounts/${acct.id}/access/apps/${parent.id}/policies/${policy.id}`,
          before: null,
          after: json,
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id; app_id: Id }; Querystring: PageQuery }>(
    `${base}/apps/:app_id/policies`,
    { schema: { tags, params: params("account_id", "app_id"), querystring: query(pageProperties) } },
    async (request) => {
      const acct = await account(request);
      const parent = await loadApp(store, acct.id, request.params.app_id);
      const list = await store.access.listPolicies({ appId: parent.id });
      return paginate(list.map(accessPolicyJson), request.query);
    },
  );

  app.get<{ Params: { account_id: Id; app_id: Id; policy_id: Id } }>(
    `${base}/apps/:app_id/policies/:policy_id`,
    { schema: { tags, params: params("account_id", "app_id", "policy_id") } },
    async (request) => {
      const acct = await account(request);
      const parent = await loadApp(store, acct.id, request.params.app_id);
      return ok(accessPolicyJson(await loadPolicy(store, parent.id, request.params.policy_id)));
    },
  );

  app.put<{ Params: { account_id: Id; app_id: Id; policy_id: Id }; Body: PolicyBody }>(
    `${base}/apps/:app_id/policies/:policy_id`,
    { schema: { tags, params: params("account_id", "app_id", "policy_id"), body: policySchema } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const parent = await loadApp(tx, acct.id, request.params.app_id);
        const before = await loadPolicy(tx, parent.id, request.params.policy_id);
        const after: AccessPolicy = {
          ...before,
          name: request.body.name,
          decision: request.body.decision,
          ...(await policyRules(tx, acct.id, request.body)),
          precedence: request.body.precedence ?? before.precedence,
          updatedAt: timestamp(),
        };
        await tx.access.putPolicy(after);
        return {
          result: ok(accessPolicyJson(after)),
          action: "access_policy.update",
          resource: `accounts/${acct.id}/access/apps/${parent.id}/policies/${after.id}`,
          before: accessPolicyJson(before),
          after: accessPolicyJson(after),
        };
      });
    },
  );

  app.delete<{ Params: { account_id: Id; app_id: Id; policy_id: Id } }>(
    `${base}/apps/:app_id/policies/:policy_id`,
    { schema: { tags, params: params("account_id", "app_id", "policy_id") } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const parent = await loadApp(tx, acct.id, request.params.app_id);
        const policy = await loadPolicy(tx, parent.id, request.params.policy_id);
        await tx.access.deletePolicy(policy.id);
        return {
          result: ok({ id: policy.id }),
          action: "access_policy.delete",
          resource: `accounts/${acct.id}/access/apps/${parent.id}/policies/${policy.id}`,
          before: accessPolicyJson(policy),
          after: null,
        };
      });
    },
  );

  // --- service tokens ------------------------------------------------------------------------------

  const loadToken = async (reader: StoreReader, accountId: Id, id: Id) => {
    const found = await reader.access.getServiceToken(id);
    if (!found || found.accountId !== accountId) throw notFound(`service token ${id} not found`);
    return found;
  };
  const tokenSchema = (required: string[]) =>
    body({ name: { type: "string", minLength: 1, maxLength: 200 }, duration: goDuration }, required);

  app.post<{ Params: { account_id: Id }; Body: TokenBody }>(
    `${base}/service_tokens`,
    { schema: { tags, params: params("account_id"), body: tokenSchema(["name"]) } },
    async (request) => {
      const acct = await account(request);
      const duration = request.body.duration ?? DEFAULT_TOKEN_DURATION;
      const ms = durationMs(duration, "body.duration", MAX_TOKEN_MS);
      const created = new Date();
      const token: AccessServiceToken = {
        id: newId(),
        accountId: acct.id,
        name: request.body.name,
        clientId: `${randomBytes(16).toString("hex")}.access`,
        duration,
        expiresAt: timestamp(new Date(created.getTime() + ms)),
        createdAt: timestamp(created),
        updatedAt: timestamp(created),
      };
      // 32 random bytes: a fast hash is enough at rest (nothing to guess), and the edge checks it per request.
      const secret = randomBytes(32).toString("hex");
      return audited(store, tokenIdOf(request), async (tx) => {
        await tx.access.insertServiceToken(token, createHash("sha256").update(secret, "utf8").digest("hex"));
        const json = serviceTokenJson(token);
        return {
          result: ok({ ...json, client_secret: secret }),
          action: "access_service_token.create",
          resource: `accounts/${acct.id}/access/service_tokens/${token.id}`,
          before: null,
          after: json,
        };
      });
    },
  );

  app.get<{ Params: { account_id: Id }; Querystring: PageQuery }>(
    `${base}/service_tokens`,
    { schema: { tags, params: params("account_id"), querystring: query(pageProperties) } },
    async (request) => {
      const acct = await account(request);
      return paginate((await store.access.listServiceTokens(acct.id)).map(serviceTokenJson), request.query);
    },
  );

  app.get<{ Params: { account_id: Id; token_id: Id } }>(
    `${base}/service_tokens/:token_id`,
    { schema: { tags, params: params("account_id", "token_id") } },
    async (request) => {
      const acct = await account(request);
      return ok(serviceTokenJson(await loadToken(store, acct.id, request.params.token_id)));
    },
  );

  app.put<{ Params: { account_id: Id; token_id: Id }; Body: Partial<TokenBody> }>(
    `${base}/service_tokens/:token_id`,
    { schema: { tags, params: params("account_id", "token_id"), body: tokenSchema([]) } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const before = await loadToken(tx, acct.id, request.params.token_id);
        const duration = request.body.duration ?? before.duration;
        const now = new Date();
        const after: AccessServiceToken = {
          ...before,
          name: request.body.name ?? before.name,
          duration,
          // A new duration runs from now (as Cloudflare's rotation of the expiry does).
          expiresAt:
            request.body.duration === undefined
              ? before.expiresAt
              : timestamp(new Date(now.getTime() + durationMs(duration, "body.duration", MAX_TOKEN_MS))),
          updatedAt: timestamp(now),
        };
        await tx.access.updateServiceToken(after);
        return {
          result: ok(serviceTokenJson(after)),
          action: "access_service_token.update",
          resource: `accounts/${acct.id}/access/service_tokens/${after.id}`,
          before: serviceTokenJson(before),
          after: serviceTokenJson(after),
        };
      });
    },
  );

  app.delete<{ Params: { account_id: Id; token_id: Id } }>(
    `${base}/service_tokens/:token_id`,
    { schema: { tags, params: params("account_id", "token_id") } },
    async (request) => {
      const acct = await account(request);
      return audited(store, tokenIdOf(request), async (tx) => {
        const token = await loadToken(tx, acct.id, request.params.token_id);
        const users = (await tx.access.listPolicies({ accountId: acct.id })).filter((p) =>
          tokensNamed(p).includes(token.id),
        );
        if (users.length > 0) {
          throw inUse(
            `service token ${token.id} is named by policies ${users.map((p) => `${p.id} (${p.name})`).join(", ")}; change them first`,
          );
        }
        await tx.access.deleteServiceToken(token.id);
        const json = serviceTokenJson(token);
        return {
          result: ok(json),
          action: "access_service_token.delete",
          resource: `accounts/${acct.id}/access/service_tokens/${token.id}`,
          before: json,
          after: null,
        };
      });
    },
  );
}

function settingJson(s: { hostname: string; chinaNetwork: boolean; clientCertificateForwarding: boolean }) {
  return {
    hostname: s.hostname,
    china_network: s.chinaNetwork,
    client_certificate_forwarding: s.clientCertificateForwarding,
  };
}
