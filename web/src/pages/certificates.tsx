/**
 * Certificates: CAs uploaded to the account (the "Add mTLS Certificate" modal: paste or file, name,
 * associated hostnames), their expiry and associations; and the zone's managed-CA client certificates —
 * issued from a pasted CSR or from a key made in this browser (which never leaves it), downloadable as
 * PEM and PKCS#12, revoked and reactivated with confirmation — with the CRL's status.
 */
import { type FormEvent, useState } from "react";
import { ApiFailure, del, describe, enc, get, getAll, patch, post, put, qs } from "../api.ts";
import { certificatePemProblem, csrPemProblem, hostnameProblem, splitHostnames, zoneOf } from "../checks.ts";
import { useSession } from "../session.tsx";
import type { ClientCertificate, ClientCertificateStatus, MtlsCertificate, Zone } from "../types.ts";
import {
  Badge,
  Confirm,
  daysUntil,
  download,
  Empty,
  Field,
  FormError,
  formatDate,
  Modal,
  ModalActions,
  Page,
  Problem,
  Section,
  Show,
  TableHead,
  TextField,
  useFlash,
  useLoad,
} from "../ui.tsx";

export function CertificatesPage() {
  const [flash, say] = useFlash();
  return (
    <Page
      title="Certificates"
      intro="CAs that verify your clients' certificates, and client certificates issued by the zone's managed CA."
    >
      {flash}
      <CaSection say={say} />
      <ClientCertificatesSection say={say} />
    </Page>
  );
}

interface CaRow extends MtlsCertificate {
  hostnames: string[];
}

