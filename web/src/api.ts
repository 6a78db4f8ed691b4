/**
 * The dashboard's only way to the server: the v4 API under /client/v4 on the same origin, with the API
 * token the user signed in with (kept in sessionStorage: gone when the tab closes).
 */

export const API_BASE = "/client/v4";
const TOKEN_KEY = "portcullis.token";

export interface ApiMessage {
  code: number;
  message: string;
}

export interface ResultInfo {
  page: number;
  per_page: number;
  count: number;
  total_count: number;
}

/** A failed call: the server's first error message, its HTTP status and v4 code. */
export class ApiFailure extends Error {
  readonly status: number;
  readonly code: number;
  constructor(status: number, code: number, message: string) {
    super(message);
    this.name = "ApiFailure";
    this.status = status;
    this.code = code;
  }
  /** The server has no such route: the feature is not on this server (yet). */
  get unavailable(): boolean {
    return this.status === 404 && this.code === 7000;
  }
}

export function savedToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function saveToken(token: string | null): void {
  try {
    if (token === null) sessionStorage.removeItem(TOKEN_KEY);
    else sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // Storage disabled: the session lasts as long as the page.
  }
}

let currentToken: string | null = savedToken();
let onUnauthorized: () => void = () => {};

export function rememberToken(token: string | null): void {
  currentToken = token;
  saveToken(token);
}

export function whenUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export function authHeader(token = currentToken): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

export interface Answer<T> {
  result: T;
  resultInfo: ResultInfo | undefined;
}

/** One API call; throws ApiFailure with the server's words when it fails. */
export async function call<T>(
  method: string,
  path: string,
  body?: unknown,
  token = currentToken,
): Promise<Answer<T>> {
  let response: Response;
  try {
    response = await fetch(`${API_BASE}${path}`, {
      method,
      headers: {
        ...authHeader(token),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiFailure(0, 0, "Cannot reach the Portcullis API: is `portcullis up` still running?");
  }
  let envelope: { success?: boolean; errors?: ApiMessage[]; result?: T; result_info?: ResultInfo };
  try {
    envelope = await response.json();
  } catch {
    throw new ApiFailure(response.status, 0, `The API answered ${response.status} without JSON`);
  }
  if (!response.ok || envelope.success === false) {
    const first = envelope.errors?.[0];
    if (response.status === 401 && token === currentToken) onUnauthorized();
    throw new ApiFailure(
      response.status,
      first?.code ?? 0,
      first?.message ?? `The API answered ${response.status}`,
    );
  }
  return { result: envelope.result as T, resultInfo: envelope.result_info };
}

export const get = async <T>(path: string): Promise<T> => (await call<T>("GET", path)).result;
export const post = async <T>(path: string, body: unknown): Promise<T> =>
  (await call<T>("POST", path, body)).result;
export const put = async <T>(path: string, body: unknown): Promise<T> =>
  (await call<T>("PUT", path, body)).result;
export const patch = async <T>(path: string, body: unknown): Promise<T> =>
  (await call<T>("PATCH", path, body)).result;
export const del = async <T>(path: string): Promise<T> => (await call<T>("DELETE", path)).result;

/** Every page of a list endpoint that takes `page`/`per_page` (stops at 20 pages). */
export async function getAll<T>(path: string, perPage = 1000): Promise<T[]> {
  const items: T[] = [];
  const join = path.includes("?") ? "&" : "?";
  for (let page = 1; page <= 20; page++) {
    const answer = await call<T[]>("GET", `${path}${join}page=${page}&per_page=${perPage}`);
    items.push(...answer.result);
    const info = answer.resultInfo;
    if (!info || items.length >= info.total_count || answer.result.length === 0) break;
  }
  return items;
}

/** Query string from the defined, non-empty values. */
export function qs(values: Record<string, string | number | undefined | null>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : "";
}

export const enc = encodeURIComponent;

/** What a failure says to a person. */
export function describe(error: unknown): string {
  if (error instanceof ApiFailure) {
    if (error.status === 403) return `Your token may not do this (403): ${error.message}`;
    return error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
