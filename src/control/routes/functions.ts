/**
 * Edge functions, Cloudflare-shaped: `PUT/GET/DELETE /accounts/{id}/workers/scripts/{name}` (the upload is
 * Cloudflare's multipart form with a `metadata` part, or one JSON object), `GET .../workers/scripts`,
 * `GET .../scripts/{name}/tail` (NDJSON, `?follow=true` to keep streaming), and the zone's routes
 * `GET/POST /zones/{id}/workers/routes`, `GET/DELETE .../routes/{route_id}`. docs/functions.md.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { functionLogs } from "../../functions/logs.ts";
import { parseRoutePattern, RoutePatternError } from "../../functions/router.ts";
import { checkScript } from "../../functions/runtime.ts";
import { DEFAULT_COMPATIBILITY_DATE, DEFAULT_CPU_MS, MAX_CPU_MS } from "../../functions/types.ts";
import { BINDING_NAME } from "../../functions/wrangler.ts";
import type { EdgeFunction, FunctionBinding, FunctionRoute } from "../../store/functions.ts";
import { newId, timestamp } from "../../store/ids.ts";
import type { Account, Id, StoreReader, StoreWriter, Zone } from "../../store/types.ts";
import { audited } from "../audit.ts";
import { requireAccount, requireZone, tokenIdOf } from "../auth.ts";
import type { ApiContext } from "../context.ts";
import { ok } from "../envelope.ts";
import { ApiError } from "../errors.ts";
import { body, id, params } from "../schemas.ts";

/** Cloudflare's codes where it has one for the same condition; 1012x are ours. */
export const FUNCTION_CODES = {
  invalid: 10021,
  notFound: 10007,
  routeConflict: 10020,
  routeNotFound: 10005,
  certificate: 10120,
  routeZone: 10121,
} as const;

const SCRIPT_NAME = /^[a-z0-9_][a-z0-9_-]{0,62}$/;
const MAX_SCRIPT = 1024 * 1024;

function bad(code: number, message: string): ApiError {
  return new ApiError(400, code, message);
}

/** The upload, whichever way it came: Cloudflare's metadata plus the module's source. */
interface Upload {
  metadata: Record<string, unknown>;
  modules: Map<string, string>;
}

interface RouteInput {
  pattern: string;
  zone_id?: string;
  zone_name?: string;
}

const scriptParams = {
  type: "object",
  additionalProperties: false,
  required: ["account_id", "script_name"],
  properties: { account_id: id, script_name: { type: "string", minLength: 1, maxLength: 100 } },
} as const;

async function readUpload(request: FastifyRequest): Promise<Upload> {
  const type = String(request.headers["content-type"] ?? "");
  if (type.startsWith("multipart/form-data")) {
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(request.body as Buffer), {
        headers: { "content-type": type },
      }).formData();
    } catch (err) {
      throw bad(FUNCTION_CODES.invalid, `body: not a multipart form (${(err as Error).message})`);
    }
    const metadataPart = form.get("metadata");
    if (metadataPart === null) throw bad(FUNCTION_CODES.invalid, "body: the form has no metadata part");
    const metadataText = typeof metadataPart === "string" ? metadataPart : await metadataPart.text();
    let metadata: unknown;
    try {
      metadata = JSON.parse(metadataText);
    } catch (err) {
      throw bad(FUNCTION_CODES.invalid, `metadata: not JSON (${(err as Error).message})`);
    }
    const modules = new Map<string, string>();
    for (const [name, value] of form.entries()) {
      if (name === "metadata" || (typeof value !== "string" && value.type === "application/source-map"))
        continue;
      modules.set(
        typeof value === "string" ? name : value.name || name,
        typeof value === "string" ? value : await value.text(),
      );
    }
    if (typeof metadata !== "object" || metadata === null || Array.isArray(metadata))
      throw bad(FUNCTION_CODES.invalid, "metadata: must be a JSON object");
    return { metadata: metadata as Record<string, unknown>, modules };
  }
  const json = request.body as Record<string, unknown> | undefined;
  if (typeof json !== "object" || json === null || Array.isArray(json))
    throw bad(FUNCTION_CODES.invalid, "body: send a multipart form (metadata + module) or a JSON object");
  const { script, ...metadata } = json;
  if (typeof script !== "string")
    throw bad(FUNCTION_CODES.invalid, "body.script: the module source is required");
  const mainModule = typeof metadata.main_module === "string" ? metadata.main_module : "worker.js";
  return { metadata: { main_module: mainModule, ...metadata }, modules: new Map([[mainModule, script]]) };
}

