import { isIP } from "node:net";
import { PkiError } from "./errors.ts";

/** A subjectAltName entry. cfssl's `hosts` strings become dns, ip, email or uri; the library takes every kind. */
export type SubjectAltName =
  | { type: "dns"; value: string }
  | { type: "ip"; value: string }
  | { type: "email"; value: string }
  | { type: "uri"; value: string }
  /** Microsoft User Principal Name (otherName). */
  | { type: "upn"; value: string }
  /** registeredID: an OID. */
  | { type: "registeredId"; value: string }
  /** directoryName: a DN string like `CN=x, O=y`. */
  | { type: "dirName"; value: string };

const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;
const URI = /^[a-zA-Z][a-zA-Z0-9+.-]*:(\/\/)?\S+$/;

/**
 * Splits cfssl `hosts` strings by kind as cfssl does: an IP address, else an email address, else a URI
 * with a scheme, else a DNS name. Empty strings are ignored (the Access tutorial's `"hosts": [""]`).
 */
export function parseHosts(hosts: readonly string[], field = "hosts"): SubjectAltName[] {
  const sans: SubjectAltName[] = [];
  hosts.forEach((raw, i) => {
    const host = raw.trim();
    if (host === "") return;
    if (/\s/.test(host)) {
      throw new PkiError("E_FIELD", `"${raw}" is not a host name, IP address, email or URI`, {
        field: `${field}[${i}]`,
      });
    }
    const unbracketed = host.replace(/^\[(.*)\]$/, "$1");
    if (isIP(unbracketed)) sans.push({ type: "ip", value: unbracketed });
    else if (EMAIL.test(host)) sans.push({ type: "email", value: host });
    else if (URI.test(host) && !/^[^:]+:\d+$/.test(host)) sans.push({ type: "uri", value: host });
    else sans.push({ type: "dns", value: host });
  });
  return sans;
}

/** Validates a `hosts` JSON value: an array of strings. */
export function parseHostsField(value: unknown, field = "hosts"): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((h) => typeof h !== "string")) {
    throw new PkiError("E_FIELD", 'must be an array of strings, e.g. ["example.com", "127.0.0.1"]', {
      field,
    });
  }
  return value as string[];
}
