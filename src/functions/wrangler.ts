/**
 * The parts of a wrangler config (`wrangler.toml`, `wrangler.json`, `wrangler.jsonc`) Portcullis uses:
 * name, main, compatibility date and flags, vars, routes, mtls_certificates and limits.cpu_ms. Every
 * problem is one line naming the file, line and column.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { parse as parseToml, TomlError } from "smol-toml";
import { parseRoutePattern, RoutePatternError } from "./router.ts";
import { MAX_CPU_MS } from "./types.ts";

export interface WranglerRoute {
  pattern: string;
  zoneName?: string;
  zoneId?: string;
}

export interface WranglerProject {
  file: string;
  name?: string;
  /** `main`, resolved against the config file's directory. */
  main?: string;
  compatibilityDate?: string;
  compatibilityFlags: string[];
  vars: Record<string, unknown>;
  routes: WranglerRoute[];
  mtlsCertificates: { binding: string; certificateId: string }[];
  cpuMs?: number;
  /** Top-level keys Portcullis does not act on (KV, D1, …), for a warning. */
  ignored: string[];
}

export class WranglerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WranglerConfigError";
  }
}

/** Keys that mean nothing at the edge, or are wrangler's own: not worth a warning. */
const QUIET = new Set(["$schema", "account_id", "workers_dev", "preview_urls", "keep_vars", "minify", "env"]);
const USED = new Set([
  "name",
  "main",
  "compatibility_date",
  "compatibility_flags",
  "vars",
  "route",
  "routes",
  "mtls_certificates",
  "limits",
]);