/**
 * Metadata Portcullis cannot honour: refused rather than ignored, since the function would not do what
 * its author meant. Anything else Portcullis does not use (wrangler's `annotations`, `observability`,
 * `code_update_strategy`, `keep_bindings`, `placement`, `logpush`, …) is accepted and ignored.
 */
const UNSUPPORTED: Record<string, string> = {
  body_part: "service-worker syntax is not supported: use an ES module (export default { fetch })",
  migrations: "Durable Objects are not supported",
  assets: "static assets are not supported",
};

/** Validates the upload into a function (without ids and times) and its routes, or throws a 400. */
async function checkUpload(
  reader: StoreReader,
  account: Account,
  upload: Upload,
): Promise<{
  fn: Omit<EdgeFunction, "id" | "name" | "createdOn" | "modifiedOn">;
  routes: RouteInput[] | undefined;
  /** How long the throwaway workerd took to load the module (Cloudflare's `startup_time_ms`). */
  startupMs: number;
}> {
  const m = upload.metadata;
  const fail = (field: string, message: string, code: number = FUNCTION_CODES.invalid) =>
    bad(code, `metadata.${field}: ${message}`);
  for (const key of Object.keys(m)) {
    const reason = UNSUPPORTED[key];
    if (reason && m[key] !== undefined && m[key] !== null) throw fail(key, reason);
  }
  const mainModule = m.main_module;
  if (typeof mainModule !== "string" || mainModule === "")
    throw fail("main_module", "name the module part that holds the worker (ES module syntax)");
  const source = upload.modules.get(mainModule);
  if (source === undefined)
    throw fail("main_module", `no part named ${JSON.stringify(mainModule)} was uploaded`);
  if (upload.modules.size > 1)
    throw fail("main_module", "only one module is supported: bundle the worker first");
  if (source.trim() === "" || Buffer.byteLength(source) > MAX_SCRIPT)
    throw fail("main_module", `the module must hold 1 byte to ${MAX_SCRIPT} bytes`);

  const bindings: FunctionBinding[] = [];
  const rawBindings = m.bindings ?? [];
  if (!Array.isArray(rawBindings)) throw fail("bindings", "must be a list");
  const names = new Set<string>();
  for (const [index, raw] of rawBindings.entries()) {
    const field = `bindings[${index}]`;
    const b = raw as Record<string, unknown>;
    if (typeof b !== "object" || b === null) throw fail(field, "must be an object");
    if (typeof b.name !== "string" || !BINDING_NAME.test(b.name))
      throw fail(`${field}.name`, "must be a JavaScript identifier");
    if (names.has(b.name)) throw fail(`${field}.name`, `${b.name} is bound twice`);
    names.add(b.name);
    if (b.type === "plain_text" || b.type === "secret_text") {
      if (typeof b.text !== "string") throw fail(`${field}.text`, "must be a string");
      bindings.push({ type: "plain_text", name: b.name, text: b.text });
    } else if (b.type === "json") {
      if (b.json === undefined) throw fail(`${field}.json`, "is required");
      bindings.push({ type: "json", name: b.name, json: b.json });
    } else if (b.type === "mtls_certificate") {
      const certificateId = b.certificate_id;
      if (typeof certificateId !== "string")
        throw fail(`${field}.certificate_id`, "is required", FUNCTION_CODES.certificate);
      const certificate = await reader.getMtlsCertificate(certificateId);
      if (!certificate || certificate.accountId !== account.id)
        throw fail(
          `${field}.certificate_id`,
          `no mTLS certificate ${certificateId} in this account`,
          FUNCTION_CODES.certificate,
        );
      if (certificate.ca || !certificate.hasPrivateKey)
        throw fail(
          `${field}.certificate_id`,
          `mTLS certificate ${certificateId} has no private key (upload the client certificate with its key)`,
          FUNCTION_CODES.certificate,
        );
      bindings.push({ type: "mtls_certificate", name: b.name, certificateId });
    } else {
      throw fail(
        `${field}.type`,
        `${JSON.stringify(b.type)} is not supported (mtls_certificate, plain_text, secret_text, json)`,
      );
    }
  }

  const compatibilityDate = m.compatibility_date ?? DEFAULT_COMPATIBILITY_DATE;
  if (typeof compatibilityDate !== "string" || !/^\d{4}-\d{2}-\d{2}$/.test(compatibilityDate))
    throw fail("compatibility_date", "must be YYYY-MM-DD");
  const flags = m.compatibility_flags ?? [];
  if (!Array.isArray(flags) || !flags.every((f) => typeof f === "string" && /^[a-z0-9_]{1,100}$/.test(f)))
    throw fail("compatibility_flags", "must be a list of flag names");
  let cpuMs: number | null = null;
  if (m.limits !== undefined) {
    const limits = m.limits as { cpu_ms?: unknown };
    const value = limits?.cpu_ms;
    if (typeof limits !== "object" || limits === null || Object.keys(limits).some((k) => k !== "cpu_ms"))
      throw fail("limits", "only cpu_ms is supported");
    if (value !== undefined) {
      if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > MAX_CPU_MS)
        throw fail("limits.cpu_ms", `must be a whole number of milliseconds from 1 to ${MAX_CPU_MS}`);
      cpuMs = value;
    }
  }
  let routes: RouteInput[] | undefined;
  if (m.routes !== undefined) {
    if (!Array.isArray(m.routes)) throw fail("routes", "must be a list");
    routes = m.routes.map((raw, index) => {
      const route = (typeof raw === "string" ? { pattern: raw } : raw) as RouteInput;
      if (typeof route !== "object" || route === null || typeof route.pattern !== "string")
        throw fail(`routes[${index}]`, 'is "host/path*" or { pattern, zone_id | zone_name }');
      return route;
    });
  }
  const fn = {
    accountId: account.id,
    mainModule,
    script: source,
    bindings,
    compatibilityDate,
    compatibilityFlags: flags as string[],
    cpuMs,
  };
  const started = performance.now();
  const problem = await checkScript({
    key: "check",
    name: "check",
    mainModule,
    source,
    compatibilityDate,
    compatibilityFlags: fn.compatibilityFlags,
    cpuMs: cpuMs ?? DEFAULT_CPU_MS,
    bindings: [],
  });
  if (problem) throw bad(FUNCTION_CODES.invalid, `script: ${problem.replace(/\s*\n\s*/g, " ")}`);
  return { fn, routes, startupMs: Math.round(performance.now() - started) };
}

