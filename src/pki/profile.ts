import { parseGoDuration } from "./duration.ts";
import { PkiError } from "./errors.ts";
import { x509 } from "./x509.ts";

/** A cfssl signing profile, validated and resolved (durations in milliseconds, usages as bits and OIDs). */
export interface SigningProfile {
  usages: string[];
  keyUsage: number;
  extKeyUsages: string[];
  expiryMs: number;
  caConstraint?: { isCa: boolean; maxPathLen: number; maxPathLenZero: boolean };
  crlUrl?: string;
  ocspUrl?: string;
  issuerUrls: string[];
  notBefore?: Date;
  notAfter?: Date;
  /** How far before "now" notBefore is set (cfssl's default: 5 minutes). */
  backdateMs: number;
  /** Copy the extensions the CSR requests into the certificate. */
  copyExtensions: boolean;
}

export interface SigningConfig {
  default: SigningProfile;
  profiles: Record<string, SigningProfile>;
}

const KEY_USAGES: Record<string, number> = {
  signing: x509.KeyUsageFlags.digitalSignature,
  "digital signature": x509.KeyUsageFlags.digitalSignature,
  "content commitment": x509.KeyUsageFlags.nonRepudiation,
  "key encipherment": x509.KeyUsageFlags.keyEncipherment,
  "key agreement": x509.KeyUsageFlags.keyAgreement,
  "data encipherment": x509.KeyUsageFlags.dataEncipherment,
  "cert sign": x509.KeyUsageFlags.keyCertSign,
  "crl sign": x509.KeyUsageFlags.cRLSign,
  "encipher only": x509.KeyUsageFlags.encipherOnly,
  "decipher only": x509.KeyUsageFlags.decipherOnly,
};

const EXT_KEY_USAGES: Record<string, string> = {
  any: "2.5.29.37.0",
  "server auth": "1.3.6.1.5.5.7.3.1",
  "client auth": "1.3.6.1.5.5.7.3.2",
  "code signing": "1.3.6.1.5.5.7.3.3",
  "email protection": "1.3.6.1.5.5.7.3.4",
  "s/mime": "1.3.6.1.5.5.7.3.4",
  "ipsec end system": "1.3.6.1.5.5.7.3.5",
  "ipsec tunnel": "1.3.6.1.5.5.7.3.6",
  "ipsec user": "1.3.6.1.5.5.7.3.7",
  timestamping: "1.3.6.1.5.5.7.3.8",
  "ocsp signing": "1.3.6.1.5.5.7.3.9",
  "microsoft sgc": "1.3.6.1.4.1.311.10.3.3",
  "netscape sgc": "2.16.840.1.113730.4.1",
};

const ONE_YEAR = "8760h";
const DEFAULT_BACKDATE_MS = 5 * 60_000;

/** cfssl's policy when no -config is given: one year, for both TLS servers and clients. */
export function defaultSigningProfile(): SigningProfile {
  return parseProfile(
    { usages: ["signing", "key encipherment", "server auth", "client auth"], expiry: ONE_YEAR },
    "",
  );
}

/** The profile `gencert -initca` signs a root with: cert and CRL signing, 5 years unless `ca.expiry` says. */
export function rootCaProfile(options: {
  expiry?: string;
  pathlen: number;
  pathlenzero: boolean;
  crlUrl?: string;
}): SigningProfile {
  return parseProfile(
    {
      usages: ["cert sign", "crl sign"],
      expiry: options.expiry ?? "43800h",
      ca_constraint: { is_ca: true, max_path_len: options.pathlen, max_path_len_zero: options.pathlenzero },
      ...(options.crlUrl ? { crl_url: options.crlUrl } : {}),
    },
    "ca",
  );
}

const PROFILE_KEYS = new Set([
  "usages",
  "expiry",
  "ca_constraint",
  "crl_url",
  "ocsp_url",
  "issuer_urls",
  "not_before",
  "not_after",
  "backdate",
  "copy_extensions",
]);

/** Validates a cfssl config document (`{"signing": {"default": …, "profiles": {…}}}`). */
export function parseSigningConfig(json: unknown): SigningConfig {
  const signing = objectAt(objectAt(json, "").signing, "signing");
  const defaultJson = signing.default === undefined ? {} : objectAt(signing.default, "signing.default");
  const defaultExpiry = typeof defaultJson.expiry === "string" ? defaultJson.expiry : ONE_YEAR;
  const config: SigningConfig = {
    default: parseProfile({ ...defaultJson, expiry: defaultExpiry }, "signing.default"),
    profiles: {},
  };
  const profiles = signing.profiles === undefined ? {} : objectAt(signing.profiles, "signing.profiles");
  for (const [name, value] of Object.entries(profiles)) {
    const profileJson = objectAt(value, `signing.profiles.${name}`);
    // A profile without its own expiry, CRL or OCSP URL takes the default's, as cfssl's signer does.
    config.profiles[name] = parseProfile(
      {
        expiry: defaultExpiry,
        ...pick(defaultJson, ["crl_url", "ocsp_url", "issuer_urls"]),
        ...profileJson,
      },
      `signing.profiles.${name}`,
    );
  }
  return config;
}

