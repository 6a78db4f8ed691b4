/**
 * Custom firewall rules at the edge: the first stage after `decide` forwards a request (docs/edge.md).
 * A host's rules are compiled once per Snapshot into closures (src/rules/); per request the edge builds
 * one small RuleRequest whose costly parts (the query split, the `cf.tls_client_auth.*` map) are made
 * only if a rule reads them, and runs the rules in order:
 *   log   → record an event with the rule id and go on;
 *   skip  → stop evaluating (the remaining rules of the ruleset are skipped), the request goes on;
 *   block → answer the rule's response, or the edge's 403 page (reason `rule`);
 *   drop  → close the connection (HTTP/1.1) or the HTTP/2 session without any response.
 */
import type { ServerResponse } from "node:http";
import type { Http2ServerRequest } from "node:http2";
import type { Logger } from "pino";
import type { FirewallRule } from "../config/types.ts";
import { requestEvent } from "../events/edge.ts";
import type { EventSink } from "../events/types.ts";
import { type CompiledExpression, compileExpression, type RuleRequest } from "../rules/index.ts";
import type { RequestAuth } from "./client-auth.ts";
import { type Decision, hostOf } from "./decide.ts";
import { type CertificateFields, tlsClientAuthFields, verificationStatus } from "./identity.ts";
import type { EdgeMetrics } from "./metrics.ts";
import type { EdgeRequest, EdgeResponse } from "./proxy.ts";
import { type EdgeAnswer, edgeAnswer } from "./respond.ts";

export interface CompiledRule {
  readonly id: string;
  readonly action: FirewallRule["action"];
  readonly test: CompiledExpression;
  /** block with a custom response: the whole answer, made once. */
  readonly answer: EdgeAnswer | undefined;
}

export interface CompiledFirewall {
  /** The enabled rules, in order. */
  readonly rules: readonly CompiledRule[];
}

/** What the rules decided for a request they stop: an answer, or `null` to drop the connection. */
export interface FirewallVerdict {
  answer: EdgeAnswer | null;
}

type Forward = Extract<Decision, { kind: "forward" }>;

/** Hosts sharing one rules list (a zone's ruleset) share one compiled firewall. */
const compiled = new WeakMap<readonly FirewallRule[], CompiledFirewall | undefined>();

/**
 * The host's rules as closures; undefined when none is enabled (the edge then skips the stage). An
 * expression that does not compile throws (naming the rule), so the Snapshot is refused and the last
 * good one keeps serving: rules were checked when saved, so only a stricter language can get here.
 */
export function compileFirewall(
  rules: readonly FirewallRule[] | undefined,
  hostname = "",
): CompiledFirewall | undefined {
  if (!rules || rules.length === 0) return undefined;
  if (compiled.has(rules)) return compiled.get(rules);
  const enabled = rules.filter((rule) => rule.enabled);
  const firewall =
    enabled.length === 0 ? undefined : { rules: enabled.map((rule) => compileRule(rule, hostname)) };
  compiled.set(rules, firewall);
  return firewall;
}

function compileRule(rule: FirewallRule, hostname: string): CompiledRule {
  let test: CompiledExpression;
  try {
    test = compileExpression(rule.expression);
  } catch (err) {
    throw new Error(`host ${hostname}: firewall rule ${rule.id}: ${(err as Error).message}`);
  }
  return { id: rule.id, action: rule.action, test, answer: rule.response && customAnswer(rule) };
}

function customAnswer(rule: FirewallRule): EdgeAnswer | undefined {
  const response = rule.response;
  if (!response) return undefined;
  return {
    status: response.status,
    headers: {
      "content-type": response.contentType,
      "cache-control": "no-store",
      "x-portcullis-reason": "rule",
      "x-portcullis-rule": rule.id,
    },
    body: response.content,
  };
}

const BARE_HOST = /^[a-z0-9.-]*[a-z0-9-]$/;

/**
 * One request as the rules see it. Fields are read only if a rule reads them; each is computed at most
 * once (the `cf.tls_client_auth.*` map comes from identity.ts, which formats every certificate field).
 */
class EdgeRuleRequest implements RuleRequest {
  readonly #req: EdgeRequest;
  readonly #auth: RequestAuth;
  #host: string | undefined;
  #path: string | undefined;
  #ip: string | undefined;
  #fields: Readonly<Record<string, string | boolean>> | undefined;
  readonly ssl = true;

  constructor(req: EdgeRequest, auth: RequestAuth) {
    this.#req = req;
    this.#auth = auth;
  }

  get host(): string {
    if (this.#host === undefined) {
      const req = this.#req;
      const authority = req.httpVersionMajor === 2 ? (req as Http2ServerRequest).authority : req.headers.host;
      // Usually the header is already a bare lower-case name: then it is used as is, with no copy.
      this.#host = authority && BARE_HOST.test(authority) ? authority : (hostOf(authority) ?? "");
    }
    return this.#host;
  }

  get method(): string {
    return this.#req.method ?? "";
  }

  get uri(): string {
    return this.#req.url ?? "/";
  }

  get path(): string {
    if (this.#path === undefined) {
      const uri = this.uri;
      const mark = uri.indexOf("?");
      this.#path = mark === -1 ? uri : uri.slice(0, mark);
    }
    return this.#path;
  }

  get query(): string {
    const uri = this.uri;
    const mark = uri.indexOf("?");
    return mark === -1 ? "" : uri.slice(mark + 1);
  }

  get headers(): Readonly<Record<string, string | string[] | undefined>> {
    return this.#req.headers;
  }