/** The zone a route pattern belongs to: the one named, else the account's zone with the longest matching name. */
async function routeZone(
  reader: StoreReader,
  account: Account,
  route: RouteInput,
  field: string,
): Promise<Zone> {
  const pattern = parsePattern(route.pattern, field);
  let zone: Zone | undefined;
  if (route.zone_id !== undefined) zone = await reader.getZone(route.zone_id);
  else if (route.zone_name !== undefined) zone = (await reader.listZones({ name: route.zone_name }))[0];
  else {
    const zones = await reader.listZones({ accountId: account.id });
    zone = zones.filter((z) => inZone(pattern, z)).sort((a, b) => b.name.length - a.name.length)[0];
  }
  if (!zone || zone.accountId !== account.id)
    throw bad(
      FUNCTION_CODES.routeZone,
      `${field}: no zone of this account serves ${JSON.stringify(route.pattern)}`,
    );
  if (!inZone(pattern, zone))
    throw bad(
      FUNCTION_CODES.routeZone,
      `${field}: ${JSON.stringify(route.pattern)} is not within zone ${zone.name}`,
    );
  return zone;
}

function parsePattern(pattern: string, field: string) {
  try {
    return parseRoutePattern(pattern);
  } catch (err) {
    if (err instanceof RoutePatternError) throw bad(FUNCTION_CODES.invalid, `${field}: ${err.message}`);
    throw err;
  }
}

/** Whether every host the pattern can match is the zone's name or below it. */
function inZone(pattern: ReturnType<typeof parseRoutePattern>, zone: Zone): boolean {
  return pattern.host === zone.name || pattern.host.endsWith(`.${zone.name}`);
}

