/**
 * The edge's decision for one request, as a pure function of the Snapshot, the connection and the
 * request line: which host serves it, whether its certificate passes, and what to answer if not.
 */
import type { MtlsMode } from "../config/types.ts";
import type { HostRuntime, Snapshot } from "../snapshot/snapshot.ts";
import { type ConnectionAuth, type OcspVerdict, type RequestAuth, requestAuth } from "./client-auth.ts";

export interface ConnectionInfo {
  /** The SNI the client sent (lower case), null without one. */
  serverName: string | null;
  auth: ConnectionAuth;
  /** The leaf's OCSP status, on hosts that check it. */
  ocsp?: OcspVerdict;
}

export interface RequestInfo {
  /** Host header or :authority, as sent. */
  authority: string | undefined;
  /** The request target (path and query). */
  target: string;
}

export type Decision =
  | { kind: "forward"; host: HostRuntime; mode: MtlsMode; auth: RequestAuth }
  | { kind: "deny"; status: 403; reason: string; host: HostRuntime; mode: MtlsMode; auth: RequestAuth }
  | { kind: "reject"; status: 400 | 421; reason: string };

export function decide(
  snapshot: Snapshot,
  conn: ConnectionInfo,
  request: RequestInfo,
  nowMs: number,
): Decision {
  const host = snapshot.lookup(conn.serverName);
  if (!host) return { kind: "reject", status: 421, reason: "unknown_host" };
  const authorityName = hostOf(request.authority);
  if (authorityName === null) return { kind: "reject", status: 400, reason: "missing_host" };
  // The request must be for the host whose handshake this connection made: otherwise a connection to a
  // public host (or an HTTP/2 connection coalesced across names) would reach an mTLS host's origin.
  if (snapshot.lookup(authorityName) !== host)
    return { kind: "reject", status: 421, reason: "host_mismatch" };
  const mode = host.modeFor(request.target);
  const auth = requestAuth(conn.auth, host, nowMs, conn.ocsp);
  if (mode === "enforce" && auth.failure) {
    return { kind: "deny", status: 403, reason: auth.failure.code, host, mode, auth };
  }
  return { kind: "forward", host, mode, auth };
}

/** The host name of a Host header or :authority (lower case, no port, IPv6 without brackets). */
export function hostOf(authority: string | undefined): string | null {
  if (!authority) return null;
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end > 1 ? authority.slice(1, end).toLowerCase() : null;
  }
  const colon = authority.indexOf(":");
  const name = colon === -1 ? authority : authority.slice(0, colon);
  return name === "" ? null : name.toLowerCase().replace(/\.$/, "");
}
