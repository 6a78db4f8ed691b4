import type { EventLog } from "../events/log.ts";
import type { Store } from "../store/types.ts";

/** What every route plugin gets. */
export interface ApiContext {
  store: Store;
  /** Most CA certificates (`ca: true`) per account; Infinity for no limit. */
  caQuota: number;
  /** This node's edge events, when an edge runs in this process tree (`portcullis up`). */
  events?: EventLog;
}
