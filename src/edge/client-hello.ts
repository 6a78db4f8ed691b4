/**
 * The TLS ClientHello read off a raw TCP socket before TLS starts, without consuming it: the edge picks
 * the host (SNI) and the TLS server configured for it, then `socket.unshift(bytes)` and hands the socket
 * over. The handshake message is reassembled across TLS records of any size (a fragmented ClientHello
 * must not slip past SNI-based policy, CVE-2026-32305), within a byte cap, and every length is checked.
 */
import type { Socket } from "node:net";

export interface ClientHello {
  /** The SNI host_name, lower-cased; null when the hello has no server_name extension. */
  serverName: string | null;
  /** The ALPN protocol names in the client's order (bytes as latin1); empty without the extension. */
  alpn: string[];
}

export type ClientHelloErrorReason =
  | "not_tls"
  | "plain_http"
  | "too_large"
  | "malformed"
  | "unsupported_version";

export type ClientHelloParse =
  | { kind: "incomplete" }
  | { kind: "complete"; hello: ClientHello }
  | { kind: "error"; reason: ClientHelloErrorReason };

export type ReadClientHelloResult = ClientHelloParse | { kind: "timeout" } | { kind: "closed" };

/** TLS alert descriptions (RFC 8446 §6) the edge sends before closing. */
export const ALERT = {
  handshakeFailure: 40,
  decodeError: 50,
  protocolVersion: 70,
  internalError: 80,
  unrecognizedName: 112,
} as const;

const RECORD_HEADER = 5;
const CONTENT_HANDSHAKE = 22;
const CONTENT_ALERT = 21;
const HANDSHAKE_CLIENT_HELLO = 1;
const MAX_RECORD_PAYLOAD = 16_384; // 2^14: TLSPlaintext.length
const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const HOST_NAME = 0;

const INCOMPLETE: ClientHelloParse = Object.freeze({ kind: "incomplete" });
const NOT_TLS = failure("not_tls");
const PLAIN_HTTP = failure("plain_http");
const TOO_LARGE = failure("too_large");
const MALFORMED = failure("malformed");
const UNSUPPORTED_VERSION = failure("unsupported_version");

function failure(reason: ClientHelloErrorReason): ClientHelloParse {
  return Object.freeze({ kind: "error", reason });
}

/** Request-line starts ("GET ") of plain HTTP/1.x and the HTTP/2 prior-knowledge preface ("PRI * HTTP/2.0"). */
const HTTP_METHODS = ["GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "PRI"].map((m) =>
  Buffer.from(`${m} `, "latin1"),
);

/** Bytes allowed in a host_name label: letters, digits, '-' and '_' (a dot separates labels). */
const HOST_CHAR = new Uint8Array(256);
for (const c of Buffer.from("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_", "latin1")) {
  HOST_CHAR[c] = 1;
}

/**
 * Pure parser over all bytes received so far. Reassembles the handshake message across several TLS
 * records (type 22) of any sizes; "too_large" as soon as the hello cannot fit in `maxBytes` (record
 * headers included); every length field is validated; SNI must be one valid host_name.
 */
export function parseClientHello(data: Buffer, maxBytes: number): ClientHelloParse {
  const result = scan(data, maxBytes);
  return typeof result === "number" ? INCOMPLETE : result;
}

/**
 * The parse, or when incomplete the total number of bytes that must be there before the answer can
 * change (always more than `data.length` and at most `maxBytes`): `readClientHello` re-parses only
 * then, so a hello dribbled in tiny TCP segments costs a few parses, not one per segment.
 */
function scan(data: Buffer, maxBytes: number): ClientHelloParse | number {
  const result = data[0] === CONTENT_HANDSHAKE ? scanRecords(data, maxBytes) : sniff(data);
  if (typeof result !== "number") return result;
  return result > maxBytes ? TOO_LARGE : Math.max(result, data.length + 1);
}

/** Not a TLS handshake record: an SSLv2-compatible hello, plain HTTP, or something else. */
function sniff(data: Buffer): ClientHelloParse | number {
  const n = data.length;
  if (n === 0) return 1;
  const first = data[0] as number;
  if (first & 0x80) {
    // SSLv2 record header (2-byte length, high bit set) followed by MSG-CLIENT-HELLO (1).
    if (n < 3) return 3;
    return data[2] === 1 ? UNSUPPORTED_VERSION : NOT_TLS;
  }
  let needed = 0;
  for (const method of HTTP_METHODS) {
    const k = Math.min(n, method.length);
    if (data.compare(method, 0, k, 0, k) !== 0) continue;
    if (k === method.length) return PLAIN_HTTP;
    needed = needed === 0 ? method.length : Math.min(needed, method.length);
  }
  return needed === 0 ? NOT_TLS : needed;
}