export async function readWranglerConfig(file: string): Promise<WranglerProject> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    throw new WranglerConfigError(
      `${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return parseWranglerConfig(file, text);
}

export function parseWranglerConfig(file: string, text: string): WranglerProject {
  const data = /\.jsonc?$/i.test(file) ? parseJsonc(file, text) : parseTomlText(file, text);
  /** The error names `key`, placed where it is written, else where `near` (its table) is. */
  const fail = (key: string, problem: string, near?: string): never => {
    const where = locate(text, key) ?? (near !== undefined ? locate(text, near) : undefined) ?? "1:1";
    throw new WranglerConfigError(`${file}:${where}: ${key}: ${problem}`);
  };
  const str = (key: string, value: unknown): string | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value === "") fail(key, "must be a non-empty string");
    return value as string;
  };

  const name = str("name", data.name);
  if (name !== undefined && !/^[a-z0-9_][a-z0-9_-]{0,62}$/.test(name))
    fail("name", "use lower-case letters, digits, - and _ (at most 63)");
  const main = str("main", data.main);
  const compatibilityDate = str("compatibility_date", data.compatibility_date);
  if (compatibilityDate !== undefined && !/^\d{4}-\d{2}-\d{2}$/.test(compatibilityDate))
    fail("compatibility_date", "must be YYYY-MM-DD");
  const flags = data.compatibility_flags ?? [];
  if (!Array.isArray(flags) || flags.some((f) => typeof f !== "string"))
    fail("compatibility_flags", "must be a list of strings");

  const vars = data.vars ?? {};
  if (typeof vars !== "object" || vars === null || Array.isArray(vars)) fail("vars", "must be a table");
  for (const key of Object.keys(vars as object)) {
    if (!BINDING_NAME.test(key)) fail(key, "is not a valid binding name");
  }

  const routes: WranglerRoute[] = [];
  if (data.route !== undefined) routes.push(routeOf(data.route, "route", fail));
  if (data.routes !== undefined) {
    if (!Array.isArray(data.routes)) fail("routes", "must be a list");
    for (const item of data.routes as unknown[]) routes.push(routeOf(item, "routes", fail));
  }

  const mtlsCertificates: WranglerProject["mtlsCertificates"] = [];
  if (data.mtls_certificates !== undefined) {
    if (!Array.isArray(data.mtls_certificates))
      fail("mtls_certificates", "must be a list of { binding, certificate_id }");
    for (const item of data.mtls_certificates as unknown[]) {
      const entry = item as { binding?: unknown; certificate_id?: unknown };
      if (typeof item !== "object" || item === null)
        fail("mtls_certificates", "each entry is { binding, certificate_id }");
      if (typeof entry.binding !== "string" || !BINDING_NAME.test(entry.binding))
        fail("binding", "must be a binding name such as MY_CERT", "mtls_certificates");
      if (typeof entry.certificate_id !== "string" || entry.certificate_id === "")
        fail(
          "certificate_id",
          "must be the certificate's id (portcullis mtls-certificate list)",
          "mtls_certificates",
        );
      const extra = Object.keys(entry).filter((k) => k !== "binding" && k !== "certificate_id");
      if (extra.length > 0) fail(extra[0] as string, "is not a key of an mtls_certificates entry");
      mtlsCertificates.push({
        binding: entry.binding as string,
        certificateId: entry.certificate_id as string,
      });
    }
  }
  const seen = new Set<string>();
  for (const binding of [...Object.keys(vars as object), ...mtlsCertificates.map((m) => m.binding)]) {
    if (seen.has(binding)) fail(binding, "is bound twice");
    seen.add(binding);
  }

  let cpuMs: number | undefined;
  if (data.limits !== undefined) {
    const limits = data.limits as { cpu_ms?: unknown };
    if (typeof limits !== "object" || limits === null) fail("limits", "must be a table");
    if (limits.cpu_ms !== undefined) {
      const value = Number(limits.cpu_ms);
      if (!Number.isInteger(value) || value < 1 || value > MAX_CPU_MS)
        fail("cpu_ms", `must be a whole number of milliseconds from 1 to ${MAX_CPU_MS}`);
      cpuMs = value;
    }
  }

  const project: WranglerProject = {
    file,
    compatibilityFlags: flags as string[],
    vars: vars as Record<string, unknown>,
    routes,
    mtlsCertificates,
    ignored: Object.keys(data).filter((key) => !USED.has(key) && !QUIET.has(key)),
  };
  if (name !== undefined) project.name = name;
  if (main !== undefined) project.main = resolve(dirname(file), main);
  if (compatibilityDate !== undefined) project.compatibilityDate = compatibilityDate;
  if (cpuMs !== undefined) project.cpuMs = cpuMs;
  return project;
}

export const BINDING_NAME = /^[A-Za-z_$][A-Za-z0-9_$]{0,63}$/;

function routeOf(item: unknown, key: string, fail: (key: string, problem: string) => never): WranglerRoute {
  const entry =
    typeof item === "string"
      ? { pattern: item }
      : (item as { pattern?: unknown; zone_name?: unknown; zone_id?: unknown; custom_domain?: unknown });
  if (typeof entry !== "object" || entry === null || typeof entry.pattern !== "string")
    fail(key, 'each route is "host/path*" or { pattern, zone_name | zone_id }');
  if ((entry as { custom_domain?: unknown }).custom_domain === true)
    fail("custom_domain", "custom domains are not supported; serve the hostname and use a route");
  try {
    parseRoutePattern(entry.pattern as string);
  } catch (err) {
    if (err instanceof RoutePatternError) fail(key, err.message);
    throw err;
  }
  const route: WranglerRoute = { pattern: entry.pattern as string };
  if (typeof entry.zone_name === "string") route.zoneName = entry.zone_name;
  if (typeof entry.zone_id === "string") route.zoneId = entry.zone_id;
  return route;
}

function parseTomlText(file: string, text: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = err.message.split("\n")[0]?.replace(/^Invalid TOML document: /, "") ?? "invalid TOML";
      throw new WranglerConfigError(`${file}:${err.line}:${err.column}: ${reason}`);
    }
    throw err;
  }
}

/** JSON with `//` and `/* *\/` comments and trailing commas, as wrangler.jsonc allows. */
function parseJsonc(file: string, text: string): Record<string, unknown> {
  let out = "";
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (inString) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
      out += c;
    } else if (c === "/" && text[i + 1] === "/") {
      while (i < text.length && text[i] !== "\n") out += text[i++] === "\n" ? "\n" : " ";
      out += "\n";
    } else if (c === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end === -1 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop - 1;
    } else out += c;
  }
  out = out.replace(/,(\s*[}\]])/g, " $1");
  let data: unknown;
  try {
    data = JSON.parse(out);
  } catch (err) {
    const position = /position (\d+)/.exec((err as Error).message);
    const where = position ? lineColumn(text, Number(position[1])) : "1:1";
    const reason = (err as Error).message.replace(/ in JSON at position.*$/, "").replace(/\s*\(line.*$/, "");
    throw new WranglerConfigError(`${file}:${where}: ${reason}`);
  }
  if (typeof data !== "object" || data === null || Array.isArray(data))
    throw new WranglerConfigError(`${file}:1:1: the config must be an object`);
  return data as Record<string, unknown>;
}

function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  return `${line}:${offset - before.lastIndexOf("\n")}`;
}

/** Where a key is first written (`key =`, `"key":`, `[key]`), as line:column. */
function locate(text: string, key: string): string | undefined {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const match = new RegExp(`(^|[\\s{,\\[])"?(${escaped})"?\\s*[=:\\]]`, "m").exec(text);
  if (!match) return undefined;
  return lineColumn(text, match.index + (match[1] as string).length);
}
