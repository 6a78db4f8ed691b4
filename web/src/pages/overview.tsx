/**
 * Overview: requests and mTLS results over the last hour (from the edge's analytics), the top failure
 * reasons and hosts, CRL warnings, certificates expiring within 30 days and the hostnames' modes.
 */
import { useEffect } from "react";
import { ApiFailure, enc, get, getAll } from "../api.ts";
import { MtlsChart, SERIES } from "../chart.tsx";
import { Link, useSession } from "../session.tsx";
import type { ClientCertificate, Hostname, MtlsAnalytics, MtlsCertificate, Zone } from "../types.ts";
import { Badge, daysUntil, Empty, formatDate, Page, Section, Show, useLoad } from "../ui.tsx";

const CRL_REASONS = new Set(["crl_expired", "crl_unavailable", "crl_stale"]);

export function OverviewPage() {
  const session = useSession();
  const account = session.account;
  const zones = session.zones.filter((zone) => zone.account.id === account?.id);
  const analytics = useLoad(
    async () =>
      account ? get<MtlsAnalytics>(`/accounts/${enc(account.id)}/analytics/mtls?minutes=60`) : undefined,
    account?.id ?? "",
  );
  // The edge keeps counting: refresh the chart every 30 seconds while the page is open.
  const reload = analytics.reload;
  useEffect(() => {
    const timer = setInterval(reload, 30_000);
    return () => clearInterval(timer);
  }, [reload]);
  return (
    <Page
      title="Overview"
      intro={account ? `Account ${account.name}: the last hour at the edge of this node.` : undefined}
    >
      {!account ? (
        <Empty title="Nothing to show yet">Your token sees no account.</Empty>
      ) : (
        <>
          <Section
            title="Requests by mTLS result"
            actions={
              <button type="button" onClick={analytics.reload}>
                Refresh
              </button>
            }
          >
            <Show loaded={analytics} what="analytics" feature="Edge analytics">
              {(data) =>
                data ? (
                  <>
                    <div className="stats">
                      <Stat label="Requests" value={data.totals.requests} />
                      {SERIES.slice(0, 4).map((series) => (
                        <Stat key={series.key} label={series.label} value={data.totals[series.key]} />
                      ))}
                    </div>
                    {data.totals.requests === 0 ? (
                      <Empty title="No requests in the last hour">
                        Send a request to one of your hostnames to see it here.
                      </Empty>
                    ) : (
                      <MtlsChart buckets={data.buckets} />
                    )}
                  </>
                ) : null
              }
            </Show>
          </Section>
          <div className="grid-2">
            <Section title="Top failure reasons">
              <Show loaded={analytics} what="reasons" feature="Edge analytics">
                {(data) =>
                  data && data.top_reasons.length > 0 ? (
                    <ol className="ranked">
                      {data.top_reasons.map((row) => (
                        <li key={row.reason}>
                          <Link to={`/events?reason=${encodeURIComponent(row.reason)}`}>{row.reason}</Link>
                          <span className="count">{row.count}</span>
                        </li>
                      ))}
                    </ol>
                  ) : (
                    <Empty title="No failures in the last hour" />
                  )
                }
              </Show>
            </Section>
            <Section title="Top hosts">
              <Show loaded={analytics} what="hosts" feature="Edge analytics">
                {(data) =>
                  data && data.top_hosts.length > 0 ? (
                    <ol className="ranked">
                      {data.top_hosts.map((row) => (
                        <li key={row.host}>
                          <Link to={`/events?host=${encodeURIComponent(row.host)}`}>{row.host}</Link>
                          <span className="count">
                            {row.requests} requests{row.failures ? `, ${row.failures} failed` : ""}
                          </span>
                        </li>
                      ))}
                    </ol>
                  ) : (
                    <Empty title="No requests in the last hour" />
                  )
                }
              </Show>
            </Section>
          </div>
          <Warnings accountId={account.id} zones={zones} analytics={analytics.data} />
        </>
      )}
    </Page>
  );
}

function Stat({ label, value }: { label: string; value: number }) {
  return (
    <div className="stat">
      <div className="stat-value">{value.toLocaleString()}</div>
      <div className="stat-label">{label}</div>
    </div>
  );
}

interface Expiring {
  what: string;
  name: string;
  expires: string;
  to: string;
}

interface Health {
  expiring: Expiring[];
  crls: { zone: Zone; problem?: string; nextUpdate?: Date; revoked?: number }[];
  hosts: Hostname[];
  externalCrls: number;
}

