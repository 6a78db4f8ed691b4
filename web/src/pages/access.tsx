/**
 * Access (Cloudflare Access's shapes under /accounts/{id}/access): applications and their policies —
 * who gets a session: a valid client certificate, a common name, a service token, everyone — and
 * service tokens (the secret shown once).
 */
import { type FormEvent, useState } from "react";
import { ApiFailure, del, describe, enc, getAll, post } from "../api.ts";
import { hostnameProblem } from "../checks.ts";
import { useSession } from "../session.tsx";
import {
  Badge,
  Confirm,
  Empty,
  Field,
  FormError,
  formatDate,
  Modal,
  ModalActions,
  Page,
  Section,
  Show,
  TableHead,
  TextField,
  Unavailable,
  useFlash,
  useLoad,
} from "../ui.tsx";

interface AccessPolicy {
  id: string;
  name: string;
  decision: string;
  include: Record<string, Record<string, string>>[];
  exclude: Record<string, Record<string, string>>[];
  require: Record<string, Record<string, string>>[];
  precedence: number;
}

interface AccessApp {
  id: string;
  aud: string;
  name: string;
  domain: string;
  session_duration: string;
  policies?: AccessPolicy[];
}

interface ServiceToken {
  id: string;
  name: string;
  client_id: string;
  expires_at: string;
}

const SELECTORS = [
  {
    kind: "certificate",
    label: "Valid certificate (any client certificate the hostname's CAs accept)",
    value: "",
  },
  { kind: "common_name", label: "Common name is", value: "common_name" },
  { kind: "any_valid_service_token", label: "Any valid service token", value: "" },
  { kind: "service_token", label: "This service token", value: "token_id" },
  { kind: "everyone", label: "Everyone", value: "" },
] as const;

function selectorText(selector: Record<string, Record<string, string>>): string {
  const [kind, value] = Object.entries(selector)[0] ?? ["?", {}];
  const detail = Object.values(value ?? {})[0];
  return detail ? `${kind.replace(/_/g, " ")} = ${detail}` : kind.replace(/_/g, " ");
}

