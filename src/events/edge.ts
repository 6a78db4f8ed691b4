/**
 * Building EdgeEvents from what the edge already has per request (no recomputation: the certificate's
 * fields come from src/edge/identity.ts via RequestAuth). For stages that record their own outcome:
 *
 *   this.#events.record(requestEvent(req, host.name, host.requestsCert ? auth : null,
 *     { action: "block", status: 403, reason: "rule", ruleId: rule.id }));
 */
import type { RequestAuth } from "../edge/client-auth.ts";
import { verificationStatus } from "../edge/identity.ts";
import type { EdgeRequest } from "../edge/proxy.ts";
import type { EdgeEventAction, EdgeEventInput, EdgeEventMtls } from "./types.ts";

/** The `mtls` part of an event: null when the host does not ask for a certificate. */
export function eventMtls(auth: RequestAuth | null): EdgeEventMtls | null {
  if (!auth) return null;
  const cert = auth.cert;
  return {
    presented: auth.presented,
    verification: verificationStatus(auth),
    failure: auth.failure?.code ?? null,
    fingerprint: cert?.fingerprintSha256 ?? null,
    serial: cert?.serial ?? null,
    subject: cert?.subjectDn ?? null,
    issuer: cert?.issuerDn ?? null,
  };
}

export interface EventOutcome {
  action: EdgeEventAction;
  status: number;
  reason?: string | null;
  ruleId?: string | null;
}

/** One event for `req` on `host` (the host's name), with the certificate's standing when the host asks for one. */
export function requestEvent(
  req: EdgeRequest,
  host: string,
  auth: RequestAuth | null,
  outcome: EventOutcome,
): EdgeEventInput {
  return {
    host,
    method: req.method ?? "",
    path: req.url ?? "",
    remote: req.socket?.remoteAddress ?? "",
    status: outcome.status,
    action: outcome.action,
    reason: outcome.reason ?? null,
    ruleId: outcome.ruleId ?? null,
    mtls: eventMtls(auth),
  };
}