/** The named profile, or the default; a profile that signs for nothing is refused, as cfssl does. */
export function selectProfile(config: SigningConfig, name: string | undefined): SigningProfile {
  const profile = name ? config.profiles[name] : config.default;
  if (!profile) {
    const known = Object.keys(config.profiles);
    throw new PkiError(
      "E_PROFILE",
      `unknown profile "${name}" (the config has: ${known.join(", ") || "none"})`,
      {
        field: "profile",
      },
    );
  }
  if (profile.keyUsage === 0 && profile.extKeyUsages.length === 0) {
    const where = name ? `signing.profiles.${name}.usages` : "signing.default.usages";
    throw new PkiError(
      "E_PROFILE",
      `the ${name ? `"${name}"` : "default"} profile has no usages to sign for`,
      {
        field: where,
      },
    );
  }
  return profile;
}

function parseProfile(json: Record<string, unknown>, field: string): SigningProfile {
  const at = (key: string) => (field ? `${field}.${key}` : key);
  for (const key of Object.keys(json)) {
    if (!PROFILE_KEYS.has(key)) {
      throw new PkiError(
        "E_PROFILE",
        `unknown or unsupported profile field (known: ${[...PROFILE_KEYS].join(", ")})`,
        {
          field: at(key),
        },
      );
    }
  }
  const usages = stringArray(json.usages, at("usages"));
  let keyUsage = 0;
  const extKeyUsages: string[] = [];
  usages.forEach((usage, i) => {
    const bit = KEY_USAGES[usage];
    const oid = EXT_KEY_USAGES[usage];
    if (bit !== undefined) keyUsage |= bit;
    else if (oid !== undefined) {
      if (!extKeyUsages.includes(oid)) extKeyUsages.push(oid);
    } else {
      throw new PkiError("E_PROFILE", `unknown usage "${usage}"`, { field: `${at("usages")}[${i}]` });
    }
  });
  const expiryMs = parseGoDuration(stringAt(json.expiry, at("expiry")), at("expiry"));
  if (expiryMs <= 0) throw new PkiError("E_PROFILE", "expiry must be positive", { field: at("expiry") });
  const profile: SigningProfile = {
    usages,
    keyUsage,
    extKeyUsages,
    expiryMs,
    issuerUrls: stringArray(json.issuer_urls, at("issuer_urls")),
    backdateMs:
      json.backdate === undefined
        ? DEFAULT_BACKDATE_MS
        : parseGoDuration(stringAt(json.backdate, at("backdate")), at("backdate")),
    copyExtensions: booleanAt(json.copy_extensions, at("copy_extensions")),
  };
  if (json.ca_constraint !== undefined) {
    const ca = objectAt(json.ca_constraint, at("ca_constraint"));
    const maxPathLen = ca.max_path_len ?? 0;
    if (typeof maxPathLen !== "number" || !Number.isInteger(maxPathLen) || maxPathLen < -1) {
      throw new PkiError("E_PROFILE", "must be a whole number ≥ -1", {
        field: at("ca_constraint.max_path_len"),
      });
    }
    profile.caConstraint = {
      isCa: booleanAt(ca.is_ca, at("ca_constraint.is_ca")),
      maxPathLen,
      maxPathLenZero: booleanAt(ca.max_path_len_zero, at("ca_constraint.max_path_len_zero")),
    };
  }
  if (json.crl_url !== undefined) profile.crlUrl = urlAt(json.crl_url, at("crl_url"));
  if (json.ocsp_url !== undefined) profile.ocspUrl = urlAt(json.ocsp_url, at("ocsp_url"));
  for (const [i, url] of profile.issuerUrls.entries()) urlAt(url, `${at("issuer_urls")}[${i}]`);
  if (json.not_before !== undefined) profile.notBefore = dateAt(json.not_before, at("not_before"));
  if (json.not_after !== undefined) profile.notAfter = dateAt(json.not_after, at("not_after"));
  return profile;
}

function objectAt(value: unknown, field: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PkiError("E_PROFILE", "must be a JSON object", field ? { field } : {});
  }
  return value as Record<string, unknown>;
}

function stringAt(value: unknown, field: string): string {
  if (typeof value !== "string") throw new PkiError("E_PROFILE", "must be a string", { field });
  return value;
}

function stringArray(value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== "string")) {
    throw new PkiError("E_PROFILE", "must be an array of strings", { field });
  }
  return value as string[];
}

function booleanAt(value: unknown, field: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new PkiError("E_PROFILE", "must be true or false", { field });
  return value;
}

function urlAt(value: unknown, field: string): string {
  const text = stringAt(value, field);
  if (!URL.canParse(text)) throw new PkiError("E_PROFILE", `"${text}" is not a URL`, { field });
  return text;
}

function dateAt(value: unknown, field: string): Date {
  const text = stringAt(value, field);
  const date = new Date(text);
  if (!/^\d{4}-\d\d-\d\dT/.test(text) || Number.isNaN(date.getTime())) {
    throw new PkiError("E_PROFILE", `"${text}" is not an RFC 3339 time like 2026-01-01T00:00:00Z`, { field });
  }
  return date;
}

function pick(source: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(keys.filter((k) => source[k] !== undefined).map((k) => [k, source[k]]));
}
