/**
 * Hostnames of the zone: add and edit everything the edge knows of a host — origin, server certificate,
 * mTLS mode (enforce, permissive, off) with per-path overrides, CRLs, forwarding formats — and which CAs
 * its clients' certificates may come from (hostname associations). Checked as you type.
 */
import { type FormEvent, useState } from "react";
import { del, describe, enc, get, getAll, post, put, qs } from "../api.ts";
import {
  headerNameProblem,
  hostnameProblem,
  inZone,
  originUrlProblem,
  pathPrefixProblem,
} from "../checks.ts";
import { useSession } from "../session.tsx";
import {
  FORWARD_FORMATS,
  type ForwardSpec,
  type Hostname,
  MTLS_MODES,
  type MtlsCertificate,
  type MtlsMode,
  NGINX_VARIABLES,
  type Zone,
} from "../types.ts";
import {
  Badge,
  Confirm,
  Empty,
  Field,
  FormError,
  Modal,
  ModalActions,
  Page,
  Section,
  Show,
  TableHead,
  TextField,
  useFlash,
  useLoad,
} from "../ui.tsx";

const MANAGED = "managed";

interface HostRow extends Hostname {
  trustedBy: string[];
}

interface Catalog {
  hosts: HostRow[];
  certificates: MtlsCertificate[];
  /** CA id (or "managed") → hostnames of this zone associated with it. */
  associations: Map<string, string[]>;
}

const MODE_TONE: Record<MtlsMode, "ok" | "warn" | "muted"> = {
  enforce: "ok",
  permissive: "warn",
  off: "muted",
};

async function loadCatalog(zone: Zone): Promise<Catalog> {
  const [hosts, certificates] = await Promise.all([
    getAll<Hostname>(`/zones/${enc(zone.id)}/hostnames`),
    getAll<MtlsCertificate>(`/accounts/${enc(zone.account.id)}/mtls_certificates`).catch(() => []),
  ]);
  const associations = new Map<string, string[]>();
  const path = `/zones/${enc(zone.id)}/certificate_authorities/hostname_associations`;
  await Promise.all(
    [MANAGED, ...certificates.filter((c) => c.ca).map((c) => c.id)].map(async (id) => {
      const answer = await get<{ hostnames: string[] }>(
        `${path}${id === MANAGED ? "" : qs({ mtls_certificate_id: id })}`,
      );
      associations.set(id, answer.hostnames);
    }),
  );
  const caName = (id: string) =>
    id === MANAGED ? "managed CA" : (certificates.find((c) => c.id === id)?.name ?? id.slice(0, 8));
  return {
    certificates,
    associations,
    hosts: hosts.map((host) => ({
      ...host,
      trustedBy: [...associations]
        .filter(([, names]) => names.includes(host.hostname))
        .map(([id]) => caName(id)),
    })),
  };
}

