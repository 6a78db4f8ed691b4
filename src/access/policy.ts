/**
 * Access policies: the selector JSON (Cloudflare's rule objects plus SAN, issuer SKI, fingerprint and
 * serial), checked and normalized when saved, compiled to closures for the Snapshot, and evaluated in
 * Cloudflare's order: bypass and non_identity (Service Auth) policies first, then allow and deny, each
 * group by precedence. A policy matches when any `include` matches, every `require` matches and no
 * `exclude` matches.
 */
import net from "node:net";

export type Decision = "allow" | "deny" | "non_identity" | "bypass";
export const DECISIONS: readonly Decision[] = ["allow", "deny", "non_identity", "bypass"];

/** One rule object, exactly one key, as the API takes and returns it. */
export type Selector =
  | { certificate: Record<string, never> }
  | { common_name: { common_name: string } }
  | { service_token: { token_id: string } }
  | { any_valid_service_token: Record<string, never> }
  | { ip: { ip: string } }
  | { everyone: Record<string, never> }
  | { san: { dns: string } | { email: string } | { uri: string } }
  | { issuer_ski: { ski: string } }
  | { certificate_fingerprint: { sha256: string } }
  | { certificate_serial: { serial: string } };

export interface PolicyRules {
  include: Selector[];
  exclude: Selector[];
  require: Selector[];
}

/** The per-policy data the edge compiles (plain data: it crosses to worker processes). */
export interface PolicySpec extends PolicyRules {
  id: string;
  name: string;
  decision: Decision;
  precedence: number;
}

/** What one request offers the policies. */
export interface AccessSubject {
  /** The connection's certificate when it verified against the host and is not revoked; else null. */
  cert: {
    commonNames: readonly string[];
    sans: { dns: readonly string[]; email: readonly string[]; uri: readonly string[] };
    issuerSki: string;
    fingerprintSha256: string;
    serial: string;
  } | null;
  /** The service token id whose client id and secret the request carried (valid, unexpired); else null. */
  serviceTokenId: string | null;
  /** The client's address (IPv4-mapped IPv6 already unwrapped). */
  ip: string;
}

type Test = (subject: AccessSubject) => boolean;

/** The JSON Schema of one selector (the API validates with it; the OpenAPI document shows it). */
const emptyObject = { type: "object", additionalProperties: false, properties: {} } as const;
function oneString(key: string, maxLength = 1024) {
  return {
    type: "object",
    additionalProperties: false,
    required: [key],
    properties: { [key]: { type: "string", minLength: 1, maxLength } },
  };
}
function only(key: string, value: unknown) {
  return { type: "object", additionalProperties: false, required: [key], properties: { [key]: value } };
}
export const SELECTOR_SCHEMA = {
  description:
    "a rule object: certificate, common_name, service_token, any_valid_service_token, ip, everyone, san, issuer_ski, certificate_fingerprint or certificate_serial",
  anyOf: [
    only("certificate", emptyObject),
    only("common_name", oneString("common_name")),
    only("service_token", oneString("token_id", 64)),
    only("any_valid_service_token", emptyObject),
    only("ip", oneString("ip", 64)),
    only("everyone", emptyObject),
    only("san", {
      anyOf: [oneString("dns", 253), oneString("email", 320), oneString("uri", 2048)],
    }),
    only("issuer_ski", oneString("ski", 128)),
    only("certificate_fingerprint", oneString("sha256", 128)),
    only("certificate_serial", oneString("serial", 128)),
  ],
} as const;

/** Thrown by `normalizeSelectors` for a value the schema cannot judge; `field` names it. */
export class SelectorError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(message);
    this.name = "SelectorError";
    this.field = field;
  }
}

const HEX_SEPARATORS = /[:\s]/g;

function hexValue(text: string, field: string, bytes?: number): string {
  const hex = text.replace(HEX_SEPARATORS, "");
  if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length % 2 !== 0) {
    throw new SelectorError(field, `${JSON.stringify(text)} is not hexadecimal bytes`);
  }
  if (bytes !== undefined && hex.length !== bytes * 2) {
    throw new SelectorError(field, `must be ${bytes} bytes (${bytes * 2} hex characters), got ${hex.length}`);
  }
  return hex;
}