function scanRecords(data: Buffer, maxBytes: number): ClientHelloParse | number {
  const n = data.length;
  if (n >= 2 && data[1] !== 3) return NOT_TLS;
  const fragments: Buffer[] = [];
  let got = 0; // handshake bytes in complete records so far
  let messageEnd = -1; // 4 + body length, once the handshake header has been seen
  let h1 = 0;
  let h2 = 0;
  let h3 = 0;
  let off = 0;
  for (;;) {
    const wanted = (messageEnd < 0 ? 4 : messageEnd) - got; // > 0 here
    // The fewest bytes the rest can take: one more record holding all that is missing.
    if (off + RECORD_HEADER + wanted > maxBytes) return TOO_LARGE;
    if (off + RECORD_HEADER > n) {
      if (off < n && data[off] !== CONTENT_HANDSHAKE) return MALFORMED;
      if (off + 1 < n && data[off + 1] !== 3) return MALFORMED;
      return off + RECORD_HEADER + wanted;
    }
    // Handshake messages must not be interleaved with other record types (RFC 8446 §5.1).
    if (data[off] !== CONTENT_HANDSHAKE || data[off + 1] !== 3) return MALFORMED;
    const length = data.readUInt16BE(off + 3);
    if (length === 0 || length > MAX_RECORD_PAYLOAD) return MALFORMED;
    const start = off + RECORD_HEADER;
    const end = start + length;
    const available = Math.min(end, n);
    if (messageEnd < 0) {
      // The handshake header (type, 24-bit length) may itself be split across records.
      for (let i = got; i < 4 && i - got < available - start; i++) {
        const b = data[start + i - got] as number;
        if (i === 0 && b !== HANDSHAKE_CLIENT_HELLO) return MALFORMED;
        if (i === 1) h1 = b;
        else if (i === 2) h2 = b;
        else if (i === 3) h3 = b;
      }
      if (got + (available - start) >= 4) messageEnd = 4 + ((h1 << 16) | (h2 << 8) | h3);
    }
    // The record that ends the ClientHello must not carry anything after it.
    if (messageEnd >= 0 && length > messageEnd - got) return MALFORMED;
    if (end > maxBytes) return TOO_LARGE;
    if (end > n) {
      // Needed: this record, then one more holding the rest (a too-long declared length shows here).
      const rest = (messageEnd < 0 ? 4 : messageEnd) - got - length;
      return rest > 0 ? end + RECORD_HEADER + rest : end;
    }
    fragments.push(data.subarray(start, end));
    got += length;
    off = end;
    if (got === messageEnd) break;
  }
  // One record holds the whole message in the common case: no copy.
  const message = fragments.length === 1 ? (fragments[0] as Buffer) : Buffer.concat(fragments, got);
  return parseBody(message, 4, message.length);
}

/** The ClientHello body (RFC 8446 §4.1.2, RFC 5246 §7.4.1.2) in `b[start, end)`. */
function parseBody(b: Buffer, start: number, end: number): ClientHelloParse {
  if (end - start < 2 + 32 + 1) return MALFORMED;
  const version = b.readUInt16BE(start);
  if (version < 0x0301) return UNSUPPORTED_VERSION; // SSL 3.0 and older
  let p = start + 2 + 32; // legacy_version, random
  const sessionId = b[p] as number;
  p += 1 + sessionId;
  if (sessionId > 32 || p + 2 > end) return MALFORMED;
  const ciphers = b.readUInt16BE(p);
  p += 2 + ciphers;
  if (ciphers < 2 || ciphers % 2 !== 0 || p + 1 > end) return MALFORMED;
  const compressions = b[p] as number;
  p += 1 + compressions;
  if (compressions < 1 || p > end) return MALFORMED;
  let serverName: string | null = null;
  let alpn: string[] = [];
  if (p < end) {
    if (p + 2 > end || p + 2 + b.readUInt16BE(p) !== end) return MALFORMED;
    p += 2;
    const seen = new Set<number>();
    while (p < end) {
      if (p + 4 > end) return MALFORMED;
      const type = b.readUInt16BE(p);
      const length = b.readUInt16BE(p + 2);
      p += 4;
      if (p + length > end || seen.has(type)) return MALFORMED; // at most one extension of each type
      seen.add(type);
      if (type === EXT_SERVER_NAME) {
        serverName = parseServerName(b, p, p + length);
        if (serverName === null) return MALFORMED;
      } else if (type === EXT_ALPN) {
        const protocols = parseAlpn(b, p, p + length);
        if (protocols === null) return MALFORMED;
        alpn = protocols;
      }
      p += length;
    }
  }
  return { kind: "complete", hello: { serverName, alpn } };
}

