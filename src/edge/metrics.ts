/**
 * The edge's Prometheus metrics, in two registries that never share a name: the workers' (traffic) and the
 * supervisor's (config, CRLs). With several worker processes the supervisor sums the workers' over IPC.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export interface EdgeMetrics {
  registry: Registry;
  handshakes: Counter<"host" | "result">;
  requests: Counter<"host" | "result">;
  verificationFailures: Counter<"host" | "reason">;
  upstreamSeconds: Histogram<"host">;
  snapshotVersion: Gauge;
  firewallMatches: Counter<"host" | "rule" | "action">;
}

export interface SupervisorMetrics {
  registry: Registry;
  crlEntries: Gauge<"source">;
  crlAgeSeconds: Gauge<"source">;
  crlStale: Gauge<"source">;
  crlFetchErrors: Counter<"source">;
  configReloads: Counter<"result">;
}

export function createEdgeMetrics(): EdgeMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    handshakes: new Counter({
      name: "portcullis_tls_handshakes_total",
      help: "Completed TLS handshakes by host and client-certificate result (verified, invalid, none, public)",
      labelNames: ["host", "result"],
      registers,
    }),
    requests: new Counter({
      name: "portcullis_requests_total",
      help: "Requests by host and edge result (forwarded, denied, misdirected, bad_request, upstream_error)",
      labelNames: ["host", "result"],
      registers,
    }),
    verificationFailures: new Counter({
      name: "portcullis_client_cert_failures_total",
      help: "Requests whose client certificate did not pass, by reason code",
      labelNames: ["host", "reason"],
      registers,
    }),
    upstreamSeconds: new Histogram({
      name: "portcullis_upstream_response_seconds",
      help: "Time from sending a request to the origin to its response headers",
      labelNames: ["host"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    snapshotVersion: new Gauge({
      name: "portcullis_snapshot_version",
      help: "Version of the Snapshot being served (the oldest across workers)",
      aggregator: "min",
      registers,
    }),
    firewallMatches: new Counter({
      name: "portcullis_firewall_rule_matches_total",
      help: "Requests a custom firewall rule matched, by host, rule id and action (block, log, skip, drop)",
      labelNames: ["host", "rule", "action"],
      registers,
    }),
  };
}

export function createSupervisorMetrics(): SupervisorMetrics {
  const registry = new Registry();
  const registers = [registry];
  return {
    registry,
    crlEntries: new Gauge({
      name: "portcullis_crl_entries",
      help: "Revoked serials in each CRL source's last good copy",
      labelNames: ["source"],
      registers,
    }),
    crlAgeSeconds: new Gauge({
      name: "portcullis_crl_age_seconds",
      help: "Seconds since each CRL's thisUpdate",
      labelNames: ["source"],
      registers,
    }),
    crlStale: new Gauge({
      name: "portcullis_crl_stale",
      help: "1 when a CRL is past its nextUpdate or has no good copy (an alert condition)",
      labelNames: ["source"],
      registers,
    }),
    crlFetchErrors: new Counter({
      name: "portcullis_crl_fetch_errors_total",
      help: "Failed CRL fetches or reads",
      labelNames: ["source"],
      registers,
    }),
    configReloads: new Counter({
      name: "portcullis_config_reloads_total",
      help: "Config reloads by result (applied, refused)",
      labelNames: ["result"],
      registers,
    }),
  };
}
