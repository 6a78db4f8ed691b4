/** Downloads a CRL over http(s) with a time limit and a size cap, sending the validators of the copy we have. */
import { RevocationError } from "./errors.ts";

export const DEFAULT_MAX_CRL_BYTES = 256 * 1024 * 1024;

export interface FetchCrlOptions {
  timeoutMs: number;
  maxBytes?: number;
  /** Aborts the download (the manager stopping). */
  signal?: AbortSignal;
  /** Validators of the copy we hold, for a 304 instead of re-downloading a large CRL. */
  etag?: string | null;
  lastModified?: string | null;
}

export type FetchedCrl =
  | { notModified: false; body: Buffer; etag: string | null; lastModified: string | null }
  | { notModified: true };

/** GET `url`; a non-2xx status, a network error, a timeout or an oversized body is a RevocationError. */
export async function fetchCrl(url: string, options: FetchCrlOptions): Promise<FetchedCrl> {
  const protocol = URL.canParse(url) ? new URL(url).protocol : "";
  if (protocol !== "http:" && protocol !== "https:") throw new RevocationError(`${url}: not an http(s) URL`);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_CRL_BYTES;
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  const headers: Record<string, string> = { accept: "application/pkix-crl, application/x-pem-file, */*" };
  if (options.etag) headers["if-none-match"] = options.etag;
  if (options.lastModified) headers["if-modified-since"] = options.lastModified;
  try {
    const response = await fetch(url, { headers, signal, redirect: "follow" });
    if (response.status === 304 && (options.etag || options.lastModified)) {
      await response.body?.cancel();
      return { notModified: true };
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new RevocationError(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    const declared = Number(response.headers.get("content-length") ?? Number.NaN);
    if (declared > maxBytes) {
      await response.body?.cancel();
      throw tooLarge(maxBytes);
    }
    return {
      notModified: false,
      body: await readCapped(response, maxBytes),
      etag: response.headers.get("etag"),
      lastModified: response.headers.get("last-modified"),
    };
  } catch (err) {
    throw new RevocationError(`GET ${url}: ${describeFetchError(err, timeout, options.timeoutMs)}`, {
      cause: err,
    });
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!response.body) return Buffer.alloc(0);
  for await (const chunk of response.body) {
    total += chunk.length;
    if (total > maxBytes) {
      await response.body.cancel().catch(() => {});
      throw tooLarge(maxBytes);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(maxBytes: number): RevocationError {
  return new RevocationError(`body larger than ${maxBytes} bytes`);
}

function describeFetchError(err: unknown, timeout: AbortSignal, timeoutMs: number): string {
  if (timeout.aborted) return `timed out after ${timeoutMs} ms`;
  if (err instanceof RevocationError) return err.message;
  if (err instanceof Error && err.name === "AbortError") return "aborted";
  // undici: TypeError("fetch failed") with the socket error (ECONNREFUSED…) as its cause.
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ""}`;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
