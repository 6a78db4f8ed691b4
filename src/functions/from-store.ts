/**
 * Functions as the edge config carries them, read from the store (with their certificates' keys, decrypted
 * here, off the hot path), and the glue that puts the runtime between the config source and the edge.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { ConfigError } from "../config/errors.ts";
import type { EdgeConfig } from "../config/types.ts";
import type { EdgeConfigSource } from "../edge/supervisor.ts";
import type { StoreReader } from "../store/types.ts";
import { addressPolicy } from "./outbound.ts";
import { FunctionsRuntime } from "./runtime.ts";
import {
  DEFAULT_CPU_MS,
  DEFAULT_FUNCTION_TIMEOUT_MS,
  type FunctionScript,
  type FunctionsConfig,
  type RuntimeBinding,
} from "./types.ts";

/** Every function of every account with its routes; undefined when there are none. */
export async function functionsFromStore(store: StoreReader): Promise<FunctionsConfig | undefined> {
  const functions = await store.functions.listFunctions();
  if (functions.length === 0) return undefined;
  const keys = new Map<string, string>();
  const scripts: FunctionScript[] = [];
  for (const fn of functions) {
    const key = `${fn.accountId}/${fn.name}`;
    keys.set(fn.id, key);
    const bindings: RuntimeBinding[] = [];
    for (const binding of fn.bindings) {
      if (binding.type === "plain_text")
        bindings.push({ type: "text", name: binding.name, text: binding.text });
      else if (binding.type === "json")
        bindings.push({ type: "json", name: binding.name, json: JSON.stringify(binding.json) });
      else {
        const certificate = await store.getMtlsCertificate(binding.certificateId);
        const keyPem =
          certificate && certificate.accountId === fn.accountId
            ? await store.secretKeyPem({ kind: "mtls_certificate", id: certificate.id })
            : undefined;
        bindings.push({
          type: "mtls",
          name: binding.name,
          certificateId: binding.certificateId,
          ...(certificate && keyPem ? { certPem: certificate.certificates, keyPem } : {}),
        });
      }
    }
    scripts.push({
      key,
      name: fn.name,
      mainModule: fn.mainModule,
      source: fn.script,
      compatibilityDate: fn.compatibilityDate,
      compatibilityFlags: fn.compatibilityFlags,
      cpuMs: fn.cpuMs ?? DEFAULT_CPU_MS,
      bindings,
    });
  }
  const routes = (await store.functions.listRoutes()).flatMap((route) => {
    const script = keys.get(route.functionId);
    return script ? [{ pattern: route.pattern, script }] : [];
  });
  return { scripts, routes, timeoutMs: DEFAULT_FUNCTION_TIMEOUT_MS };
}

/** Runtime settings from the environment of `portcullis up` (docs/functions.md). */
export interface FunctionsSettings {
  allow: string[];
  trustedCasPem: string[];
  timeoutMs: number;
}

export async function functionsSettings(env: NodeJS.ProcessEnv = process.env): Promise<FunctionsSettings> {
  const allow = (env.PORTCULLIS_FUNCTIONS_OUTBOUND ?? "public")
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
  try {
    addressPolicy(allow);
  } catch (err) {
    throw new ConfigError({ file: "PORTCULLIS_FUNCTIONS_OUTBOUND", detail: (err as Error).message });
  }
  const trustedCasPem: string[] = [];
  const caFile = env.PORTCULLIS_FUNCTIONS_CA;
  if (caFile) {
    let text: string;
    try {
      text = await readFile(caFile, "utf8");
    } catch (err) {
      throw new ConfigError({
        file: "PORTCULLIS_FUNCTIONS_CA",
        detail: `cannot read ${caFile} (${(err as NodeJS.ErrnoException).code})`,
      });
    }
    const pems = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    if (pems.length === 0)
      throw new ConfigError({
        file: "PORTCULLIS_FUNCTIONS_CA",
        detail: `${caFile} holds no PEM certificate`,
      });
    trustedCasPem.push(...pems.map((pem) => `${pem}\n`));
  }
  const timeout = env.PORTCULLIS_FUNCTIONS_TIMEOUT_MS;
  const timeoutMs = timeout === undefined ? DEFAULT_FUNCTION_TIMEOUT_MS : Number(timeout);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 100)
    throw new ConfigError({
      file: "PORTCULLIS_FUNCTIONS_TIMEOUT_MS",
      detail: `"${timeout}" is not a number of milliseconds (100 or more)`,
    });
  return { allow, trustedCasPem, timeoutMs };
}

/** The functions runtime of `portcullis up`: wraps the edge's config source, follows what the edge serves. */
export interface EdgeFunctions {
  /** The config source the edge should use: the same configs, with each function's endpoint filled in. */
  wrap(source: EdgeConfigSource): EdgeConfigSource;
  /** Call from onApplied: processes the edge no longer points at are stopped. */
  applied(config: EdgeConfig): void;
  stop(): Promise<void>;
}

export async function startEdgeFunctions(options: {
  logger: Logger;
  dataDir: string;
}): Promise<EdgeFunctions> {
  const settings = await functionsSettings();
  const runtime = new FunctionsRuntime({
    logger: options.logger,
    dir: join(options.dataDir, "functions"),
    outbound: { allow: settings.allow, trustedCasPem: settings.trustedCasPem },
  });
  return {
    wrap: (source) => ({
      name: source.name,
      async load() {
        const config = await source.load();
        const endpoints = await runtime.ensure(config.functions);
        if (!config.functions) return config;
        return { ...config, functions: { ...config.functions, endpoints, timeoutMs: settings.timeoutMs } };
      },
      watch(onChange) {
        runtime.onChange(onChange);
        return source.watch(onChange);
      },
    }),
    applied: (config) => runtime.applied(config.functions?.endpoints),
    stop: () => runtime.stop(),
  };
}
