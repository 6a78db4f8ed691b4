/** API tokens (admin): create (the value is shown once), list, revoke. */
import { type FormEvent, useState } from "react";
import { ApiFailure, del, describe, getAll, post } from "../api.ts";
import { useSession } from "../session.tsx";
import type { ApiToken, TokenScope } from "../types.ts";
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
  useFlash,
  useLoad,
} from "../ui.tsx";

export function TokensPage() {
  const [flash, say] = useFlash();
  const [creating, setCreating] = useState(false);
  const [revoking, setRevoking] = useState<ApiToken>();
  const loaded = useLoad(() => getAll<ApiToken>("/user/tokens"), "tokens");
  const forbidden = loaded.error instanceof ApiFailure && loaded.error.status === 403;
  return (
    <Page
      title="API tokens"
      intro="Tokens for the API, the CLI, Cloudflare's SDK and wrangler. Only their SHA-256 is stored: a value is shown once."
      actions={
        <button type="button" className="primary" disabled={forbidden} onClick={() => setCreating(true)}>
          Create token
        </button>
      }
    >
      {flash}
      <Section title="Tokens">
        {forbidden ? (
          <div className="notice notice-info">Only an admin token can list and create tokens.</div>
        ) : (
          <Show loaded={loaded} what="tokens">
            {(tokens) =>
              tokens.length === 0 ? (
                <Empty title="No tokens">
                  Create one for each tool or person, with only the access it needs.
                </Empty>
              ) : (
                <div className="table-wrap">
                  <table>
                    <TableHead columns={["Name", "Scopes", "Status", "Last used"]} actions />
                    <tbody>
                      {tokens.map((token) => (
                        <tr key={token.id}>
                          <td data-label="Name">{token.name}</td>
                          <td data-label="Scopes">{token.scopes.map(scopeText).join("; ")}</td>
                          <td data-label="Status">
                            <Badge tone={token.status === "active" ? "ok" : "muted"}>{token.status}</Badge>
                          </td>
                          <td data-label="Last used">{formatDate(token.last_used_on)}</td>
                          <td className="actions">
                            {token.status === "active" ? (
                              <button
                                type="button"
                                className="danger-outline"
                                onClick={() => setRevoking(token)}
                              >
                                Revoke
                              </button>
                            ) : null}
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
      </Section>
      {creating ? (
        <CreateToken
          onClose={() => {
            setCreating(false);
            loaded.reload();
          }}
        />
      ) : null}
      {revoking ? (
        <Confirm
          title={`Revoke ${revoking.name}?`}
          confirm="Revoke token"
          danger
          onClose={() => setRevoking(undefined)}
          onConfirm={async () => {
            await del(`/user/tokens/${encodeURIComponent(revoking.id)}`);
            say(`Revoked ${revoking.name}: it no longer works.`);
            loaded.reload();
          }}
        >
          <p>Anything using {revoking.name} gets 401 from now on. This cannot be undone.</p>
        </Confirm>
      ) : null}
    </Page>
  );
}

function scopeText(scope: TokenScope): string {
  if (scope.kind === "admin") return "admin";
  const target =
    scope.kind === "account"
      ? `account ${scope.account_id?.slice(0, 8)}`
      : `zone ${scope.zone_id?.slice(0, 8)}`;
  return `${target} ${scope.access}`;
}

function CreateToken({ onClose }: { onClose: () => void }) {
  const session = useSession();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"admin" | "account" | "zone">("zone");
  const [target, setTarget] = useState(session.zone?.id ?? session.account?.id ?? "");
  const [access, setAccess] = useState<"read" | "edit">("read");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const [created, setCreated] = useState<string>();
  const nameProblem =
    name.trim() === ""
      ? "Name the token after what will use it (e.g. ci-deploy)."
      : name.length > 120
        ? "At most 120 characters."
        : undefined;
  const targetProblem = kind !== "admin" && !target ? `Choose the ${kind}.` : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (nameProblem || targetProblem) return;
    const scope =
      kind === "admin"
        ? { kind }
        : kind === "account"
          ? { kind, account_id: target, access }
          : { kind, zone_id: target, access };
    try {
      const token = await post<{ value: string }>("/user/tokens", { name: name.trim(), scopes: [scope] });
      setCreated(token.value);
    } catch (err) {
      setError(describe(err));
    }
  };

  if (created)
    return (
      <Modal title="Token created" onClose={onClose}>
        <div className="modal-body">
          <p>Copy it now: it is shown only once.</p>
          <input
            className="mono token-value"
            readOnly
            value={created}
            aria-label="New token"
            onFocus={(e) => e.target.select()}
          />
          <div className="button-row">
            <button type="button" onClick={() => navigator.clipboard?.writeText(created)}>
              Copy
            </button>
          </div>
        </div>
        <footer className="modal-footer">
          <button type="button" className="primary" onClick={onClose}>
            Done
          </button>
        </footer>
      </Modal>
    );
  return (
    <Modal title="Create token" onClose={onClose}>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField label="Name" error={touched ? nameProblem : undefined} value={name} onChange={setName} />
        <fieldset className="radio-row">
          <legend>Scope</legend>
          {(["zone", "account", "admin"] as const).map((value) => (
            <label key={value}>
              <input
                type="radio"
                name="kind"
                checked={kind === value}
                onChange={() => {
                  setKind(value);
                  setTarget(
                    value === "zone"
                      ? (session.zone?.id ?? "")
                      : value === "account"
                        ? (session.account?.id ?? "")
                        : "",
                  );
                }}
              />{" "}
              {value === "admin" ? "admin (everything, including tokens)" : `one ${value}`}
            </label>
          ))}
        </fieldset>
        {kind !== "admin" ? (
          <div className="grid-2">
            <Field label={kind === "zone" ? "Zone" : "Account"} error={touched ? targetProblem : undefined}>
              {(attributes) => (
                <select {...attributes} value={target} onChange={(event) => setTarget(event.target.value)}>
                  {(kind === "zone" ? session.zones : session.accounts).map((item) => (
                    <option key={item.id} value={item.id}>
                      {item.name}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="Access">
              {(attributes) => (
                <select
                  {...attributes}
                  value={access}
                  onChange={(event) => setAccess(event.target.value as "read" | "edit")}
                >
                  <option value="read">read</option>
                  <option value="edit">edit</option>
                </select>
              )}
            </Field>
          </div>
        ) : null}
        <FormError error={error} />
        <ModalActions onCancel={onClose} submit="Create token" />
      </form>
    </Modal>
  );
}
