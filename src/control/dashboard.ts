/**
 * The dashboard (web/, built by `npm run build:web` into web/dist) served at /dashboard from the API
 * listener: its files with their content types, hashed assets cached for a year, every other path under
 * /dashboard answered with index.html (the app routes in the browser). Nothing is fetched from elsewhere
 * at run time, and the pages carry a Content-Security-Policy that allows only this origin.
 */
import { readFile, realpath } from "node:fs/promises";
import { extname, join, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply } from "fastify";

export const DASHBOARD_PATH = "/dashboard";
export const DASHBOARD_DIST = fileURLToPath(new URL("../../web/dist/", import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".webp": "image/webp",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8",
  ".wasm": "application/wasm",
  ".webmanifest": "application/manifest+json",
};

/** Only this origin: the API is same-origin, styles may be inline (React style attributes). */
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const NOT_BUILT = `<!doctype html><meta charset="utf-8"><title>Portcullis</title>
<p>The dashboard is not built. Run <code>npm run build:web</code> (<code>npm install</code> does it) and reload.</p>`;

export interface DashboardOptions {
  /** The built files (default web/dist of this checkout). */
  root?: string;
}

export async function dashboardRoutes(app: FastifyInstance, options: DashboardOptions): Promise<void> {
  const root = options.root ?? DASHBOARD_DIST;
  const config = { public: true };
  const schema = { hide: true };

  const pageHeaders = (reply: FastifyReply) =>
    reply
      .header("content-security-policy", CSP)
      .header("x-content-type-options", "nosniff")
      .header("x-frame-options", "DENY")
      .header("referrer-policy", "no-referrer");

  const sendIndex = async (reply: FastifyReply) => {
    const html = await readFile(join(root, "index.html")).catch(() => undefined);
    pageHeaders(reply).header("cache-control", "no-cache").type("text/html; charset=utf-8");
    return html ? reply.send(html) : reply.code(503).send(NOT_BUILT);
  };

  app.get("/", { config, schema }, async (_request, reply) => reply.redirect(`${DASHBOARD_PATH}/`, 302));
  app.get(DASHBOARD_PATH, { config, schema }, async (_request, reply) =>
    reply.redirect(`${DASHBOARD_PATH}/`, 301),
  );
  app.get<{ Params: { "*": string } }>(`${DASHBOARD_PATH}/*`, { config, schema }, async (request, reply) => {
    const relative = safeRelative(request.params["*"]);
    if (relative === undefined) return reply.code(400).type("text/plain; charset=utf-8").send("bad path\n");
    const file = relative === "" ? undefined : await readInside(root, relative);
    if (file) {
      const type = CONTENT_TYPES[extname(relative).toLowerCase()] ?? "application/octet-stream";
      // Vite names every asset by its content hash: it never changes under that name.
      const immutable = relative.startsWith("assets/");
      pageHeaders(reply)
        .header("cache-control", immutable ? "public, max-age=31536000, immutable" : "no-cache")
        .type(type);
      return reply.send(file);
    }
    // A missing file is a 404; any other path is a page of the app.
    if (relative.startsWith("assets/") || extname(relative) !== "")
      return reply.code(404).type("text/plain; charset=utf-8").send("not found\n");
    return sendIndex(reply);
  });
}

/** The path below /dashboard/ as segments joined by "/", or undefined when it tries to leave it. */
function safeRelative(wildcard: string): string | undefined {
  let path: string;
  try {
    path = decodeURIComponent(wildcard.split("?")[0] ?? "");
  } catch {
    return undefined;
  }
  if (path.includes("\0") || path.includes("\\")) return undefined;
  const segments = path.split("/").filter((segment) => segment !== "" && segment !== ".");
  if (segments.some((segment) => segment === "..")) return undefined;
  return segments.join("/");
}

/** The file's bytes when it is a regular file inside `root` (no symlink out), else undefined. */
async function readInside(root: string, relative: string): Promise<Buffer | undefined> {
  try {
    const real = await realpath(join(root, relative));
    const realRoot = await realpath(root);
    if (!real.startsWith(realRoot + sep)) return undefined;
    return await readFile(real);
  } catch {
    return undefined;
  }
}
