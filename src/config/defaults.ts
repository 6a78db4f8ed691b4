import type { Limits } from "./types.ts";

/** The edge's defaults, shared by the YAML schema and `portcullis up` (which has no file to say otherwise). */
export const DEFAULT_LIMITS: Readonly<Limits> = {
  clientHelloMaxBytes: 16_384,
  clientHelloTimeoutMs: 10_000,
  handshakeTimeoutMs: 10_000,
  headersTimeoutMs: 30_000,
  requestTimeoutMs: 300_000,
  keepAliveTimeoutMs: 60_000,
};

export const DEFAULT_CRL_REFRESH_MS = 300_000;
