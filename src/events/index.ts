/** Edge events: what the edge records, the supervisor keeps, and the API serves. */
export { EventBatcher } from "./batch.ts";
export { type MtlsAnalytics, mtlsResult } from "./counters.ts";
export { eventMtls, requestEvent } from "./edge.ts";
export { DEFAULT_EVENT_CAPACITY, type EventFilter, EventLog } from "./log.ts";
export * from "./types.ts";