/** server_name (RFC 6066 §3): exactly one entry, a host_name; null when invalid. */
function parseServerName(b: Buffer, start: number, end: number): string | null {
  if (start + 5 > end || start + 2 + b.readUInt16BE(start) !== end) return null;
  if (b[start + 2] !== HOST_NAME) return null;
  const nameStart = start + 5;
  if (nameStart + b.readUInt16BE(start + 3) !== end) return null; // a second entry, or a bad length
  return hostName(b, nameStart, end);
}

/** An ASCII DNS name: labels of 1–63 letters, digits, '-' or '_', at most 253 bytes, no trailing dot. */
function hostName(b: Buffer, start: number, end: number): string | null {
  if (end - start < 1 || end - start > 253) return null;
  let label = 0;
  for (let i = start; i < end; i++) {
    const c = b[i] as number;
    if (c === 0x2e) {
      if (label === 0) return null;
      label = 0;
    } else if (HOST_CHAR[c] === 0 || ++label > 63) return null;
  }
  if (label === 0) return null;
  return b.toString("latin1", start, end).toLowerCase();
}

/** application_layer_protocol_negotiation (RFC 7301 §3.1): a non-empty list of non-empty names. */
function parseAlpn(b: Buffer, start: number, end: number): string[] | null {
  if (start + 2 > end || start + 2 + b.readUInt16BE(start) !== end || end - start < 4) return null;
  const protocols: string[] = [];
  let p = start + 2;
  while (p < end) {
    const length = b[p] as number;
    p += 1;
    if (length === 0 || p + length > end) return null;
    protocols.push(b.toString("latin1", p, p + length));
    p += length;
  }
  return protocols;
}

/**
 * Reads from a fresh socket until the ClientHello is complete, an error, the size cap, or `timeoutMs`.
 * Resolves (never rejects) with the result and every byte read, for `socket.unshift(bytes)`. Leaves
 * the socket paused with none of its listeners attached: the caller must attach an 'error' listener (or
 * hand the socket on) at once. Closed or errored before the end: `{ kind: "closed" }`.
 */
export function readClientHello(
  socket: Socket,
  options: { maxBytes: number; timeoutMs: number },
): Promise<{ result: ReadClientHelloResult; bytes: Buffer }> {
  return new Promise((resolve) => {
    let chunks: Buffer[] = [];
    let total = 0;
    let needed = 1;
    let done = false;

    const joined = (): Buffer => {
      if (chunks.length === 1) return chunks[0] as Buffer;
      const all = Buffer.concat(chunks, total);
      chunks = [all];
      return all;
    };
    const finish = (result: ReadClientHelloResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.pause();
      socket.off("data", onData);
      socket.off("end", onClosed);
      socket.off("close", onClosed);
      socket.off("error", onClosed);
      resolve({ result, bytes: chunks.length === 0 ? Buffer.alloc(0) : joined() });
    };
    const onData = (chunk: Buffer): void => {
      chunks.push(chunk);
      total += chunk.length;
      if (total < needed) return;
      const parsed = scan(joined(), options.maxBytes);
      if (typeof parsed === "number") needed = parsed;
      else finish(parsed);
    };
    const onClosed = (): void => finish({ kind: "closed" });

    const timer = setTimeout(() => finish({ kind: "timeout" }), options.timeoutMs);
    socket.on("data", onData);
    socket.on("end", onClosed);
    socket.on("close", onClosed);
    socket.on("error", onClosed);
    if (socket.destroyed || socket.readableEnded) finish({ kind: "closed" });
    else socket.resume();
  });
}

/** A fatal TLS alert record (TLS 1.2 record version, which every TLS client accepts before negotiation). */
export function tlsAlert(description: number): Buffer {
  return Buffer.from([CONTENT_ALERT, 3, 3, 0, 2, 2, description]);
}
