/**
 * The control API: Cloudflare v4-shaped resources and native ones under `/client/v4`, on fastify.
 * One plugin per resource group (routes/*.ts); JSON Schemas validate every body, query and path and
 * make the OpenAPI document (`GET /client/v4/openapi.json`). Errors all become the v4 envelope.
 */
import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { EventLog } from "../events/log.ts";
import type { Store } from "../store/types.ts";
import { installAuth } from "./auth.ts";
import type { ApiContext } from "./context.ts";
import { dashboardRoutes } from "./dashboard.ts";
import { installErrorHandlers } from "./error-handler.ts";
import { accessRoutes } from "./routes/access.ts";
import { accountRoutes } from "./routes/accounts.ts";
import { auditLogRoutes } from "./routes/audit-logs.ts";
import { clientCertificateRoutes } from "./routes/client-certificates.ts";
import { crlRoutes } from "./routes/crl.ts";
import { eventRoutes } from "./routes/events.ts";
import { functionRoutes } from "./routes/functions.ts";
import { hostnameAssociationRoutes } from "./routes/hostname-associations.ts";
import { hostnameRoutes } from "./routes/hostnames.ts";
import { mtlsCertificateRoutes } from "./routes/mtls-certificates.ts";
import { originPullRoutes } from "./routes/origin-pull.ts";
import { rulesetRoutes } from "./routes/rulesets.ts";
import { tokenRoutes } from "./routes/tokens.ts";
import { zoneRoutes } from "./routes/zones.ts";

export const API_PREFIX = "/client/v4";

export interface ApiOptions {
  store: Store;
  logger?: Logger;
  /** Largest request body in bytes (default 1 MiB); more is a 413. */
  bodyLimit?: number;
  /** Most CA certificates per account (Cloudflare allows 5); default unlimited. */
  caQuota?: number;
  /** This node's edge events (`portcullis up`); without it the events routes answer 503 (no edge here). */
  events?: EventLog;
}

/** The route groups, each a plugin taking the shared context; add a resource by adding one here. */
export const ROUTE_GROUPS = [
  tokenRoutes,
  accountRoutes,
  zoneRoutes,
  mtlsCertificateRoutes,
  hostnameAssociationRoutes,
  hostnameRoutes,
  clientCertificateRoutes,
  originPullRoutes,
  auditLogRoutes,
  rulesetRoutes,
  eventRoutes,
  accessRoutes,
  functionRoutes,
] as const;

export function buildApi(options: ApiOptions): FastifyInstance {
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimit ?? 1024 * 1024,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    ajv: {
      // Closed objects are errors (not silently trimmed); bodies are taken as typed, never coerced.
      customOptions: {
        removeAdditional: false,
        coerceTypes: false,
        useDefaults: false,
        allErrors: false,
        verbose: true,
      },
    },
  }) as unknown as FastifyInstance;
  const context: ApiContext = {
    store: options.store,
    caQuota: options.caQuota ?? Number.POSITIVE_INFINITY,
    ...(options.events ? { events: options.events } : {}),
  };

  // An empty body (a DELETE sent with a JSON content type) is no body, not malformed JSON.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeAllContentTypeParsers(); // JSON only: anything else is a 415
  // text/plain too: wrangler sends its JSON bodies with fetch's default content type, as Cloudflare accepts.
  app.addContentTypeParser(
    ["application/json", "text/plain"],
    { parseAs: "string" },
    (request, text, done) => {
      if (text === "") done(null, undefined);
      else parseJson(request, text as string, done);
    },
  );

  installErrorHandlers(app);
  installAuth(app, options.store);
  app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Portcullis control API", version: "4" },
      servers: [{ url: "/" }],
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
  });
  app.register(crlRoutes, context);
  app.register(dashboardRoutes, {}); // the web dashboard at /dashboard (web/dist)
  app.register(
    async (api) => {
      api.get("/openapi.json", { config: { public: true }, schema: { hide: true } }, async () =>
        app.swagger(),
      );
      for (const group of ROUTE_GROUPS) await api.register(group, context);
    },
    { prefix: API_PREFIX },
  );
  return app;
}