function scriptJson(fn: EdgeFunction, routes?: FunctionRoute[]) {
  return {
    id: fn.name,
    etag: createHash("sha256").update(fn.script).digest("hex"),
    /** This deploy's version (wrangler prints it as "Current Version ID"). */
    deployment_id: createHash("sha256")
      .update(`${fn.id} ${fn.modifiedOn} ${fn.script}`)
      .digest("hex")
      .slice(0, 32),
    main_module: fn.mainModule,
    size: Buffer.byteLength(fn.script),
    compatibility_date: fn.compatibilityDate,
    compatibility_flags: fn.compatibilityFlags,
    bindings: fn.bindings.map(bindingJson),
    limits: fn.cpuMs === null ? {} : { cpu_ms: fn.cpuMs },
    created_on: fn.createdOn,
    modified_on: fn.modifiedOn,
    ...(routes ? { routes: routes.map(routeJson) } : {}),
  };
}

function bindingJson(binding: FunctionBinding) {
  if (binding.type === "mtls_certificate")
    return { type: binding.type, name: binding.name, certificate_id: binding.certificateId };
  if (binding.type === "plain_text") return { type: binding.type, name: binding.name, text: binding.text };
  return { type: binding.type, name: binding.name, json: binding.json };
}

function routeJson(route: FunctionRoute) {
  return { id: route.id, pattern: route.pattern, script: route.script, zone_id: route.zoneId };
}

async function loadFunction(reader: StoreReader, accountId: Id, name: string): Promise<EdgeFunction> {
  const fn = await reader.functions.getFunction(accountId, name);
  if (!fn)
    throw new ApiError(404, FUNCTION_CODES.notFound, `This Worker (${name}) does not exist on your account.`);
  return fn;
}

/** The function's routes replaced by `routes`, each checked against the account's zones. */
async function replaceRoutes(
  tx: StoreWriter,
  account: Account,
  fn: EdgeFunction,
  routes: RouteInput[],
  where = "metadata.routes",
): Promise<void> {
  for (const old of await tx.functions.listRoutes({ functionId: fn.id }))
    await tx.functions.deleteRoute(old.id);
  for (const [index, route] of routes.entries()) {
    const field = `${where}[${index}]`;
    const zone = await routeZone(tx, account, route, field);
    await insertRoute(tx, zone, route.pattern, fn, field);
  }
}

async function insertRoute(tx: StoreWriter, zone: Zone, pattern: string, fn: EdgeFunction, field: string) {
  const normalized = parsePattern(pattern, field).pattern;
  const taken = (await tx.functions.listRoutes({ zoneId: zone.id })).find((r) => r.pattern === normalized);
  if (taken)
    throw new ApiError(
      409,
      FUNCTION_CODES.routeConflict,
      `${field}: a route with the pattern ${normalized} already exists (script ${taken.script})`,
    );
  const route: FunctionRoute = {
    id: newId(),
    zoneId: zone.id,
    pattern: normalized,
    functionId: fn.id,
    script: fn.name,
  };
  await tx.functions.insertRoute(route);
  return route;
}

