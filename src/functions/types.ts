/**
 * Edge functions as the edge config carries them (EdgeConfig.functions): plain, structured-cloneable data
 * read from the store (src/functions/from-store.ts), completed by the runtime with where each function's
 * workerd listens (src/functions/runtime.ts), compiled into the Snapshot's router (src/functions/router.ts).
 */

/** What a function's `env` holds. mTLS bindings carry the certificate and its key (decrypted off the hot path). */
export type RuntimeBinding =
  | { type: "text"; name: string; text: string }
  | { type: "json"; name: string; json: string }
  | {
      type: "mtls";
      name: string;
      certificateId: string;
      /** Absent when the certificate (or its key) is gone: the binding answers 502. */
      certPem?: string;
      keyPem?: string;
    };

export interface FunctionScript {
  /** Unique over the edge: `<account id>/<name>`. */
  key: string;
  name: string;
  mainModule: string;
  source: string;
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Most CPU time of one request before the runtime stops the function's isolate. */
  cpuMs: number;
  bindings: RuntimeBinding[];
}

export interface FunctionRouteSpec {
  /** `host/path` (Cloudflare's route pattern). */
  pattern: string;
  /** FunctionScript.key. */
  script: string;
}

export interface FunctionsConfig {
  scripts: FunctionScript[];
  routes: FunctionRouteSpec[];
  /** Filled in by the runtime: FunctionScript.key → `http://127.0.0.1:PORT` of its workerd. */
  endpoints?: Record<string, string>;
  /** The edge's wall-clock limit for one function request (headers), after which it answers 503. */
  timeoutMs: number;
}

/** Default CPU limit per request (Cloudflare's default for paid Workers). */
export const DEFAULT_CPU_MS = 30_000;
export const MAX_CPU_MS = 300_000;
export const DEFAULT_FUNCTION_TIMEOUT_MS = 60_000;
export const DEFAULT_COMPATIBILITY_DATE = "2025-01-01";
