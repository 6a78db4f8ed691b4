/** Client-side checks that say what is wrong in words before anything is sent (the server checks again). */
import type { Zone } from "./types.ts";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function isDnsName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split(".").every((label) => LABEL.test(label));
}

/** A host name or `*.` wildcard, or why not. */
export function hostnameProblem(input: string): string | undefined {
  const name = input.trim().toLowerCase().replace(/\.$/, "");
  if (name === "") return "Enter a host name, like api.example.com.";
  if (/\s/.test(name)) return `“${input}” contains a space.`;
  if (name.includes("://") || name.includes("/"))
    return `“${input}” looks like a URL: enter only the host name (no scheme or path).`;
  if (name.includes(":")) return `“${input}” has a port: enter only the host name.`;
  const bare = name.startsWith("*.") ? name.slice(2) : name;
  if (bare.includes("*")) return `“${input}”: a wildcard may only be the first label (*.example.com).`;
  if (!isDnsName(bare)) return `“${input}” is not a valid host name (letters, digits, hyphens and dots).`;
  return undefined;
}

export function inZone(name: string, zone: Zone): boolean {
  const bare = name.startsWith("*.") ? name.slice(2) : name;
  return bare === zone.name || bare.endsWith(`.${zone.name}`);
}

/** The zone a host name belongs to (the longest matching zone name). */
export function zoneOf(name: string, zones: readonly Zone[]): Zone | undefined {
  return zones.filter((zone) => inZone(name, zone)).sort((a, b) => b.name.length - a.name.length)[0];
}

/** Host names separated by commas, spaces or new lines, lower-cased, without duplicates. */
export function splitHostnames(text: string): string[] {
  const names = text
    .split(/[\s,]+/)
    .map((name) => name.trim().toLowerCase().replace(/\.$/, ""))
    .filter(Boolean);
  return [...new Set(names)];
}

/** What is wrong with a pasted PEM certificate (chain), or undefined. */
export function certificatePemProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return "Paste the certificate (PEM), or choose a file.";
  if (/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(trimmed) && !trimmed.includes("BEGIN CERTIFICATE"))
    return "This is a private key, not a certificate. Paste the CA certificate (ca.pem).";
  if (!trimmed.includes("-----BEGIN CERTIFICATE-----"))
    return "This is not a PEM certificate: it should start with -----BEGIN CERTIFICATE-----.";
  const begins = trimmed.match(/-----BEGIN CERTIFICATE-----/g)?.length ?? 0;
  const ends = trimmed.match(/-----END CERTIFICATE-----/g)?.length ?? 0;
  if (begins !== ends)
    return "A certificate is cut off: every BEGIN CERTIFICATE needs its END CERTIFICATE line.";
  return undefined;
}

export function csrPemProblem(text: string): string | undefined {
  const trimmed = text.trim();
  if (trimmed === "") return "Paste a certificate signing request (PEM).";
  if (!/-----BEGIN (NEW )?CERTIFICATE REQUEST-----/.test(trimmed))
    return "This is not a CSR: it should start with -----BEGIN CERTIFICATE REQUEST-----.";
  if (!/-----END (NEW )?CERTIFICATE REQUEST-----/.test(trimmed))
    return "The CSR is cut off: its END line is missing.";
  return undefined;
}

/** Origin URL: http(s) with a host, nothing else. */
export function originUrlProblem(text: string): string | undefined {
  const value = text.trim();
  if (value === "") return "Enter the origin's URL, like http://127.0.0.1:8080.";
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `“${value}” is not a URL: include the scheme, like http://10.0.0.5:8080.`;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return "The origin URL must start with http:// or https://.";
  if (url.username || url.password) return "The origin URL must not contain a user name or password.";
  if (url.search || url.hash) return "The origin URL must not have a query or fragment.";
  return undefined;
}

export function pathPrefixProblem(prefix: string): string | undefined {
  if (prefix === "") return "Enter a path prefix, like /health.";
  if (!prefix.startsWith("/")) return `“${prefix}” must start with /.`;
  if (/\s/.test(prefix)) return `“${prefix}” contains a space.`;
  if (prefix.includes("?") || prefix.includes("#")) return `“${prefix}” must be a path only (no ? or #).`;
  return undefined;
}

export function headerNameProblem(name: string): string | undefined {
  if (name === "") return "Enter a header name, like X-Client-Verify.";
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `“${name}” is not a valid HTTP header name.`;
  return undefined;
}
