/**
 * Edge events: one record per outcome at the edge (an mTLS decision, a rejected request, a firewall rule,
 * an Access decision). Workers record them through an `EventSink` (O(1), no I/O: batched to the
 * supervisor's EventLog); the control API reads them back. In memory and per node, never in the store.
 */

export type EdgeEventAction =
  | "forward"
  | "deny"
  | "block"
  | "log"
  | "drop"
  | "access_allow"
  | "access_deny"
  | "reject"
  | "error";

export const EDGE_EVENT_ACTIONS: readonly EdgeEventAction[] = [
  "forward",
  "deny",
  "block",
  "log",
  "drop",
  "access_allow",
  "access_deny",
  "reject",
  "error",
];

/** mtls.verification_status values, plus NONE (the host did not ask for a certificate). */
export type EdgeEventVerification =
  | "SUCCESS"
  | "CERTIFICATE_VERIFICATION_ERROR"
  | "MISSING_CLIENT_CERTIFICATE"
  | "NONE";

export interface EdgeEventMtls {
  presented: boolean;
  verification: EdgeEventVerification | string;
  /** The failure code (certificate_revoked, no_client_certificate, ...), null when it passes. */
  failure: string | null;
  fingerprint: string | null;
  serial: string | null;
  subject: string | null;
  issuer: string | null;
}

export interface EdgeEvent {
  /** Monotonic per node, assigned by the event log. */
  id: number;
  /** ISO 8601, when the edge decided (not when the log received it). */
  time: string;
  host: string;
  method: string;
  path: string;
  remote: string;
  /** HTTP status answered (0 when the connection was dropped or closed before an answer). */
  status: number;
  action: EdgeEventAction;
  /** Reason code (e.g. cert_missing, certificate_revoked, rule, access_policy). */
  reason: string | null;
  /** Firewall rule id for block/log/drop, Access app id for access_*. */
  ruleId: string | null;
  /** Null on hosts that do not ask for a client certificate. */
  mtls: EdgeEventMtls | null;
}

/** What a stage records: the log assigns `id`; `time` defaults to when `record` was called. */
export type EdgeEventInput = Omit<EdgeEvent, "id" | "time"> & Partial<Pick<EdgeEvent, "time">>;

/**
 * Where the edge records events. `record` must stay O(1) with no I/O: it runs on the request path.
 * `atMs` is when it happened (default now); an explicit `event.time` wins over both.
 */
export interface EventSink {
  record(event: EdgeEventInput, atMs?: number): void;
}

/** The sink when nothing listens (`portcullis edge` without an event log): records nothing. */
export const NO_EVENTS: EventSink = Object.freeze({ record(): void {} });

/** Events as they cross from a worker to the log: each with the time (ms) it was recorded. */
export interface EventBatch {
  events: EdgeEventInput[];
  times: number[];
}

/** What takes the workers' batches (the supervisor's EventLog). */
export interface EventBatchReceiver {
  add(batch: EventBatch): void;
}

/** Set in a cluster worker's environment when the supervisor takes its events. */
export const EVENTS_ENV = "PORTCULLIS_EDGE_EVENTS";
