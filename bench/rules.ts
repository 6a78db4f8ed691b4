/**
 * Rule evaluation cost: ns per request to evaluate 1, 10 and 100 compiled rules (every rule evaluated,
 * as for `log` rules or a request no rule blocks), over requests with a verified, a missing and a
 * revoked client certificate. Also the compile time per rule. Times are CPU time (process.cpuUsage), so
 * other load on the machine inflates them less than wall-clock time would.
 *   node_modules/.bin/node bench/rules.ts
 * `runRulesBench()` returns the numbers for `npm run bench`.
 */
import { pathToFileURL } from "node:url";
import { type CompiledExpression, compileExpression, type RuleRequest } from "../src/rules/index.ts";

export interface RulesBenchResult {
  /** ns of CPU time per request (all rules evaluated) for each rule count. */
  rules: { count: number; nsPerRequest: number }[];
  /** µs to parse, type-check and compile one rule (the mix below). */
  compileMicrosPerRule: number;
  requests: number;
}

/** Realistic rules on client-certificate fields, the path, the host, headers and the address. */
function ruleSource(i: number): string {
  const templates = [
    `(http.host in {"api${i}.example.com"} and not cf.tls_client_auth.cert_verified)`,
    `((not cf.tls_client_auth.cert_verified or cf.tls_client_auth.cert_revoked) and http.request.uri.path in {"/admin${i}"})`,
    `not (cf.tls_client_auth.cert_verified and cf.tls_client_auth.cert_issuer_ski eq "${String(i).padStart(40, "A")}")`,
    `starts_with(http.request.uri.path, "/api/v${i}/") and mtls.verification_status ne "SUCCESS"`,
    `http.request.uri.path matches r"^/internal/${i}/.*\\.json$" and not ip.src in {10.0.0.0/8 192.168.${i % 256}.0/24}`,
    `lower(http.request.headers["x-client"][0]) eq "svc${i}" and not cf.tls_client_auth.cert_subject_dn contains "OU=svc${i}"`,
    `http.host eq "app${i}.example.com" && http.request.method in {"POST" "PUT" "DELETE"} && !cf.tls_client_auth.cert_presented`,
  ];
  return templates[i % templates.length] as string;
}

function request(
  path: string,
  ip: string,
  tls: Record<string, string | boolean>,
  verificationStatus: string,
): RuleRequest {
  return {
    host: "api.example.com",
    method: "GET",
    uri: `${path}?page=2`,
    path,
    query: "page=2",
    headers: {
      host: "api.example.com",
      "user-agent": "curl/8.5.0",
      accept: "*/*",
      "x-client": "Svc-Reports",
    },
    ip,
    ssl: true,
    tlsClientAuth: () => tls,
    verificationStatus,
  };
}

function tlsFields(
  presented: boolean,
  verified: boolean,
  revoked: boolean,
): Record<string, string | boolean> {
  return {
    cert_presented: presented,
    cert_verified: verified,
    cert_revoked: revoked,
    cert_subject_dn: presented ? "CN=reports,OU=svc-reports,O=Example" : "",
    cert_issuer_dn: presented ? "CN=Example Client CA,O=Example" : "",
    cert_issuer_ski: presented ? "6A30C1D1E2F30405060708090A0B0C0D0E0F1011" : "",
    cert_serial: presented ? "4F2A" : "",
  };
}

const REQUESTS: RuleRequest[] = [
  request("/api/v2/reports/7", "203.0.113.9", tlsFields(true, true, false), "SUCCESS"),
  request(
    "/internal/3/data.json",
    "::ffff:192.0.2.44",
    tlsFields(false, false, false),
    "MISSING_CLIENT_CERTIFICATE",
  ),
  request("/admin", "2001:db8::17", tlsFields(true, true, true), "CERTIFICATE_VERIFICATION_ERROR"),
];

/** CPU time (user + system) in ns: time spent descheduled on a busy machine does not count. */
function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

function measure(rules: readonly CompiledExpression[], iterations: number): number {
  let matched = 0;
  const start = cpuNs();
  for (let n = 0; n < iterations; n++) {
    const r = REQUESTS[n % REQUESTS.length] as RuleRequest;
    for (const rule of rules) if (rule(r)) matched++;
  }
  const ns = cpuNs() - start;
  if (matched < 0) throw new Error("unreachable"); // keeps the loop's result alive
  return ns / iterations;
}

export function runRulesBench(options: { budgetMs?: number } = {}): RulesBenchResult {
  const budgetNs = (options.budgetMs ?? 600) * 1e6;
  const sources = Array.from({ length: 100 }, (_, i) => ruleSource(i));
  const compileStart = cpuNs();
  const compiled = sources.map((s) => compileExpression(s));
  const compileMicrosPerRule = (cpuNs() - compileStart) / 1000 / sources.length;
  const rules: RulesBenchResult["rules"] = [];
  for (const count of [1, 10, 100]) {
    const set = compiled.slice(0, count);
    measure(set, 20_000); // warm up
    // Size the run to the budget: each count gets about a third of it.
    const probe = measure(set, 5_000);
    const iterations = Math.max(10_000, Math.floor(budgetNs / 3 / Math.max(probe, 1)));
    rules.push({ count, nsPerRequest: Math.round(measure(set, iterations)) });
  }
  return {
    rules,
    compileMicrosPerRule: Math.round(compileMicrosPerRule * 10) / 10,
    requests: REQUESTS.length,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const result = runRulesBench();
  console.log("rules  ns/request  ns/rule");
  for (const { count, nsPerRequest } of result.rules) {
    console.log(
      `${String(count).padStart(5)}  ${String(nsPerRequest).padStart(10)}  ${(nsPerRequest / count).toFixed(1).padStart(7)}`,
    );
  }
  console.log(`compile: ${result.compileMicrosPerRule} µs per rule`);
  console.log(JSON.stringify(result));
}
