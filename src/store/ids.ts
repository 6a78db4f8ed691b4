/** Ids and timestamps in the store's formats: 32 lower-case hex characters; ISO 8601 UTC with seconds. */
import { randomBytes } from "node:crypto";
import type { Id, Timestamp } from "./types.ts";

export function newId(): Id {
  return randomBytes(16).toString("hex");
}

export function timestamp(date: Date = new Date()): Timestamp {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
