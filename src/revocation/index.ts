/** Certificate revocation for the edge: CRLs from files and URLs, verified, cached and kept fresh. */

export { RevocationError } from "./errors.ts";
export { type CrlIssuer, findCrlIssuer, verifyCrlSignature } from "./issuer.ts";
export { type CrlLog, CrlManager, type CrlManagerOptions, sourceKey } from "./manager.ts";
export { OcspChecker, OcspError, type OcspResult, type OcspStatus } from "./ocsp.ts";
export { type ParsedCrlFast, parseCrlFast } from "./parse.ts";
export { crlDer } from "./pem.ts";
export { normalizeSerial } from "./serial.ts";
export type { CrlInfo, CrlStatus } from "./types.ts";
