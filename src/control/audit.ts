/**
 * The one way routes write: run the change in a store transaction and record who did what to which
 * resource, with before/after snapshots the caller has already stripped of secrets.
 */
import type { Id, Store, StoreWriter } from "../store/types.ts";

export interface AuditedChange<T> {
  result: T;
  /** e.g. `mtls_certificate.create`. */
  action: string;
  /** e.g. `accounts/<id>/mtls_certificates/<id>`. */
  resource: string;
  before: unknown;
  after: unknown;
}

export function audited<T>(
  store: Store,
  tokenId: Id | null,
  change: (tx: StoreWriter) => Promise<AuditedChange<T>>,
): Promise<T> {
  return store.transaction(async (tx) => {
    const { result, action, resource, before, after } = await change(tx);
    await tx.audit({ tokenId, action, resource, before: before ?? null, after: after ?? null });
    return result;
  });
}
