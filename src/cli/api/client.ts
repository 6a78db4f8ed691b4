/**
 * The API client of the CLI: Cloudflare v4 envelopes over fetch, with the bearer token. An API error is
 * an ApiFailure whose message carries the API's codes (`[1003] hostname x not found`); an unreachable
 * API is one CliError line naming the URL.
 */
import type { ApiMessage, ResultInfo } from "../../control/envelope.ts";
import { CliError, EXIT } from "./errors.ts";

export const API_PREFIX = "/client/v4";
export const DEFAULT_API_URL = "http://127.0.0.1:9000";

interface Envelope {
  success: boolean;
  errors?: ApiMessage[];
  result: unknown;
  result_info?: ResultInfo;
}

/** The API said no: its HTTP status and errors. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly errors: ApiMessage[];
  constructor(status: number, errors: ApiMessage[]) {
    super(
      errors.length > 0
        ? errors.map((e) => `[${e.code}] ${e.message}`).join("; ")
        : `the API answered HTTP ${status} without an error message`,
    );
    this.name = "ApiFailure";
    this.status = status;
    this.errors = errors;
  }
}

export type Query = Record<string, string | number | boolean | undefined>;

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  /** Abort after this many ms (default 30 s); 0 = never (streams). */
  timeoutMs?: number;
}

/** `http://host:9000` or `http://host:9000/client/v4` → the server's root URL, without a trailing slash. */
export function normalizeApiUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new CliError(
      `--api-url: ${JSON.stringify(input)} is not a URL like http://127.0.0.1:9000`,
      EXIT.usage,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new CliError(`--api-url: ${JSON.stringify(input)} must be an http:// or https:// URL`, EXIT.usage);
  }
  let path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith(API_PREFIX)) path = path.slice(0, -API_PREFIX.length);
  return `${url.origin}${path}`;
}

export class ApiClient {
  /** The server's root URL (the API is under `/client/v4`, the CRLs under `/crl`). */
  readonly root: string;
  readonly token: string;
  /** The `--account` (id or name) the user chose, if any. */
  readonly account: string | undefined;

  constructor(root: string, token: string, account?: string) {
    this.root = normalizeApiUrl(root);
    this.token = token;
    this.account = account;
  }

  /** A raw response from a path under the root (`/crl/…`) or the API (`/client/v4/…`). */
  async fetch(path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Response> {
    const url = `${this.root}${path}`;
    const timeoutMs = init.timeoutMs ?? 30_000;
    try {
      return await fetch(url, {
        ...init,
        headers: { authorization: `Bearer ${this.token}`, ...(init.headers as Record<string, string>) },
        ...(timeoutMs > 0 ? { signal: AbortSignal.timeout(timeoutMs) } : {}),
      });
    } catch (err) {
      throw unreachable(this.root, err);
    }
  }

  /** One API call; the envelope's result, or an ApiFailure. */
  async call<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.envelope(method, path, options)).result as T;
  }

  async envelope(method: string, path: string, options: RequestOptions = {}): Promise<Envelope> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) query.set(key, String(value));
    }
    const search = query.size > 0 ? `?${query}` : "";
    const hasBody = options.body !== undefined;
    const response = await this.fetch(`${API_PREFIX}${path}${search}`, {
      method,
      headers: hasBody ? { "content-type": "application/json" } : {},
      ...(hasBody ? { body: JSON.stringify(options.body) } : {}),
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    let text: string;
    try {
      text = await response.text();
    } catch (err) {
      throw unreachable(this.root, err);
    }
    let parsed: Envelope;
    try {
      parsed = JSON.parse(text) as Envelope;
    } catch {
      throw new CliError(
        `${this.root} answered HTTP ${response.status} with something that is not the Portcullis API (not JSON)`,
      );
    }
    if (typeof parsed !== "object" || parsed === null || typeof parsed.success !== "boolean") {
      throw new CliError(`${this.root} answered HTTP ${response.status} without the API's envelope`);
    }
    if (!parsed.success || !response.ok) throw new ApiFailure(response.status, parsed.errors ?? []);
    return parsed;
  }

  get<T = unknown>(path: string, query?: Query): Promise<T> {
    return this.call<T>("GET", path, query ? { query } : {});
  }

  post<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.call<T>("POST", path, { body });
  }

  put<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PUT", path, { body });
  }

  patch<T = unknown>(path: string, body: unknown): Promise<T> {
    return this.call<T>("PATCH", path, { body });
  }

  delete<T = unknown>(path: string): Promise<T> {
    return this.call<T>("DELETE", path);
  }

  /** Every item of a paginated list (`page`/`per_page`, as the v4 lists page). */
  async list<T = unknown>(path: string, query: Query = {}): Promise<T[]> {
    const items: T[] = [];
    for (let page = 1; ; page++) {
      const answer = await this.envelope("GET", path, { query: { ...query, page, per_page: 1000 } });
      const result = (answer.result ?? []) as T[];
      items.push(...result);
      const info = answer.result_info;
      if (!info || result.length === 0 || items.length >= info.total_count || result.length < 1000) break;
    }
    return items;
  }
}

/** The API cannot be reached: one line naming the URL and the reason (connection refused, DNS, timeout). */
export function unreachable(root: string, err: unknown): CliError {
  const error = err as Error & { cause?: { code?: string; message?: string } };
  const reason =
    error.name === "TimeoutError"
      ? "no answer within 30 s"
      : (error.cause?.code ?? error.cause?.message ?? error.message);
  return new CliError(`cannot reach the API at ${root}: ${reason}`);
}