export function HostnamesPage() {
  const session = useSession();
  const { zone } = session;
  const [addingZone, setAddingZone] = useState(false);
  const [flash, say] = useFlash();
  const [editing, setEditing] = useState<HostRow | "new">();
  const [deleting, setDeleting] = useState<HostRow>();
  const loaded = useLoad(async () => (zone ? loadCatalog(zone) : undefined), zone?.id ?? "");
  return (
    <Page
      title="Hostnames"
      intro="Each hostname: where requests go, which certificate the edge serves, and whether clients must present one."
      actions={
        <>
          <button type="button" disabled={session.accounts.length === 0} onClick={() => setAddingZone(true)}>
            Add zone
          </button>
          <button
            type="button"
            className="primary"
            disabled={!zone || !loaded.data}
            onClick={() => setEditing("new")}
          >
            Add hostname
          </button>
        </>
      }
    >
      {flash}
      {addingZone ? (
        <ZoneForm
          onClose={() => setAddingZone(false)}
          onDone={(message) => {
            setAddingZone(false);
            say(message);
          }}
        />
      ) : null}
      {!zone ? (
        <Empty title="No zone yet">
          A zone is a domain (like example.com) whose hostnames the edge serves: add one first.
        </Empty>
      ) : (
        <Section title={`Hostnames of ${zone.name}`}>
          <Show loaded={loaded} what="hostnames">
            {(catalog) =>
              catalog && catalog.hosts.length > 0 ? (
                <div className="table-wrap">
                  <table>
                    <TableHead columns={["Hostname", "mTLS", "Origin", "Clients trusted from"]} actions />
                    <tbody>
                      {catalog.hosts.map((host) => (
                        <tr key={host.id}>
                          <td data-label="Hostname">
                            {host.hostname} {host.default ? <Badge tone="info">default</Badge> : null}
                          </td>
                          <td data-label="mTLS">
                            <Badge tone={MODE_TONE[host.mtls.mode]}>{host.mtls.mode}</Badge>
                            {host.mtls.paths.length > 0 ? (
                              <span className="muted"> +{host.mtls.paths.length} path rules</span>
                            ) : null}
                          </td>
                          <td data-label="Origin" className="wrap mono">
                            {host.origin.url}
                          </td>
                          <td data-label="Clients trusted from">
                            {host.trustedBy.length ? (
                              host.trustedBy.join(", ")
                            ) : (
                              <span className="muted">no CA</span>
                            )}
                          </td>
                          <td className="actions">
                            <button type="button" onClick={() => setEditing(host)}>
                              Edit
                            </button>
                            <button
                              type="button"
                              className="danger-outline"
                              onClick={() => setDeleting(host)}
                            >
                              Delete
                            </button>
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              ) : (
                <Empty title="No hostnames yet">
                  Add one: its origin, and whether the edge asks clients for a certificate.
                </Empty>
              )
            }
          </Show>
        </Section>
      )}
      {editing && zone && loaded.data ? (
        <HostnameForm
          zone={zone}
          catalog={loaded.data}
          host={editing === "new" ? undefined : editing}
          onClose={() => setEditing(undefined)}
          onSaved={(message) => {
            setEditing(undefined);
            say(message);
            loaded.reload();
          }}
        />
      ) : null}
      {deleting && zone ? (
        <Confirm
          title={`Delete ${deleting.hostname}?`}
          confirm="Delete hostname"
          danger
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await del(`/zones/${enc(zone.id)}/hostnames/${enc(deleting.id)}`);
            say(`Deleted ${deleting.hostname}: the edge stops serving it within a second.`);
            loaded.reload();
          }}
        >
          <p>The edge stops serving {deleting.hostname} within a second.</p>
        </Confirm>
      ) : null}
    </Page>
  );
}

interface PathRow {
  key: number;
  prefix: string;
  mode: MtlsMode;
}

interface HeaderRow {
  key: number;
  header: string;
  variable: string;
}

/** Stable React keys for rows the user adds and removes. */
let nextKey = 1;
const keyed = <T extends object>(row: T): T & { key: number } => ({ ...row, key: nextKey++ });

function HostnameForm(props: {
  zone: Zone;
  catalog: Catalog;
  host: HostRow | undefined;
  onClose: () => void;
  onSaved: (message: string) => void;
}) {
  const { zone, catalog, host } = props;
  const [name, setName] = useState(host?.hostname ?? "");
  const [isDefault, setIsDefault] = useState(host?.default ?? false);
  const [origin, setOrigin] = useState(host?.origin.url ?? "");
  const [originCa, setOriginCa] = useState(host?.origin.ca_certificate_id ?? "");
  const [serverCertificate, setServerCertificate] = useState(host?.server_certificate_id ?? "");
  const [mode, setMode] = useState<MtlsMode>(host?.mtls.mode ?? "enforce");
  const [paths, setPaths] = useState<PathRow[]>(() => (host?.mtls.paths ?? []).map(keyed));
  const [crls, setCrls] = useState((host?.mtls.crls ?? []).join("\n"));
  const [staleCrl, setStaleCrl] = useState(host?.mtls.stale_crl ?? "deny");
  const [formats, setFormats] = useState<string[]>(() =>
    (host?.forward ?? ["cloudflare"]).flatMap((spec) => (typeof spec === "string" ? [spec] : [])),
  );
  const [headers, setHeaders] = useState<HeaderRow[]>(() =>
    (host?.forward ?? []).flatMap((spec) => (typeof spec === "string" ? [] : [keyed(spec)])),
  );
  const trustedIds = [...catalog.associations]
    .filter(([, names]) => host && names.includes(host.hostname))
    .map(([id]) => id);
  const [trusted, setTrusted] = useState<string[]>(host ? trustedIds : [MANAGED]);
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const lower = name.trim().toLowerCase().replace(/\.$/, "");
  const nameProblem =
    hostnameProblem(name) ??
    (inZone(lower, zone)
      ? undefined
      : `${lower} is not in the zone ${zone.name}: use a name ending in .${zone.name}.`) ??
    (catalog.hosts.some((h) => h.hostname === lower && h.id !== host?.id)
      ? `${lower} already exists.`
      : undefined);
  const originProblem = originUrlProblem(origin);
  const serverProblem = serverCertificate
    ? undefined
    : "Choose the certificate the edge serves for this hostname (upload it with its key under Certificates): without one the edge does not serve it.";
  const pathProblems = paths.map(
    (row, index) =>
      pathPrefixProblem(row.prefix) ??
      (paths.findIndex((other) => other.prefix === row.prefix) < index
        ? `${row.prefix} is listed twice.`
        : undefined),
  );
  const crlList = crls.split(/\s+/).filter(Boolean);
  const crlProblem = crlList
    .map((crl) =>
      crl.startsWith("/") || /^https?:\/\/[^\s]+$/.test(crl)
        ? undefined
        : `“${crl}” is not an http(s) URL or an absolute file path.`,
    )
    .find(Boolean);
  const headerProblems = headers.map((row) => headerNameProblem(row.header));
  const problems = [
    nameProblem,
    originProblem,
    serverProblem,
    crlProblem,
    ...pathProblems,
    ...headerProblems,
  ].filter(Boolean);
  const modeWarning =
    mode !== "off" && trusted.length === 0
      ? "No CA is trusted for this hostname: in enforce mode every client is refused."
      : undefined;

  const cas = catalog.certificates.filter((c) => c.ca);
  const leaves = catalog.certificates.filter((c) => !c.ca);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (problems.length > 0) return;
    setBusy(true);
    setError(undefined);
    const forward: ForwardSpec[] = [
      ...FORWARD_FORMATS.filter((format) => formats.includes(format)),
      ...headers.map((row) => ({ header: row.header, variable: row.variable })),
    ];
    const body = {
      hostname: lower,
      default: isDefault,
      server_certificate_id: serverCertificate || null,
      mtls: {
        mode,
        paths: paths.map((row) => ({ prefix: row.prefix, mode: row.mode })),
        crls: crlList,
        stale_crl: staleCrl,
        ...(host ? { max_chain_depth: host.mtls.max_chain_depth, ocsp: host.mtls.ocsp } : {}),
      },
      origin: {
        url: origin.trim(),
        ca_certificate_id: originCa || null,
        ...(host
          ? {
              servername: host.origin.servername,
              connect_timeout_ms: host.origin.connect_timeout_ms,
              response_timeout_ms: host.origin.response_timeout_ms,
              body_timeout_ms: host.origin.body_timeout_ms,
            }
          : {}),
      },
      forward,
    };
    try {
      if (host) await put(`/zones/${enc(zone.id)}/hostnames/${enc(host.id)}`, body);
      else await post(`/zones/${enc(zone.id)}/hostnames`, body);
      // Trust: add or remove this name in each CA's associations that changed.
      const path = `/zones/${enc(zone.id)}/certificate_authorities/hostname_associations`;
      for (const [id, names] of catalog.associations) {
        const had = names.includes(host?.hostname ?? lower) || names.includes(lower);
        const wants = trusted.includes(id);
        const renamed = host && host.hostname !== lower;
        if (had === wants && !renamed) continue;
        const kept = names.filter((n) => n !== lower && n !== host?.hostname);
        await put(path, {
          hostnames: wants ? [...kept, lower] : kept,
          ...(id === MANAGED ? {} : { mtls_certificate_id: id }),
        });
      }
      props.onSaved(`Saved ${lower}: the edge serves it within a second.`);
    } catch (err) {
      setError(describe(err));
      setBusy(false);
    }
  };

  return (
    <Modal title={host ? `Edit ${host.hostname}` : "Add hostname"} onClose={props.onClose} wide>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <Field
          label="Hostname"
          error={touched || name ? nameProblem : undefined}
          hint={`In zone ${zone.name}; *.${zone.name} for a wildcard.`}
        >
          {(attributes) => (
            <input
              {...attributes}
              value={name}
              spellCheck={false}
              onChange={(event) => setName(event.target.value)}
            />
          )}
        </Field>
        <label className="check">
          <input
            type="checkbox"
            checked={isDefault}
            onChange={(event) => setIsDefault(event.target.checked)}
          />{" "}
          Default host (serves clients that send no or an unknown server name)
        </label>
        <Field
          label="Origin URL"
          error={touched || origin ? originProblem : undefined}
          hint="Where the edge forwards requests."
        >
          {(attributes) => (
            <input
              {...attributes}
              value={origin}
              spellCheck={false}
              placeholder="http://127.0.0.1:8080"
              onChange={(event) => setOrigin(event.target.value)}
            />
          )}
        </Field>
        <div className="grid-2">
          <Field
            label="Server certificate"
            error={touched ? serverProblem : undefined}
            hint="A certificate uploaded with its key under Certificates."
          >
            {(attributes) => (
              <select
                {...attributes}
                value={serverCertificate}
                onChange={(event) => setServerCertificate(event.target.value)}
              >
                <option value="">(choose)</option>
                {leaves.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name ?? c.id}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Origin CA" hint="To verify an https origin's certificate.">
            {(attributes) => (
              <select {...attributes} value={originCa} onChange={(event) => setOriginCa(event.target.value)}>
                <option value="">(system trust)</option>
                {cas.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name ?? c.id}
                  </option>
                ))}
              </select>
            )}
          </Field>
        </div>
        <fieldset className="radio-row">
          <legend>mTLS mode</legend>
          {MTLS_MODES.map((value) => (
            <label key={value}>
              <input type="radio" name="mode" checked={mode === value} onChange={() => setMode(value)} />{" "}
              {value}
              <span className="muted">
                {value === "enforce"
                  ? " — refuse requests without a valid client certificate"
                  : value === "permissive"
                    ? " — ask for one, forward the result, refuse nobody"
                    : " — do not ask for a certificate"}
              </span>
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Clients' certificates may come from</legend>
          {[
            { id: MANAGED, label: `the zone's managed CA` },
            ...cas.map((c) => ({ id: c.id, label: c.name ?? c.id })),
          ].map((option) => (
            <label className="check" key={option.id}>
              <input
                type="checkbox"
                checked={trusted.includes(option.id)}
                onChange={(event) =>
                  setTrusted(
                    event.target.checked ? [...trusted, option.id] : trusted.filter((id) => id !== option.id),
                  )
                }
              />{" "}
              {option.label}
            </label>
          ))}
          {modeWarning ? <p className="notice notice-warn">{modeWarning}</p> : null}
        </fieldset>
        <fieldset>
          <legend>Per-path overrides</legend>
          {paths.length === 0 ? <p className="muted">None: every path uses the mode above.</p> : null}
          {paths.map((row, index) => (
            <div className="row" key={row.key}>
              <Field label={`Path prefix ${index + 1}`} error={pathProblems[index]}>
                {(attributes) => (
                  <input
                    {...attributes}
                    value={row.prefix}
                    placeholder="/health"
                    onChange={(event) =>
                      setPaths(paths.map((p, i) => (i === index ? { ...p, prefix: event.target.value } : p)))
                    }
                  />
                )}
              </Field>
              <Field label="Mode">
                {(attributes) => (
                  <select
                    {...attributes}
                    value={row.mode}
                    onChange={(event) =>
                      setPaths(
                        paths.map((p, i) =>
                          i === index ? { ...p, mode: event.target.value as MtlsMode } : p,
                        ),
                      )
                    }
                  >
                    {MTLS_MODES.map((value) => (
                      <option key={value}>{value}</option>
                    ))}
                  </select>
                )}
              </Field>
              <button
                type="button"
                className="link-button"
                onClick={() => setPaths(paths.filter((_, i) => i !== index))}
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => setPaths([...paths, keyed({ prefix: "", mode: "off" as MtlsMode })])}
          >
            Add path rule
          </button>
        </fieldset>
        <div className="grid-2">
          <TextField
            label="CRLs"
            error={crlProblem}
            hint="http(s) URLs or absolute file paths, one per line (the managed CA's CRL is added by itself)."
            value={crls}
            onChange={setCrls}
            rows={2}
          />
          <Field label="When a CRL is stale">
            {(attributes) => (
              <select
                {...attributes}
                value={staleCrl}
                onChange={(event) => setStaleCrl(event.target.value as "deny" | "allow")}
              >
                <option value="deny">deny (safer)</option>
                <option value="allow">allow</option>
              </select>
            )}
          </Field>
        </div>
        <fieldset>
          <legend>Forward the client identity to the origin as</legend>
          <div className="checks-inline">
            {FORWARD_FORMATS.map((format) => (
              <label className="check" key={format}>
                <input
                  type="checkbox"
                  checked={formats.includes(format)}
                  onChange={(event) =>
                    setFormats(
                      event.target.checked ? [...formats, format] : formats.filter((f) => f !== format),
                    )
                  }
                />{" "}
                {format}
              </label>
            ))}
          </div>
          {headers.map((row, index) => (
            <div className="row" key={row.key}>
              <Field label={`Header ${index + 1}`} error={headerProblems[index]}>
                {(attributes) => (
                  <input
                    {...attributes}
                    value={row.header}
                    placeholder="X-Client-Verify"
                    onChange={(event) =>
                      setHeaders(
                        headers.map((h, i) => (i === index ? { ...h, header: event.target.value } : h)),
                      )
                    }
                  />
                )}
              </Field>
              <Field label="nginx variable">
                {(attributes) => (
                  <select
                    {...attributes}
                    value={row.variable}
                    onChange={(event) =>
                      setHeaders(
                        headers.map((h, i) => (i === index ? { ...h, variable: event.target.value } : h)),
                      )
                    }
                  >
                    {NGINX_VARIABLES.map((value) => (
                      <option key={value}>{value}</option>
                    ))}
                  </select>
                )}
              </Field>
              <button
                type="button"
                className="link-button"
                onClick={() => setHeaders(headers.filter((_, i) => i !== index))}
              >
                Remove
              </button>
            </div>
          ))}
          <button
            type="button"
            onClick={() => setHeaders([...headers, keyed({ header: "", variable: "ssl_client_verify" })])}
          >
            Add custom header
          </button>
        </fieldset>
        {touched && problems.length > 0 ? (
          <div className="notice notice-error" role="alert">
            Fix {problems.length === 1 ? "the problem" : `the ${problems.length} problems`} above:{" "}
            {problems[0]}
          </div>
        ) : null}
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Save hostname" busy={busy} busyText="Saving…" />
      </form>
    </Modal>
  );
}

/** A new zone (a domain) in one of the token's accounts; it becomes the selected zone. */
function ZoneForm(props: { onClose: () => void; onDone: (message: string) => void }) {
  const session = useSession();
  const [name, setName] = useState("");
  const [accountId, setAccountId] = useState(session.account?.id ?? session.accounts[0]?.id ?? "");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const lower = name.trim().toLowerCase().replace(/\.$/, "");
  const nameProblem =
    hostnameProblem(name) ??
    (lower.startsWith("*.") || !lower.includes(".")
      ? "A zone is a domain with a dot, like example.com."
      : undefined) ??
    (session.zones.some((z) => z.name === lower) ? `${lower} already exists.` : undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (nameProblem) return;
    try {
      const created = await post<Zone>("/zones", { name: lower, account: { id: accountId } });
      await session.refresh();
      session.selectZone(created.id);
      props.onDone(`Added the zone ${created.name}.`);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Modal title="Add zone" onClose={props.onClose}>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField
          label="Domain"
          error={touched || name ? nameProblem : undefined}
          value={name}
          onChange={setName}
        />
        {session.accounts.length > 1 ? (
          <Field label="Account">
            {(attributes) => (
              <select
                {...attributes}
                value={accountId}
                onChange={(event) => setAccountId(event.target.value)}
              >
                {session.accounts.map((account) => (
                  <option key={account.id} value={account.id}>
                    {account.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Add zone" />
      </form>
    </Modal>
  );
}