export function AccessPage() {
  const { account } = useSession();
  const [flash, say] = useFlash();
  const base = account ? `/accounts/${enc(account.id)}/access` : "";
  const apps = useLoad(async () => {
    if (!account) return [];
    const list = await getAll<AccessApp>(`${base}/apps`);
    return Promise.all(
      list.map(async (app) => ({
        ...app,
        policies: app.policies ?? (await getAll<AccessPolicy>(`${base}/apps/${enc(app.id)}/policies`)),
      })),
    );
  }, account?.id ?? "");
  const tokens = useLoad(
    async () => (account ? getAll<ServiceToken>(`${base}/service_tokens`) : []),
    account?.id ?? "",
  );
  const [addingApp, setAddingApp] = useState(false);
  const [addingPolicy, setAddingPolicy] = useState<AccessApp>();
  const [addingToken, setAddingToken] = useState(false);
  const [removing, setRemoving] = useState<{
    title: string;
    path: string;
    done: string;
    reload: () => void;
  }>();
  const unavailable = apps.error instanceof ApiFailure && apps.error.unavailable;

  if (unavailable)
    return (
      <Page title="Access">
        <Unavailable feature="Access" />
      </Page>
    );
  return (
    <Page
      title="Access"
      intro="Applications turn a client certificate (or a service token) into a signed session, by policy."
    >
      {flash}
      {!account ? (
        <Empty title="No account">Access belongs to an account.</Empty>
      ) : (
        <>
          <Section
            title="Applications"
            actions={
              <button type="button" className="primary" onClick={() => setAddingApp(true)}>
                Add application
              </button>
            }
          >
            <Show loaded={apps} what="applications" feature="Access">
              {(list) =>
                list.length === 0 ? (
                  <Empty title="No applications yet">
                    Add one for a hostname, then a policy saying who may in.
                  </Empty>
                ) : (
                  <ul className="rule-list">
                    {list.map((app) => (
                      <li key={app.id} className="rule">
                        <div className="rule-head">
                          <strong>{app.name}</strong> <span className="mono">{app.domain}</span>{" "}
                          <span className="muted">session {app.session_duration}</span>
                        </div>
                        {app.policies && app.policies.length > 0 ? (
                          <ul className="ranked">
                            {app.policies.map((policy) => (
                              <li key={policy.id}>
                                <span>
                                  <Badge tone={policy.decision === "deny" ? "bad" : "ok"}>
                                    {policy.decision}
                                  </Badge>{" "}
                                  {policy.name}: {policy.include.map(selectorText).join(" or ")}
                                  {policy.require.length
                                    ? `, requiring ${policy.require.map(selectorText).join(" and ")}`
                                    : ""}
                                </span>
                                <button
                                  type="button"
                                  className="link-button"
                                  onClick={() =>
                                    setRemoving({
                                      title: `Delete policy ${policy.name}?`,
                                      path: `${base}/apps/${enc(app.id)}/policies/${enc(policy.id)}`,
                                      done: `Deleted policy ${policy.name}.`,
                                      reload: apps.reload,
                                    })
                                  }
                                >
                                  Delete
                                </button>
                              </li>
                            ))}
                          </ul>
                        ) : (
                          <p className="notice notice-warn">No policy: nobody gets in until you add one.</p>
                        )}
                        <div className="button-row">
                          <button type="button" onClick={() => setAddingPolicy(app)}>
                            Add policy
                          </button>
                          <button
                            type="button"
                            className="danger-outline"
                            onClick={() =>
                              setRemoving({
                                title: `Delete application ${app.name}?`,
                                path: `${base}/apps/${enc(app.id)}`,
                                done: `Deleted ${app.name}.`,
                                reload: apps.reload,
                              })
                            }
                          >
                            Delete application
                          </button>
                        </div>
                      </li>
                    ))}
                  </ul>
                )
              }
            </Show>
          </Section>
          <Section
            title="Service tokens"
            actions={
              <button type="button" className="primary" onClick={() => setAddingToken(true)}>
                Create service token
              </button>
            }
          >
            <Show loaded={tokens} what="service tokens" feature="Access service tokens">
              {(list) =>
                list.length === 0 ? (
                  <Empty title="No service tokens">
                    For machines without a certificate: a client id and secret in headers.
                  </Empty>
                ) : (
                  <div className="table-wrap">
                    <table>
                      <TableHead columns={["Name", "Client id", "Expires"]} actions />
                      <tbody>
                        {list.map((token) => (
                          <tr key={token.id}>
                            <td data-label="Name">{token.name}</td>
                            <td data-label="Client id" className="mono wrap">
                              {token.client_id}
                            </td>
                            <td data-label="Expires">{formatDate(token.expires_at)}</td>
                            <td className="actions">
                              <button
                                type="button"
                                className="danger-outline"
                                onClick={() =>
                                  setRemoving({
                                    title: `Delete service token ${token.name}?`,
                                    path: `${base}/service_tokens/${enc(token.id)}`,
                                    done: `Deleted ${token.name}.`,
                                    reload: tokens.reload,
                                  })
                                }
                              >
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
          </Section>
        </>
      )}
      {addingApp ? (
        <AppForm
          base={base}
          onClose={() => setAddingApp(false)}
          onDone={(message) => {
            setAddingApp(false);
            say(message);
            apps.reload();
          }}
        />
      ) : null}
      {addingPolicy ? (
        <PolicyForm
          base={base}
          app={addingPolicy}
          tokens={tokens.data ?? []}
          onClose={() => setAddingPolicy(undefined)}
          onDone={(message) => {
            setAddingPolicy(undefined);
            say(message);
            apps.reload();
          }}
        />
      ) : null}
      {addingToken ? (
        <TokenForm
          base={base}
          onClose={() => {
            setAddingToken(false);
            tokens.reload();
          }}
        />
      ) : null}
      {removing ? (
        <Confirm
          title={removing.title}
          confirm="Delete"
          danger
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await del(removing.path);
            say(removing.done);
            removing.reload();
          }}
        >
          <p>This takes effect at the edge within a second.</p>
        </Confirm>
      ) : null}
    </Page>
  );
}

function AppForm(props: { base: string; onClose: () => void; onDone: (message: string) => void }) {
  const [domain, setDomain] = useState("");
  const [name, setName] = useState("");
  const [duration, setDuration] = useState("24h");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const host = domain.split("/")[0] ?? "";
  const domainProblem =
    domain.trim() === ""
      ? "Enter the application's domain, like app.example.com or app.example.com/admin."
      : domain.includes("://")
        ? `“${domain.trim()}” looks like a URL: enter the domain without the scheme (app.example.com/admin).`
        : hostnameProblem(host);
  const durationProblem = /^\d+(\.\d+)?(ns|us|µs|ms|s|m|h)(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))*$/.test(
    duration.trim(),
  )
    ? undefined
    : "A duration like 30m, 24h or 0s (no session: every request checks the certificate).";
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (domainProblem || durationProblem) return;
    try {
      await post(`${props.base}/apps`, {
        domain: domain.trim().toLowerCase(),
        ...(name.trim() ? { name: name.trim() } : {}),
        session_duration: duration.trim(),
      });
      props.onDone(`Added ${name.trim() || domain.trim()}.`);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Modal title="Add application" onClose={props.onClose}>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField
          label="Domain"
          error={touched ? domainProblem : undefined}
          hint="A hostname in one of your zones, with an optional path."
          value={domain}
          onChange={setDomain}
        />
        <TextField label="Name" value={name} onChange={setName} />
        <TextField
          label="Session duration"
          error={touched ? durationProblem : undefined}
          value={duration}
          onChange={setDuration}
        />
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Add application" />
      </form>
    </Modal>
  );
}

function PolicyForm(props: {
  base: string;
  app: AccessApp;
  tokens: ServiceToken[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [name, setName] = useState("");
  const [decision, setDecision] = useState("allow");
  const [kind, setKind] = useState<(typeof SELECTORS)[number]["kind"]>("certificate");
  const [value, setValue] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const selector = SELECTORS.find((s) => s.kind === kind) ?? SELECTORS[0];
  const nameProblem = name.trim() === "" ? "Name the policy (e.g. Partner devices)." : undefined;
  const valueProblem =
    selector.value && value.trim() === ""
      ? kind === "service_token"
        ? "Choose the service token."
        : "Enter the common name the certificate must have."
      : undefined;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (nameProblem || valueProblem) return;
    const include = [{ [kind]: selector.value ? { [selector.value]: value.trim() } : {} }];
    try {
      await post(`${props.base}/apps/${enc(props.app.id)}/policies`, {
        name: name.trim(),
        decision,
        include,
      });
      props.onDone(`Added policy ${name.trim()} to ${props.app.name}.`);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Modal title={`Add policy to ${props.app.name}`} onClose={props.onClose}>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField
          label="Policy name"
          error={touched ? nameProblem : undefined}
          value={name}
          onChange={setName}
        />
        <Field label="Decision" hint="non_identity: service auth (machines); bypass: no check at all.">
          {(attributes) => (
            <select {...attributes} value={decision} onChange={(e) => setDecision(e.target.value)}>
              {["allow", "deny", "non_identity", "bypass"].map((d) => (
                <option key={d}>{d}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Include requests with">
          {(attributes) => (
            <select
              {...attributes}
              value={kind}
              onChange={(e) => {
                setKind(e.target.value as typeof kind);
                setValue("");
              }}
            >
              {SELECTORS.map((s) => (
                <option key={s.kind} value={s.kind}>
                  {s.label}
                </option>
              ))}
            </select>
          )}
        </Field>
        {kind === "common_name" ? (
          <TextField
            label="Common name"
            error={touched ? valueProblem : undefined}
            value={value}
            onChange={setValue}
          />
        ) : kind === "service_token" ? (
          <Field label="Service token" error={touched ? valueProblem : undefined}>
            {(attributes) => (
              <select {...attributes} value={value} onChange={(e) => setValue(e.target.value)}>
                <option value="">(choose)</option>
                {props.tokens.map((t) => (
                  <option key={t.id} value={t.id}>
                    {t.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
        ) : null}
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Add policy" />
      </form>
    </Modal>
  );
}

function TokenForm(props: { base: string; onClose: () => void }) {
  const [name, setName] = useState("");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<{ client_id: string; client_secret: string }>();
  const nameProblem = name.trim() === "" ? "Name the token after the machine that will use it." : undefined;
  if (created)
    return (
      <Modal title="Service token created" onClose={props.onClose}>
        <div className="modal-body form">
          <p>Copy the secret now: it is shown only once. Send both as headers on every request:</p>
          <pre className="mono expression">
            CF-Access-Client-Id: {created.client_id}
            {"\n"}CF-Access-Client-Secret: {created.client_secret}
          </pre>
        </div>
        <footer className="modal-footer">
          <button type="button" className="primary" onClick={props.onClose}>
            Done
          </button>
        </footer>
      </Modal>
    );
  return (
    <Modal title="Create service token" onClose={props.onClose}>
      <form
        className="modal-body form"
        noValidate
        onSubmit={async (event) => {
          event.preventDefault();
          setTouched(true);
          if (nameProblem) return;
          try {
            setCreated(await post(`${props.base}/service_tokens`, { name: name.trim() }));
          } catch (err) {
            setError(describe(err));
          }
        }}
      >
        <TextField label="Name" error={touched ? nameProblem : undefined} value={name} onChange={setName} />
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Create service token" />
      </form>
    </Modal>
  );
}