function CaSection({ say }: { say: (message: string) => void }) {
  const session = useSession();
  const account = session.account;
  const [adding, setAdding] = useState(false);
  const [editing, setEditing] = useState<CaRow>();
  const [deleting, setDeleting] = useState<CaRow>();
  const loaded = useLoad(async (): Promise<CaRow[]> => {
    if (!account) return [];
    const list = await getAll<MtlsCertificate>(`/accounts/${enc(account.id)}/mtls_certificates`);
    return Promise.all(
      list.map(async (certificate) => {
        const associations = await get<{ service: string }[]>(
          `/accounts/${enc(account.id)}/mtls_certificates/${enc(certificate.id)}/associations`,
        ).catch(() => []);
        return { ...certificate, hostnames: associations.map((a) => a.service) };
      }),
    );
  }, account?.id ?? "");
  return (
    <Section
      title="mTLS certificates"
      actions={
        <button type="button" className="primary" onClick={() => setAdding(true)} disabled={!account}>
          Add mTLS Certificate
        </button>
      }
    >
      {!account ? (
        <Empty title="No account to add certificates to">Your token can see no account.</Empty>
      ) : (
        <Show loaded={loaded} what="certificates">
          {(rows) =>
            rows.length === 0 ? (
              <Empty title="No certificates uploaded yet">
                Add your CA (ca.pem) and the hostnames that should trust it: clients then need a certificate
                it issued.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <TableHead columns={["Name", "Kind", "Issuer", "Expires", "Hostnames"]} actions />
                  <tbody>
                    {rows.map((row) => (
                      <tr key={row.id}>
                        <td data-label="Name">{row.name ?? <span className="muted">(no name)</span>}</td>
                        <td data-label="Kind">{row.ca ? "CA" : "Leaf"}</td>
                        <td data-label="Issuer" className="wrap">
                          {row.issuer}
                        </td>
                        <td data-label="Expires">
                          <Expiry iso={row.expires_on} />
                        </td>
                        <td data-label="Hostnames">
                          {row.hostnames.length === 0 ? (
                            <span className="muted">none</span>
                          ) : (
                            row.hostnames.join(", ")
                          )}
                        </td>
                        <td className="actions">
                          {row.ca ? (
                            <button type="button" onClick={() => setEditing(row)}>
                              Hostnames…
                            </button>
                          ) : null}
                          <button type="button" className="danger-outline" onClick={() => setDeleting(row)}>
                            Delete
                          </button>
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Show>
      )}
      {adding && account ? (
        <AddCertificateModal
          accountId={account.id}
          zones={session.zones.filter((zone) => zone.account.id === account.id)}
          onClose={() => setAdding(false)}
          onDone={(message) => {
            setAdding(false);
            say(message);
            loaded.reload();
          }}
        />
      ) : null}
      {editing ? (
        <AssociationsModal
          certificate={editing}
          zones={session.zones.filter((zone) => zone.account.id === account?.id)}
          onClose={() => setEditing(undefined)}
          onDone={(message) => {
            setEditing(undefined);
            say(message);
            loaded.reload();
          }}
        />
      ) : null}
      {deleting && account ? (
        <Confirm
          title="Delete this certificate?"
          confirm="Delete certificate"
          danger
          onClose={() => setDeleting(undefined)}
          onConfirm={async () => {
            await del(`/accounts/${enc(account.id)}/mtls_certificates/${enc(deleting.id)}`);
            say(`Deleted ${deleting.name ?? deleting.id}.`);
            loaded.reload();
          }}
        >
          <p>
            {deleting.name ?? deleting.id} will be removed. A certificate still used by a hostname cannot be
            deleted: remove its hostnames first.
          </p>
        </Confirm>
      ) : null}
    </Section>
  );
}

function Expiry({ iso }: { iso: string }) {
  const days = daysUntil(iso);
  return (
    <span className="nowrap">
      {formatDate(iso).slice(0, 10)}{" "}
      {days < 0 ? (
        <Badge tone="bad">expired</Badge>
      ) : days <= 30 ? (
        <Badge tone="warn">{days} days left</Badge>
      ) : null}
    </span>
  );
}

/** Which host names go to which zone; a problem in words for names outside every zone. */
function groupByZone(
  names: string[],
  zones: readonly Zone[],
): { byZone: Map<Zone, string[]>; problem?: string } {
  const byZone = new Map<Zone, string[]>();
  for (const name of names) {
    const problem = hostnameProblem(name);
    if (problem) return { byZone, problem };
    const zone = zoneOf(name, zones);
    if (!zone)
      return {
        byZone,
        problem: `${name} is not in any of your zones (${zones.map((z) => z.name).join(", ") || "none"}).`,
      };
    byZone.set(zone, [...(byZone.get(zone) ?? []), name]);
  }
  return { byZone };
}

/** Adds `names` to the CA's associations in each zone (keeping what is there), or replaces them all. */
async function associate(certificateId: string, names: string[], zones: readonly Zone[], replace: boolean) {
  const { byZone, problem } = groupByZone(names, zones);
  if (problem) throw new Error(problem);
  for (const zone of zones) {
    const path = `/zones/${enc(zone.id)}/certificate_authorities/hostname_associations`;
    const mine = byZone.get(zone) ?? [];
    if (!replace && mine.length === 0) continue;
    const current = (
      await get<{ hostnames: string[] }>(`${path}${qs({ mtls_certificate_id: certificateId })}`)
    ).hostnames;
    const wanted = replace ? mine : [...new Set([...current, ...mine])];
    if (wanted.length === current.length && wanted.every((name) => current.includes(name))) continue;
    await put(path, { hostnames: wanted, mtls_certificate_id: certificateId });
  }
}

function AddCertificateModal(props: {
  accountId: string;
  zones: Zone[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [kind, setKind] = useState<"ca" | "server">("ca");
  const [pem, setPem] = useState("");
  const [key, setKey] = useState("");
  const [name, setName] = useState("");
  const [hostnames, setHostnames] = useState("");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const names = splitHostnames(hostnames);
  const pemProblem = certificatePemProblem(pem);
  const keyProblem =
    kind === "server" && !/-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/.test(key)
      ? "Paste the certificate's private key (PEM): the edge needs it to serve the hostname."
      : undefined;
  const nameProblem = name.length > 200 ? "Keep the name under 200 characters." : undefined;
  const hostnamesProblem =
    kind === "ca" && names.length > 0 ? groupByZone(names, props.zones).problem : undefined;
  const invalid = Boolean(pemProblem || keyProblem || nameProblem || hostnamesProblem);

  const readFile = async (file: File | undefined, into: (text: string) => void) => {
    if (!file) return;
    if (file.size > 256 * 1024) return setError(`${file.name} is over 256 KiB: is it really a PEM file?`);
    into(await file.text());
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (invalid) return;
    setBusy(true);
    setError(undefined);
    let created: MtlsCertificate | undefined;
    try {
      created = await post<MtlsCertificate>(`/accounts/${enc(props.accountId)}/mtls_certificates`, {
        ...(name.trim() ? { name: name.trim() } : {}),
        certificates: pem.trim(),
        ca: kind === "ca",
        ...(kind === "server" ? { private_key: key.trim() } : {}),
      });
      if (kind === "ca" && names.length > 0) await associate(created.id, names, props.zones, false);
      props.onDone(
        `Added ${created.name ?? "the certificate"}${names.length && kind === "ca" ? ` for ${names.join(", ")}` : ""}.`,
      );
    } catch (err) {
      setBusy(false);
      setError(
        created
          ? `The certificate was uploaded, but its hostnames were not saved: ${describe(err)}`
          : describe(err),
      );
      if (created)
        props.onDone(`Uploaded ${created.name ?? created.id}; hostnames not saved: ${describe(err)}`);
    }
  };

  return (
    <Modal title="Add mTLS Certificate" onClose={props.onClose} wide>
      <form onSubmit={submit} noValidate className="modal-body form">
        <fieldset className="radio-row">
          <legend>What are you adding?</legend>
          <label>
            <input type="radio" name="kind" checked={kind === "ca"} onChange={() => setKind("ca")} /> A CA
            that issues client certificates
          </label>
          <label>
            <input type="radio" name="kind" checked={kind === "server"} onChange={() => setKind("server")} />{" "}
            A server certificate and key for a hostname
          </label>
        </fieldset>
        <TextField
          label="Certificate content"
          error={touched ? pemProblem : undefined}
          hint={
            kind === "ca"
              ? "The content of ca.pem. If your CA is an intermediate, paste the whole chain."
              : "The server certificate first, then its intermediates."
          }
          value={pem}
          onChange={setPem}
          rows={7}
          placeholder="-----BEGIN CERTIFICATE-----"
          mono
        />
        <Field label="…or choose a file">
          {(attributes) => (
            <input
              {...attributes}
              type="file"
              accept=".pem,.crt,.cer,.txt"
              onChange={(event) => readFile(event.target.files?.[0], setPem)}
            />
          )}
        </Field>
        {kind === "server" ? (
          <TextField
            label="Private key"
            error={touched ? keyProblem : undefined}
            hint="Stored encrypted; never shown again."
            value={key}
            onChange={setKey}
            rows={4}
            placeholder="-----BEGIN PRIVATE KEY-----"
            mono
          />
        ) : null}
        <Field label="Certificate name" error={nameProblem} hint="For you: shown in lists and pickers.">
          {(attributes) => (
            <input
              {...attributes}
              value={name}
              onChange={(event) => setName(event.target.value)}
              maxLength={220}
            />
          )}
        </Field>
        {kind === "ca" ? (
          <TextField
            label="Associated hostnames"
            error={hostnamesProblem}
            hint={`Fully qualified names that will verify clients against this CA, separated by commas or new lines. Zones: ${props.zones.map((z) => z.name).join(", ") || "none"}.`}
            value={hostnames}
            onChange={setHostnames}
            rows={2}
            placeholder="api.example.com, iot.example.com"
          />
        ) : null}
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Save" busy={busy} busyText="Saving…" />
      </form>
    </Modal>
  );
}

function AssociationsModal(props: {
  certificate: CaRow;
  zones: Zone[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [text, setText] = useState(props.certificate.hostnames.join("\n"));
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const names = splitHostnames(text);
  const problem = groupByZone(names, props.zones).problem;
  return (
    <Modal title={`Hostnames trusting ${props.certificate.name ?? "this CA"}`} onClose={props.onClose}>
      <form
        className="modal-body form"
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          if (problem) return;
          setBusy(true);
          try {
            await associate(props.certificate.id, names, props.zones, true);
            props.onDone(`Saved the hostnames of ${props.certificate.name ?? "the CA"}.`);
          } catch (err) {
            setError(describe(err));
            setBusy(false);
          }
        }}
      >
        <TextField
          label="Associated hostnames"
          error={problem}
          hint="One per line or comma-separated; empty removes them all."
          value={text}
          onChange={setText}
          rows={4}
        />
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Save hostnames" busy={busy} />
      </form>
    </Modal>
  );
}

const STATUS_TONE: Record<ClientCertificateStatus, "ok" | "warn" | "bad" | "info"> = {
  active: "ok",
  pending_revocation: "warn",
  revoked: "bad",
  pending_reactivation: "info",
};

function ClientCertificatesSection({ say }: { say: (message: string) => void }) {
  const { zone } = useSession();
  const [status, setStatus] = useState("all");
  const [creating, setCreating] = useState(false);
  const [changing, setChanging] = useState<{ certificate: ClientCertificate; revoke: boolean }>();
  const loaded = useLoad(async () => {
    if (!zone) return [];
    return getAll<ClientCertificate>(`/zones/${enc(zone.id)}/client_certificates${qs({ status })}`, 1000);
  }, `${zone?.id}/${status}`);
  const [round, setRound] = useState(0);
  const reload = () => {
    loaded.reload();
    setRound((n) => n + 1);
  };
  return (
    <Section
      title={`Client certificates${zone ? ` — managed CA of ${zone.name}` : ""}`}
      actions={
        <button type="button" className="primary" disabled={!zone} onClick={() => setCreating(true)}>
          Create client certificate
        </button>
      }
    >
      {!zone ? (
        <Empty title="No zone">
          Client certificates are issued by a zone's managed CA; create a zone first.
        </Empty>
      ) : (
        <>
          <CrlStatus zone={zone} round={round} />
          <div className="toolbar">
            <label>
              Status{" "}
              <select value={status} onChange={(event) => setStatus(event.target.value)}>
                {["all", "active", "pending_revocation", "revoked", "pending_reactivation"].map((value) => (
                  <option key={value} value={value}>
                    {value.replace("_", " ")}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={reload}>
              Refresh
            </button>
          </div>
          <Show loaded={loaded} what="client certificates">
            {(rows) =>
              rows.length === 0 ? (
                <Empty
                  title={
                    status === "all"
                      ? "No client certificates yet"
                      : `No ${status.replace("_", " ")} certificates`
                  }
                >
                  Create one from a CSR, or let this browser make the key: it never leaves your machine.
                </Empty>
              ) : (
                <div className="table-wrap">
                  <table>
                    <TableHead columns={["Common name", "Status", "Serial", "Expires"]} actions />
                    <tbody>
                      {rows.map((row) => (
                        <tr key={row.id}>
                          <td data-label="Common name">
                            {row.common_name || <span className="muted">(none)</span>}
                          </td>
                          <td data-label="Status">
                            <Badge tone={STATUS_TONE[row.status]}>{row.status.replace("_", " ")}</Badge>
                          </td>
                          <td data-label="Serial" className="mono wrap">
                            {row.serial_number}
                          </td>
                          <td data-label="Expires">
                            <Expiry iso={row.expires_on} />
                          </td>
                          <td className="actions">
                            <button
                              type="button"
                              onClick={() =>
                                download(
                                  `${row.common_name || row.id}.pem`,
                                  row.certificate,
                                  "application/x-pem-file",
                                )
                              }
                            >
                              Certificate PEM
                            </button>
                            {row.status === "active" || row.status === "pending_reactivation" ? (
                              <button
                                type="button"
                                className="danger-outline"
                                onClick={() => setChanging({ certificate: row, revoke: true })}
                              >
                                Revoke
                              </button>
                            ) : (
                              <button
                                type="button"
                                onClick={() => setChanging({ certificate: row, revoke: false })}
                              >
                                Reactivate
                              </button>
                            )}
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )
            }
          </Show>
        </>
      )}
      {creating && zone ? (
        <CreateClientCertificateModal
          zone={zone}
          onClose={() => {
            setCreating(false);
            reload();
          }}
          onIssued={(certificate) =>
            say(`Issued a client certificate for ${certificate.common_name || certificate.id}.`)
          }
        />
      ) : null}
      {changing && zone ? (
        <Confirm
          title={changing.revoke ? "Revoke this client certificate?" : "Reactivate this client certificate?"}
          confirm={changing.revoke ? "Revoke" : "Reactivate"}
          danger={changing.revoke}
          onClose={() => setChanging(undefined)}
          onConfirm={async () => {
            const path = `/zones/${enc(zone.id)}/client_certificates/${enc(changing.certificate.id)}`;
            if (changing.revoke) await del(path);
            else await patch(path, { reactivate: true });
            say(
              changing.revoke
                ? `Revoked ${changing.certificate.common_name}: the edge refuses it within a second.`
                : `Reactivated ${changing.certificate.common_name}.`,
            );
            reload();
          }}
        >
          <p>
            {changing.revoke
              ? `${changing.certificate.common_name || "This certificate"} (serial ${changing.certificate.serial_number}) will be refused by the edge within a second and listed in the zone's CRL. You can reactivate it later.`
              : `${changing.certificate.common_name || "This certificate"} will be accepted again and leave the CRL.`}
          </p>
        </Confirm>
      ) : null}
    </Section>
  );
}

/** The managed CA's CRL, fetched from /crl/<zone>.crl and read here: when it was made, until when, how many. */
function CrlStatus({ zone, round }: { zone: Zone; round: number }) {
  const loaded = useLoad(async () => {
    const response = await fetch(`/crl/${zone.id}.crl`, { cache: "no-cache" });
    if (response.status === 404) return undefined;
    if (!response.ok) throw new Error(`The CRL answered ${response.status}.`);
    const { readCrl } = await import("../pki/crl.ts");
    return readCrl(new Uint8Array(await response.arrayBuffer()));
  }, `${zone.id}/${round}`);
  if (loaded.error) return <Problem error={loaded.error} />;
  if (loaded.loading && !loaded.data) return null;
  const crl = loaded.data;
  if (!crl)
    return (
      <p className="muted">No CRL yet: the managed CA is created with the zone's first client certificate.</p>
    );
  const stale = crl.nextUpdate !== undefined && crl.nextUpdate.getTime() < Date.now();
  return (
    <p className="crl-status" data-testid="crl-status">
      CRL: {crl.revoked} revoked · issued {formatDate(crl.thisUpdate.toISOString())} · next update{" "}
      {crl.nextUpdate ? formatDate(crl.nextUpdate.toISOString()) : "not set"}{" "}
      {stale ? <Badge tone="bad">stale</Badge> : <Badge tone="ok">fresh</Badge>} ·{" "}
      <a href={`/crl/${zone.id}.crl`} download={`${zone.name}.crl`}>
        download
      </a>
    </p>
  );
}

function CreateClientCertificateModal(props: {
  zone: Zone;
  onClose: () => void;
  onIssued: (certificate: ClientCertificate) => void;
}) {
  const [mode, setMode] = useState<"browser" | "csr">("browser");
  const [commonName, setCommonName] = useState("");
  const [organization, setOrganization] = useState("");
  const [csr, setCsr] = useState("");
  const [days, setDays] = useState("365");
  const [touched, setTouched] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [issued, setIssued] = useState<{
    certificate: ClientCertificate;
    keyPkcs8?: Uint8Array;
    keyPem?: string;
  }>();

  const cnProblem =
    mode === "browser" && commonName.trim() === ""
      ? "Enter a common name: who or what the certificate identifies (a person, a device, a service)."
      : commonName.length > 64
        ? "A common name has at most 64 characters."
        : undefined;
  const csrProblem = mode === "csr" ? csrPemProblem(csr) : undefined;
  const daysNumber = Number(days);
  const daysProblem =
    !/^\d+$/.test(days) || daysNumber < 1 || daysNumber > 3650
      ? "Validity is a whole number of days, 1 to 3650."
      : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (cnProblem || csrProblem || daysProblem) return;
    setBusy(true);
    setError(undefined);
    try {
      let request = csr.trim();
      let key: { keyPkcs8: Uint8Array; keyPem: string } | undefined;
      if (mode === "browser") {
        const { generateKeyAndCsr } = await import("../pki/browser-pki.ts");
        const made = await generateKeyAndCsr({
          commonName: commonName.trim(),
          ...(organization.trim() ? { organization: organization.trim() } : {}),
        });
        request = made.csrPem;
        key = { keyPkcs8: made.keyPkcs8, keyPem: made.keyPem };
      }
      const certificate = await post<ClientCertificate>(`/zones/${enc(props.zone.id)}/client_certificates`, {
        csr: request,
        validity_days: daysNumber,
      });
      setIssued({ certificate, ...(key ?? {}) });
      props.onIssued(certificate);
    } catch (err) {
      setError(err instanceof ApiFailure ? describe(err) : `Could not make the key or CSR: ${describe(err)}`);
    } finally {
      setBusy(false);
    }
  };

  if (issued) return <IssuedCertificate {...issued} onClose={props.onClose} />;
  return (
    <Modal title="Create client certificate" onClose={props.onClose} wide>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <fieldset className="radio-row">
          <legend>Private key</legend>
          <label>
            <input
              type="radio"
              name="mode"
              checked={mode === "browser"}
              onChange={() => setMode("browser")}
            />{" "}
            Generate a key in this browser (ECDSA P-256; it never leaves your machine)
          </label>
          <label>
            <input type="radio" name="mode" checked={mode === "csr"} onChange={() => setMode("csr")} /> I have
            a CSR
          </label>
        </fieldset>
        {mode === "browser" ? (
          <>
            <TextField
              label="Common name (CN)"
              error={touched ? cnProblem : undefined}
              value={commonName}
              onChange={setCommonName}
            />
            <TextField label="Organization (O), optional" value={organization} onChange={setOrganization} />
          </>
        ) : (
          <TextField
            label="Certificate signing request (PEM)"
            error={touched ? csrProblem : undefined}
            hint="From openssl req, cfssl genkey or a device. Its subject becomes the certificate's."
            value={csr}
            onChange={setCsr}
            rows={8}
            placeholder="-----BEGIN CERTIFICATE REQUEST-----"
            mono
          />
        )}
        <Field label="Validity (days)" error={touched ? daysProblem : undefined}>
          {(attributes) => (
            <input
              {...attributes}
              inputMode="numeric"
              value={days}
              onChange={(event) => setDays(event.target.value.trim())}
            />
          )}
        </Field>
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Create certificate" busy={busy} busyText="Issuing…" />
      </form>
    </Modal>
  );
}

function IssuedCertificate(props: {
  certificate: ClientCertificate;
  keyPkcs8?: Uint8Array;
  keyPem?: string;
  onClose: () => void;
}) {
  const { certificate } = props;
  const base = (certificate.common_name || "client").replace(/[^A-Za-z0-9._-]+/g, "_");
  const [password, setPassword] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const passwordProblem =
    password.length < 4
      ? "Choose a password of at least 4 characters: importing the file asks for it."
      : undefined;
  return (
    <Modal title="Client certificate issued" onClose={props.onClose} wide>
      <div className="modal-body">
        <p>
          <strong>{certificate.common_name || certificate.id}</strong>, serial{" "}
          <span className="mono">{certificate.serial_number}</span>, valid until{" "}
          {formatDate(certificate.expires_on)}.
        </p>
        <div className="button-row">
          <button
            type="button"
            onClick={() => download(`${base}.pem`, certificate.certificate, "application/x-pem-file")}
          >
            Download certificate (PEM)
          </button>
          {props.keyPem ? (
            <button
              type="button"
              onClick={() => download(`${base}-key.pem`, props.keyPem ?? "", "application/x-pem-file")}
            >
              Download private key (PEM)
            </button>
          ) : null}
        </div>
        {props.keyPkcs8 ? (
          <form
            className="form"
            noValidate
            onSubmit={async (event) => {
              event.preventDefault();
              setTouched(true);
              if (passwordProblem || !props.keyPkcs8) return;
              try {
                const { makePkcs12 } = await import("../pki/browser-pki.ts");
                const p12 = await makePkcs12({
                  certificatesPem: certificate.certificate,
                  keyPkcs8: props.keyPkcs8,
                  password,
                  friendlyName: certificate.common_name || "client",
                });
                download(`${base}.p12`, p12 as Uint8Array<ArrayBuffer>, "application/x-pkcs12");
                setError(undefined);
              } catch (err) {
                setError(`Could not build the PKCS#12 file: ${describe(err)}`);
              }
            }}
          >
            <Field
              label="PKCS#12 password"
              error={touched ? passwordProblem : undefined}
              hint="For importing into a browser or keychain (AES-256, as OpenSSL 3 writes it)."
            >
              {(attributes) => (
                <input
                  {...attributes}
                  type="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(event) => setPassword(event.target.value)}
                />
              )}
            </Field>
            <button type="submit">Download PKCS#12 (.p12)</button>
          </form>
        ) : null}
        <FormError error={error} />
        {props.keyPem ? (
          <p className="notice notice-warn">
            The private key exists only in this page: download it (or the .p12) now. Closing this dialog
            forgets it.
          </p>
        ) : null}
      </div>
      <footer className="modal-footer">
        <button type="button" className="primary" onClick={props.onClose}>
          Done
        </button>
      </footer>
    </Modal>
  );
}