  get ip(): string {
    if (this.#ip === undefined) {
      const address = this.#req.socket?.remoteAddress ?? "";
      // A dual-stack listener reports IPv4 clients as IPv4-mapped IPv6; rules are written with IPv4.
      this.#ip = address.startsWith("::ffff:") && address.includes(".") ? address.slice(7) : address;
    }
    return this.#ip;
  }

  get verificationStatus(): string {
    return verificationStatus(this.#auth);
  }

  tlsClientAuth(): Readonly<Record<string, string | boolean>> {
    if (this.#fields === undefined) {
      this.#fields = this.#auth.presented ? certificateRuleFields(this.#auth) : NO_CERTIFICATE_FIELDS;
    }
    return this.#fields;
  }
}

/**
 * The fields depend only on the certificate (its fields are cached per chain by client-auth.ts) and on
 * whether it is verified and revoked now: made once per certificate and standing, not per request.
 */
const ruleFieldsByCertificate = new WeakMap<
  CertificateFields,
  Readonly<Record<string, string | boolean>>[]
>();

function certificateRuleFields(auth: RequestAuth): Readonly<Record<string, string | boolean>> {
  const cert = auth.cert;
  if (!cert) return tlsClientAuthFields(auth);
  let variants = ruleFieldsByCertificate.get(cert);
  if (!variants) {
    variants = [];
    ruleFieldsByCertificate.set(cert, variants);
  }
  const standing = (auth.verified ? 1 : 0) + (auth.revoked ? 2 : 0);
  let fields = variants[standing];
  if (!fields) {
    fields = Object.freeze(tlsClientAuthFields(auth));
    variants[standing] = fields;
  }
  return fields;
}

/** Every request without a certificate reads the same values: made once. */
const NO_CERTIFICATE_FIELDS = Object.freeze(
  tlsClientAuthFields({ presented: false, verified: false, revoked: false, verify: "NONE", cert: null }),
);

/** The firewall stage of one EdgeServer: evaluates, records (metrics, log line, event) and answers. */
export class FirewallStage {
  readonly #events: EventSink;
  readonly #metrics: EdgeMetrics;
  readonly #logger: Logger;

  constructor(events: EventSink, metrics: EdgeMetrics, logger: Logger) {
    this.#events = events;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /**
   * The verdict of the host's rules: undefined lets the request go on. `res` (absent for upgrades) lets
   * a `log` event carry the status finally answered. A rule that throws fails closed (500).
   */
  verdict(req: EdgeRequest, decision: Forward, res?: EdgeResponse): FirewallVerdict | undefined {
    const firewall = decision.host.firewall;
    if (firewall === undefined) return undefined;
    try {
      const request = new EdgeRuleRequest(req, decision.auth);
      for (const rule of firewall.rules) {
        if (!rule.test(request)) continue;
        const verdict = this.#matched(req, decision, rule, res);
        if (rule.action !== "log") return verdict;
      }
      return undefined;
    } catch (err) {
      this.#logger.error({ event: "internal_error", err: (err as Error).message }, "firewall rule failed");
      return { answer: edgeAnswer(500, "internal_error", req.headers) };
    }
  }

  /** Runs the rules for an HTTP request; true when they answered it (block) or dropped it (drop). */
  stops(req: EdgeRequest, res: EdgeResponse, decision: Forward): boolean {
    if (decision.host.firewall === undefined) return false;
    const verdict = this.verdict(req, decision, res);
    if (verdict === undefined) return false;
    const { answer } = verdict;
    if (answer === null) dropConnection(req);
    else {
      (res as ServerResponse).writeHead(answer.status, {
        ...answer.headers,
        "content-length": String(Buffer.byteLength(answer.body)),
      });
      res.end(answer.body);
    }
    return true;
  }

  #matched(
    req: EdgeRequest,
    { host, auth }: Forward,
    rule: CompiledRule,
    res: EdgeResponse | undefined,
  ): FirewallVerdict | undefined {
    const { action, id } = rule;
    this.#metrics.firewallMatches.inc({ host: host.name, rule: id, action });
    let verdict: FirewallVerdict | undefined;
    let status = 0;
    if (action === "block") {
      verdict = { answer: rule.answer ?? blockPage(req, id) };
      status = verdict.answer?.status ?? 0;
    } else if (action === "drop") verdict = { answer: null };
    else if (action === "skip") return undefined;
    this.#logger.info(
      {
        event: "firewall_rule",
        host: host.name,
        rule: id,
        action,
        path: req.url,
        remote: req.socket?.remoteAddress,
      },
      "firewall rule matched",
    );
    const event = requestEvent(req, host.name, host.requestsCert ? auth : null, {
      action,
      status,
      reason: "rule",
      ruleId: id,
    });
    if (action === "log" && res) {
      // A log rule lets the request go on: its event carries the status the request finally got.
      const matchedAt = Date.now();
      res.once("close", () => {
        event.status = res.headersSent ? res.statusCode : 0;
        this.#events.record(event, matchedAt);
      });
    } else this.#events.record(event);
    return verdict;
  }
}

/** The edge's own 403 page, reason `rule`, naming the rule. */
function blockPage(req: EdgeRequest, ruleId: string): EdgeAnswer {
  const answer = edgeAnswer(403, "rule", req.headers);
  answer.headers["x-portcullis-rule"] = ruleId;
  return answer;
}

/** No response at all: HTTP/1.1 closes the socket, HTTP/2 the whole session (as Azion's drop). */
function dropConnection(req: EdgeRequest): void {
  if (req.httpVersionMajor === 2) {
    const session = (req as Http2ServerRequest).stream.session;
    if (session) session.destroy();
    else (req as Http2ServerRequest).stream.destroy();
  } else req.socket.destroy();
}