export async function functionRoutes(app: FastifyInstance, { store }: ApiContext): Promise<void> {
  const tags = ["workers"];
  const scripts = "/accounts/:account_id/workers/scripts";
  // Cloudflare's upload is a multipart form; only these routes take one.
  app.addContentTypeParser("multipart/form-data", { parseAs: "buffer" }, (_request, payload, done) =>
    done(null, payload),
  );

  /** Checks and stores an upload; the deployed function's JSON and how long workerd took to load it. */
  const deploy = async (request: FastifyRequest<{ Params: { account_id: Id; script_name: string } }>) => {
    const account = await requireAccount(request, store, request.params.account_id);
    const name = request.params.script_name;
    if (!SCRIPT_NAME.test(name))
      throw bad(
        FUNCTION_CODES.invalid,
        `script name ${JSON.stringify(name)}: use lower-case letters, digits, - and _ (at most 63)`,
      );
    const checked = await checkUpload(store, account, await readUpload(request));
    const resource = `accounts/${account.id}/workers/scripts/${name}`;
    const result = await audited(store, tokenIdOf(request), async (tx) => {
      const before = await tx.functions.getFunction(account.id, name);
      // Checked again inside the transaction: the certificates must still be there.
      for (const binding of checked.fn.bindings) {
        if (binding.type !== "mtls_certificate") continue;
        const certificate = await tx.getMtlsCertificate(binding.certificateId);
        if (!certificate?.hasPrivateKey)
          throw bad(
            FUNCTION_CODES.certificate,
            `metadata.bindings: mTLS certificate ${binding.certificateId} is gone`,
          );
      }
      const now = timestamp();
      const fn: EdgeFunction = {
        ...checked.fn,
        id: before?.id ?? newId(),
        name,
        createdOn: before?.createdOn ?? now,
        modifiedOn: now,
      };
      await tx.functions.putFunction(fn);
      if (checked.routes) await replaceRoutes(tx, account, fn, checked.routes);
      const routes = await tx.functions.listRoutes({ functionId: fn.id });
      const json = scriptJson(fn, routes);
      return {
        result: json,
        action: before ? "function.update" : "function.create",
        resource,
        before: before ? scriptJson(before) : null,
        after: json,
      };
    });
    return { ...result, startup_time_ms: checked.startupMs };
  };

  app.put<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name`,
    { schema: { tags, params: scriptParams } },
    async (request) => ok(await deploy(request)),
  );

  /**
   * wrangler's versions upload (`wrangler deploy` to an existing function): Portcullis keeps no inactive
   * versions, so the upload is deployed at once, and the deployment that follows names this version.
   */
  app.post<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name/versions`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const deployed = await deploy(request);
      return ok({
        id: deployed.deployment_id,
        number: 1,
        startup_time_ms: deployed.startup_time_ms,
        metadata: { has_preview: false, source: "wrangler", created_on: deployed.modified_on },
        resources: { script: { etag: deployed.etag }, bindings: deployed.bindings },
      });
    },
  );

  /** Deploying the current version at 100 % is what there is to do; any other split is refused. */
  app.post<{
    Params: { account_id: Id; script_name: string };
    Body: { versions: { version_id: string; percentage: number }[] };
  }>(
    `${scripts}/:script_name/deployments`,
    {
      schema: {
        tags,
        params: scriptParams,
        body: {
          type: "object",
          required: ["versions"],
          properties: {
            versions: {
              type: "array",
              items: {
                type: "object",
                required: ["version_id", "percentage"],
                properties: { version_id: { type: "string" }, percentage: { type: "number" } },
              },
            },
          },
        },
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      const current = scriptJson(fn).deployment_id;
      const [only, ...others] = request.body.versions;
      const wanted = only?.version_id.replaceAll("-", "");
      if (!only || others.length > 0 || only.percentage !== 100 || wanted !== current)
        throw bad(
          FUNCTION_CODES.invalid,
          `body.versions: only the current version (${current}) at 100 % can be deployed: Portcullis keeps no other versions`,
        );
      const version = { version_id: current, percentage: 100 };
      return ok({
        id: current,
        source: "wrangler",
        strategy: "percentage",
        created_on: fn.modifiedOn,
        versions: [version],
      });
    },
  );

  // wrangler deploy asks for the script's service and secrets first; 404 with code 10007 means a new one.
  app.get<{ Params: { account_id: Id; script_name: string } }>(
    "/accounts/:account_id/workers/services/:script_name",
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      const times = { created_on: fn.createdOn, modified_on: fn.modifiedOn };
      const script = {
        id: fn.name,
        tag: fn.id,
        tags: [],
        etag: scriptJson(fn).etag,
        last_deployed_from: "wrangler",
        ...times,
      };
      return ok({
        id: fn.name,
        default_environment: { environment: "production", script, ...times },
        ...times,
      });
    },
  );

  /** Portcullis keeps no secrets apart from bindings: the list is empty for a function that exists. */
  app.get<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name/secrets`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      await loadFunction(store, account.id, request.params.script_name);
      return ok([]);
    },
  );

  /** One deployment per function: its current version at 100 % (wrangler reads it before deploying). */
  app.get<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name/deployments`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      const version = { version_id: scriptJson(fn).deployment_id, percentage: 100 };
      return ok({
        deployments: [
          {
            id: fn.id,
            source: "wrangler",
            strategy: "percentage",
            created_on: fn.modifiedOn,
            versions: [version],
          },
        ],
      });
    },
  );

  /** The Workers "worker" resource, as wrangler reads it: no workers.dev subdomain here. */
  app.get<{ Params: { account_id: Id; script_name: string } }>(
    "/accounts/:account_id/workers/workers/:script_name",
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      return ok({
        id: fn.id,
        name: fn.name,
        subdomain: { enabled: false, previews_enabled: false },
        created_on: fn.createdOn,
        updated_on: fn.modifiedOn,
      });
    },
  );

  /** workers.dev does not exist here: turning it off is accepted, turning it on is refused. */
  app.post<{
    Params: { account_id: Id; script_name: string };
    Body: { enabled?: boolean; previews_enabled?: boolean };
  }>(
    `${scripts}/:script_name/subdomain`,
    {
      schema: {
        tags,
        params: scriptParams,
        body: {
          type: "object",
          properties: { enabled: { type: "boolean" }, previews_enabled: { type: "boolean" } },
        },
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      await loadFunction(store, account.id, request.params.script_name);
      if (request.body?.enabled || request.body?.previews_enabled)
        throw bad(
          FUNCTION_CODES.invalid,
          "workers.dev subdomains do not exist in Portcullis: use routes (workers_dev = false)",
        );
      return ok({ enabled: false, previews_enabled: false });
    },
  );

  /** The function's routes over all zones, replaced whole by PUT (what `wrangler deploy` sends). */
  app.get<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name/routes`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      return ok((await store.functions.listRoutes({ functionId: fn.id })).map(routeJson));
    },
  );

  app.put<{ Params: { account_id: Id; script_name: string }; Body: RouteInput[] }>(
    `${scripts}/:script_name/routes`,
    {
      schema: {
        tags,
        params: scriptParams,
        body: {
          type: "array",
          maxItems: 1000,
          items: {
            type: "object",
            additionalProperties: false,
            required: ["pattern"],
            properties: {
              pattern: { type: "string", minLength: 1, maxLength: 500 },
              zone_id: id,
              zone_name: { type: "string", minLength: 1, maxLength: 255 },
              custom_domain: { type: "boolean", enum: [false] },
            },
          },
        },
      },
    },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const result = await audited(store, tokenIdOf(request), async (tx) => {
        const fn = await loadFunction(tx, account.id, request.params.script_name);
        const before = (await tx.functions.listRoutes({ functionId: fn.id })).map(routeJson);
        await replaceRoutes(tx, account, fn, request.body, "body");
        const after = (await tx.functions.listRoutes({ functionId: fn.id })).map(routeJson);
        const resource = `accounts/${account.id}/workers/scripts/${fn.name}/routes`;
        return { result: after, action: "function.routes", resource, before, after };
      });
      return ok(result);
    },
  );

  /** Script settings wrangler sets after a deploy (service tags and the like): accepted, nothing to keep. */
  app.patch<{ Params: { account_id: Id; script_name: string }; Body: Record<string, unknown> }>(
    `${scripts}/:script_name/script-settings`,
    { schema: { tags, params: scriptParams, body: { type: "object" } } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      await loadFunction(store, account.id, request.params.script_name);
      return ok({ logpush: false, tail_consumers: null, tags: request.body.tags ?? [] });
    },
  );

  app.get<{ Params: { account_id: Id } }>(
    scripts,
    { schema: { tags, params: params("account_id") } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fns = await store.functions.listFunctions({ accountId: account.id });
      const routes = await store.functions.listRoutes();
      return ok(
        fns.map((fn) =>
          scriptJson(
            fn,
            routes.filter((route) => route.functionId === fn.id),
          ),
        ),
      );
    },
  );

  app.get<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      const routes = await store.functions.listRoutes({ functionId: fn.id });
      return ok({ ...scriptJson(fn, routes), script: fn.script });
    },
  );

  app.delete<{ Params: { account_id: Id; script_name: string } }>(
    `${scripts}/:script_name`,
    { schema: { tags, params: scriptParams } },
    async (request) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const result = await audited(store, tokenIdOf(request), async (tx) => {
        const fn = await loadFunction(tx, account.id, request.params.script_name);
        const json = scriptJson(fn, await tx.functions.listRoutes({ functionId: fn.id }));
        await tx.functions.deleteFunction(fn.id);
        return {
          result: { id: fn.name },
          action: "function.delete",
          resource: `accounts/${account.id}/workers/scripts/${fn.name}`,
          before: json,
          after: null,
        };
      });
      return ok(result);
    },
  );

  app.get<{
    Params: { account_id: Id; script_name: string };
    Querystring: { follow?: "true" | "false"; limit?: string };
  }>(
    `${scripts}/:script_name/tail`,
    {
      schema: {
        tags,
        params: scriptParams,
        querystring: {
          type: "object",
          additionalProperties: false,
          properties: {
            follow: { type: "string", enum: ["true", "false"] },
            limit: { type: "string", pattern: "^(?:[0-9]{1,3})$" },
          },
        },
      },
    },
    async (request, reply) => {
      const account = await requireAccount(request, store, request.params.account_id);
      const fn = await loadFunction(store, account.id, request.params.script_name);
      const key = `${account.id}/${fn.name}`;
      const limit = request.query.limit === undefined ? 100 : Number(request.query.limit);
      const recent = limit === 0 ? [] : functionLogs.recent(key, limit);
      const lines = recent.map((entry) => `${JSON.stringify(entry)}\n`).join("");
      if (request.query.follow !== "true") {
        return reply.type("application/x-ndjson").send(lines);
      }
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-store" });
      raw.write(lines);
      const stop = functionLogs.follow(key, (entry) => raw.write(`${JSON.stringify(entry)}\n`));
      const heartbeat = setInterval(() => raw.write("\n"), 15_000);
      raw.on("close", () => {
        stop();
        clearInterval(heartbeat);
      });
    },
  );

  const routesPath = "/zones/:zone_id/workers/routes";

  app.get<{ Params: { zone_id: Id } }>(
    routesPath,
    { schema: { tags, params: params("zone_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      return ok((await store.functions.listRoutes({ zoneId: zone.id })).map(routeJson));
    },
  );

  app.get<{ Params: { zone_id: Id; route_id: Id } }>(
    `${routesPath}/:route_id`,
    { schema: { tags, params: params("zone_id", "route_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const route = (await store.functions.listRoutes({ zoneId: zone.id })).find(
        (r) => r.id === request.params.route_id,
      );
      if (!route)
        throw new ApiError(404, FUNCTION_CODES.routeNotFound, `route ${request.params.route_id} not found`);
      return ok(routeJson(route));
    },
  );

  app.post<{ Params: { zone_id: Id }; Body: { pattern: string; script: string } }>(
    routesPath,
    {
      schema: {
        tags,
        params: params("zone_id"),
        body: body(
          {
            pattern: { type: "string", minLength: 1, maxLength: 500 },
            script: { type: "string", minLength: 1, maxLength: 100 },
          },
          ["pattern", "script"],
        ),
      },
    },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const { pattern, script } = request.body;
      const parsed = parsePattern(pattern, "body.pattern");
      if (!inZone(parsed, zone))
        throw bad(
          FUNCTION_CODES.routeZone,
          `body.pattern: ${JSON.stringify(pattern)} is not within zone ${zone.name}`,
        );
      const route = await audited(store, tokenIdOf(request), async (tx) => {
        const fn = await tx.functions.getFunction(zone.accountId, script);
        if (!fn)
          throw bad(
            FUNCTION_CODES.notFound,
            `body.script: no function ${JSON.stringify(script)} in the zone's account`,
          );
        const created = await insertRoute(tx, zone, pattern, fn, "body.pattern");
        const json = routeJson(created);
        return {
          result: json,
          action: "function_route.create",
          resource: `zones/${zone.id}/workers/routes/${created.id}`,
          before: null,
          after: json,
        };
      });
      return ok(route);
    },
  );

  app.delete<{ Params: { zone_id: Id; route_id: Id } }>(
    `${routesPath}/:route_id`,
    { schema: { tags, params: params("zone_id", "route_id") } },
    async (request) => {
      const zone = await requireZone(request, store, request.params.zone_id);
      const result = await audited(store, tokenIdOf(request), async (tx) => {
        const route = (await tx.functions.listRoutes({ zoneId: zone.id })).find(
          (r) => r.id === request.params.route_id,
        );
        if (!route)
          throw new ApiError(404, FUNCTION_CODES.routeNotFound, `route ${request.params.route_id} not found`);
        await tx.functions.deleteRoute(route.id);
        return {
          result: { id: route.id },
          action: "function_route.delete",
          resource: `zones/${zone.id}/workers/routes/${route.id}`,
          before: routeJson(route),
          after: null,
        };
      });
      return ok(result);
    },
  );
}
