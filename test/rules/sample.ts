/** Sample requests for the rules tests. */
import { compileExpression, type RuleRequest } from "../../src/rules/index.ts";

export const SKI = "6A30C1D1E2F30405060708090A0B0C0D0E0F1011";

export function tls(
  state: "verified" | "unverified" | "revoked" | "missing",
  extra: Record<string, string | boolean> = {},
): Record<string, string | boolean> {
  const presented = state !== "missing";
  return {
    cert_presented: presented,
    cert_verified: state === "verified" || state === "revoked",
    cert_revoked: state === "revoked",
    cert_subject_dn: presented ? "CN=alice,OU=Admins,O=Example" : "",
    cert_issuer_dn: presented ? "CN=Example CA,O=Example" : "",
    cert_issuer_ski: presented ? SKI : "",
    cert_serial: presented ? "4F2A" : "",
    ...extra,
  };
}

export function sample(
  overrides: Partial<RuleRequest> & { tls?: Record<string, string | boolean> } = {},
): RuleRequest {
  const { tls: fields = tls("verified"), ...rest } = overrides;
  const status = !fields.cert_presented
    ? "MISSING_CLIENT_CERTIFICATE"
    : fields.cert_verified && !fields.cert_revoked
      ? "SUCCESS"
      : "CERTIFICATE_VERIFICATION_ERROR";
  return {
    host: "api.example.com",
    method: "GET",
    uri: "/admin?page=2",
    path: "/admin",
    query: "page=2",
    headers: { host: "api.example.com", "user-agent": "curl/8.5.0", accept: "application/json" },
    ip: "203.0.113.9",
    ssl: true,
    tlsClientAuth: () => fields,
    verificationStatus: status,
    ...rest,
  };
}

/** Compiles and evaluates against one request. */
export function evaluate(expression: string, request: RuleRequest = sample()): boolean {
  return compileExpression(expression)(request);
}