/** `10.0.0.0/8`, `2001:db8::/32` or one address; returns the CIDR with its prefix length. */
export function parseCidr(
  text: string,
  field: string,
): { address: string; prefix: number; family: "ipv4" | "ipv6" } {
  const [address = "", prefixText, extra] = text.split("/");
  const version = net.isIP(address);
  if (version === 0 || extra !== undefined) {
    throw new SelectorError(field, `${JSON.stringify(text)} is not an IP address or CIDR range`);
  }
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (!/^\d{1,3}$/.test(prefixText ?? String(max)) || prefix > max) {
    throw new SelectorError(field, `${JSON.stringify(text)}: the prefix length must be 0 to ${max}`);
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/**
 * Checks what the schema cannot and returns the selectors in canonical form: hex without colons (SKI
 * and serial upper case, fingerprint lower case, serial without leading zeros), CIDRs as given.
 * `knownTokens` are the account's service token ids.
 */
export function normalizeSelectors(
  list: readonly Selector[],
  field: string,
  knownTokens: ReadonlySet<string>,
): Selector[] {
  return list.map((selector, index): Selector => {
    const at = `${field}[${index}]`;
    if ("issuer_ski" in selector) {
      return { issuer_ski: { ski: hexValue(selector.issuer_ski.ski, `${at}.issuer_ski.ski`).toUpperCase() } };
    }
    if ("certificate_fingerprint" in selector) {
      const sha256 = hexValue(
        selector.certificate_fingerprint.sha256,
        `${at}.certificate_fingerprint.sha256`,
        32,
      );
      return { certificate_fingerprint: { sha256: sha256.toLowerCase() } };
    }
    if ("certificate_serial" in selector) {
      const serial = hexValue(selector.certificate_serial.serial, `${at}.certificate_serial.serial`);
      // As src/edge/identity.ts prints serials: upper-case whole bytes, no leading zero bytes.
      const digits = serial.replace(/^0+/, "").toUpperCase() || "0";
      return { certificate_serial: { serial: digits.length % 2 ? `0${digits}` : digits } };
    }
    if ("ip" in selector) {
      parseCidr(selector.ip.ip, `${at}.ip.ip`);
      return { ip: { ip: selector.ip.ip } };
    }
    if ("service_token" in selector && !knownTokens.has(selector.service_token.token_id)) {
      throw new SelectorError(
        `${at}.service_token.token_id`,
        `no service token ${selector.service_token.token_id} in this account`,
      );
    }
    return selector;
  });
}

/** Service token ids a policy names (a token in use cannot be deleted). */
export function tokensNamed(rules: PolicyRules): string[] {
  return [...rules.include, ...rules.exclude, ...rules.require].flatMap((selector) =>
    "service_token" in selector ? [selector.service_token.token_id] : [],
  );
}

/** Whether a selector looks at the client certificate (then a session it grants is bound to that certificate). */
export function usesCertificate(selector: Selector): boolean {
  return (
    "certificate" in selector ||
    "common_name" in selector ||
    "san" in selector ||
    "issuer_ski" in selector ||
    "certificate_fingerprint" in selector ||
    "certificate_serial" in selector
  );
}

function compileSelector(selector: Selector): Test {
  if ("everyone" in selector) return () => true;
  if ("certificate" in selector) return (s) => s.cert !== null;
  if ("common_name" in selector) {
    const want = selector.common_name.common_name;
    return (s) => s.cert?.commonNames.includes(want) ?? false;
  }
  if ("san" in selector) {
    const san = selector.san;
    if ("dns" in san) {
      const want = san.dns.toLowerCase();
      return (s) => s.cert?.sans.dns.some((name) => name.toLowerCase() === want) ?? false;
    }
    if ("email" in san) {
      const want = san.email.toLowerCase();
      return (s) => s.cert?.sans.email.some((email) => email.toLowerCase() === want) ?? false;
    }
    const want = san.uri;
    return (s) => s.cert?.sans.uri.includes(want) ?? false;
  }
  if ("issuer_ski" in selector) {
    const want = selector.issuer_ski.ski;
    return (s) => s.cert !== null && s.cert.issuerSki === want;
  }
  if ("certificate_fingerprint" in selector) {
    const want = selector.certificate_fingerprint.sha256;
    return (s) => s.cert !== null && s.cert.fingerprintSha256 === want;
  }
  if ("certificate_serial" in selector) {
    const want = selector.certificate_serial.serial;
    return (s) => s.cert !== null && s.cert.serial === want;
  }
  if ("service_token" in selector) {
    const want = selector.service_token.token_id;
    return (s) => s.serviceTokenId === want;
  }
  if ("any_valid_service_token" in selector) return (s) => s.serviceTokenId !== null;
  if ("ip" in selector) {
    const { address, prefix, family } = parseCidr(selector.ip.ip, "ip");
    const list = new net.BlockList();
    list.addSubnet(address, prefix, family);
    return (s) => s.ip !== "" && list.check(s.ip, net.isIPv6(s.ip) ? "ipv6" : "ipv4");
  }
  return () => false; // an unknown selector never matches
}

export interface CompiledPolicy {
  id: string;
  name: string;
  decision: Decision;
  /** True when a matching request's session is bound to its certificate (the policy looks at one). */
  bindsCertificate: boolean;
  matches: Test;
}

export function compilePolicy(spec: PolicySpec): CompiledPolicy {
  const include = spec.include.map(compileSelector);
  const exclude = spec.exclude.map(compileSelector);
  const require = spec.require.map(compileSelector);
  return {
    id: spec.id,
    name: spec.name,
    decision: spec.decision,
    bindsCertificate: [...spec.include, ...spec.require].some(usesCertificate),
    matches: (s) =>
      include.some((test) => test(s)) && require.every((test) => test(s)) && !exclude.some((test) => test(s)),
  };
}

/** Cloudflare's order: bypass and Service Auth first, then allow and deny; by precedence within each. */
export function orderPolicies(specs: readonly PolicySpec[]): PolicySpec[] {
  const first = (spec: PolicySpec) =>
    spec.decision === "bypass" || spec.decision === "non_identity" ? 0 : 1;
  return [...specs].sort(
    (a, b) => first(a) - first(b) || a.precedence - b.precedence || a.id.localeCompare(b.id),
  );
}

/** The first policy that matches, in evaluation order (`policies` already ordered); undefined = none. */
export function firstMatch(
  policies: readonly CompiledPolicy[],
  subject: AccessSubject,
): CompiledPolicy | undefined {
  for (const policy of policies) if (policy.matches(subject)) return policy;
  return undefined;
}