function Warnings(props: { accountId: string; zones: Zone[]; analytics: MtlsAnalytics | undefined }) {
  const health = useLoad(
    async (): Promise<Health> => {
      const now = Date.now();
      const soon = (iso: string) => daysUntil(iso, now) <= 30;
      const certificates = await getAll<MtlsCertificate>(
        `/accounts/${enc(props.accountId)}/mtls_certificates`,
      );
      const expiring: Expiring[] = certificates
        .filter((c) => soon(c.expires_on))
        .map((c) => ({
          what: c.ca ? "CA" : "server certificate",
          name: c.name ?? c.id,
          expires: c.expires_on,
          to: "/certificates",
        }));
      const hosts: Hostname[] = [];
      const crls: Health["crls"] = [];
      const { readCrl } = await import("../pki/crl.ts");
      for (const zone of props.zones) {
        hosts.push(...(await getAll<Hostname>(`/zones/${enc(zone.id)}/hostnames`)));
        const clients = await getAll<ClientCertificate>(
          `/zones/${enc(zone.id)}/client_certificates?status=active`,
        ).catch((error: unknown) => (error instanceof ApiFailure ? [] : Promise.reject(error)));
        for (const c of clients.filter((c) => soon(c.expires_on)))
          expiring.push({
            what: "client certificate",
            name: c.common_name || c.id,
            expires: c.expires_on,
            to: "/certificates",
          });
        const response = await fetch(`/crl/${zone.id}.crl`, { cache: "no-cache" }).catch(() => undefined);
        if (response?.status === 404) continue;
        if (!response?.ok) {
          crls.push({
            zone,
            problem: `the CRL could not be fetched (${response?.status ?? "network error"})`,
          });
          continue;
        }
        try {
          const crl = readCrl(new Uint8Array(await response.arrayBuffer()));
          crls.push({
            zone,
            ...(crl.nextUpdate ? { nextUpdate: crl.nextUpdate } : {}),
            revoked: crl.revoked,
            ...(crl.nextUpdate && crl.nextUpdate.getTime() < now
              ? { problem: "the CRL is past its next update" }
              : {}),
          });
        } catch {
          crls.push({ zone, problem: "the CRL could not be read" });
        }
      }
      expiring.sort((a, b) => a.expires.localeCompare(b.expires));
      return { expiring, crls, hosts, externalCrls: hosts.filter((h) => h.mtls.crls.length > 0).length };
    },
    `${props.accountId}/${props.zones.map((z) => z.id).join(",")}`,
  );
  const crlDenials = (props.analytics?.top_reasons ?? []).filter((row) => CRL_REASONS.has(row.reason));
  return (
    <div className="grid-2">
      <Section title="Certificates expiring within 30 days">
        <Show loaded={health} what="certificates">
          {(data) =>
            data.expiring.length === 0 ? (
              <Empty title="Nothing expires in the next 30 days" />
            ) : (
              <ul className="ranked">
                {data.expiring.map((item) => (
                  <li key={`${item.what}${item.name}${item.expires}`}>
                    <Link to={item.to}>{item.name}</Link> <span className="muted">({item.what})</span>
                    <span className="count">
                      {daysUntil(item.expires) < 0 ? (
                        <Badge tone="bad">expired</Badge>
                      ) : (
                        <Badge tone="warn">{daysUntil(item.expires)} days</Badge>
                      )}{" "}
                      {formatDate(item.expires).slice(0, 10)}
                    </span>
                  </li>
                ))}
              </ul>
            )
          }
        </Show>
      </Section>
      <Section title="Revocation (CRLs)">
        {crlDenials.map((row) => (
          <p key={row.reason} className="notice notice-error">
            {row.count} requests were refused in the last hour because a CRL was stale or unreachable (
            {row.reason}).
          </p>
        ))}
        <Show loaded={health} what="CRLs">
          {(data) => (
            <>
              {data.crls.length === 0 ? (
                <p className="muted">No managed CA yet: its CRL appears with the first client certificate.</p>
              ) : (
                <ul className="ranked">
                  {data.crls.map((crl) => (
                    <li key={crl.zone.id}>
                      <span>
                        Managed CA of {crl.zone.name}: {crl.revoked ?? 0} revoked
                      </span>
                      <span className="count">
                        {crl.problem ? (
                          <Badge tone="bad">{crl.problem}</Badge>
                        ) : (
                          <Badge tone="ok">
                            fresh until {formatDate(crl.nextUpdate?.toISOString()).slice(5, 16)}
                          </Badge>
                        )}
                      </span>
                    </li>
                  ))}
                </ul>
              )}
              {data.externalCrls > 0 ? (
                <p className="muted">
                  {data.externalCrls} hostname(s) also check CRLs you configured; the edge refreshes them and
                  a stale one shows up above as refused requests.
                </p>
              ) : null}
              <p className="muted">
                Hostnames:{" "}
                {(["enforce", "permissive", "off"] as const)
                  .map((mode) => `${data.hosts.filter((h) => h.mtls.mode === mode).length} ${mode}`)
                  .join(", ")}
                . <Link to="/hostnames">Manage</Link>
              </p>
            </>
          )}
        </Show>
      </Section>
    </div>
  );
}
