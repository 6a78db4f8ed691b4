/**
 * The workerd config (Cap'n Proto text) of one function's process: the function as a module worker with
 * only its own bindings, a health worker the watchdog probes, the function's outbound network, and one
 * external service per mTLS binding that reaches our egress server with that binding's secret.
 */
import type { FunctionScript } from "./types.ts";

/** workerd turns this header's JSON into `request.cf` and removes it (HttpOptions.cfBlobHeader). */
export const CF_BLOB_HEADER = "x-portcullis-cf";
/** The egress server knows a binding by this header, which workerd sets on every binding request. */
export const EGRESS_SECRET_HEADER = "x-portcullis-egress";
export const MODULE_FILE = "worker.mjs";

export interface OutboundPolicy {
  /** workerd Network.allow entries for the function's plain fetch(): "public", "private", "local", CIDRs. */
  allow: string[];
  /** Extra CA certificates (PEM, one per entry) trusted for fetch() and for mTLS bindings. */
  trustedCasPem: string[];
}

/** Cap'n Proto text literal: quotes, backslashes and control characters escaped; UTF-8 kept. */
export function capnpString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

const list = (items: string[]) => `[${items.join(", ")}]`;

export function workerdConfig(
  script: FunctionScript,
  egressAddress: string,
  secrets: ReadonlyMap<string, string>,
  outbound: OutboundPolicy,
): string {
  const s = capnpString;
  const bindings = script.bindings.map((binding) => {
    if (binding.type === "text") return `(name = ${s(binding.name)}, text = ${s(binding.text)})`;
    if (binding.type === "json") return `(name = ${s(binding.name)}, json = ${s(binding.json)})`;
    return `(name = ${s(binding.name)}, service = ${s(`mtls:${binding.name}`)})`;
  });
  const egress = script.bindings
    .filter((binding) => binding.type === "mtls")
    .map(
      (binding) =>
        `(name = ${s(`mtls:${binding.name}`)}, external = (address = ${s(egressAddress)}, http = (style = proxy, ` +
        `injectRequestHeaders = [(name = ${s(EGRESS_SECRET_HEADER)}, value = ${s(secrets.get(binding.name) ?? "")})])))`,
    );
  const mainModule = /^[\w.-]{1,100}$/.test(script.mainModule) ? script.mainModule : "worker.js";
  const worker =
    `(name = "fn", worker = (modules = [(name = ${s(mainModule)}, esModule = embed ${s(MODULE_FILE)})], ` +
    `compatibilityDate = ${s(script.compatibilityDate)}, compatibilityFlags = ${list(script.compatibilityFlags.map(s))}, ` +
    `bindings = ${list(bindings)}, globalOutbound = "outbound"))`;
  const health =
    `(name = "health", worker = (modules = [(name = "health.js", esModule = ` +
    `${s("export default { fetch() { return new Response('ok'); } };")})], compatibilityDate = "2025-01-01"))`;
  const network =
    `(name = "outbound", network = (allow = ${list(outbound.allow.map(s))}, ` +
    `tlsOptions = (trustBrowserCas = true, trustedCertificates = ${list(outbound.trustedCasPem.map(s))})))`;
  return [
    'using Workerd = import "/workerd/workerd.capnp";',
    "const config :Workerd.Config = (",
    `  services = [\n    ${[worker, health, network, ...egress].join(",\n    ")}\n  ],`,
    "  sockets = [",
    `    (name = "fn", address = "127.0.0.1:0", service = "fn", http = (cfBlobHeader = ${s(CF_BLOB_HEADER)}, forwardedProtoHeader = "x-forwarded-proto")),`,
    '    (name = "health", address = "127.0.0.1:0", service = "health", http = ())',
    "  ],",
    "  logging = (structuredLogging = true),",
    ");",
    "",
  ].join("\n");
}
