/**
 * Functions: the account's edge functions (Workers-shaped scripts, uploaded with wrangler), their
 * bindings (an mTLS certificate for `env.NAME.fetch()`, text, JSON), and the zone's routes that send
 * requests to them — routes can be added and removed here.
 */
import { type FormEvent, useState } from "react";
import { ApiFailure, del, describe, enc, get, post } from "../api.ts";
import { useSession } from "../session.tsx";
import type { MtlsCertificate } from "../types.ts";
import {
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

interface Binding {
  type: string;
  name: string;
  certificate_id?: string;
  text?: string;
  json?: unknown;
}

interface Script {
  id: string;
  size: number;
  compatibility_date: string;
  bindings: Binding[];
  modified_on: string;
}

interface Route {
  id: string;
  pattern: string;
  script: string;
}

export function FunctionsPage() {
  const { account, zone } = useSession();
  const [flash, say] = useFlash();
  const [adding, setAdding] = useState(false);
  const [removing, setRemoving] = useState<Route>();
  const scripts = useLoad(async () => {
    if (!account) return { scripts: [] as Script[], certificates: [] as MtlsCertificate[] };
    const [list, certificates] = await Promise.all([
      get<Script[]>(`/accounts/${enc(account.id)}/workers/scripts`),
      get<MtlsCertificate[]>(`/accounts/${enc(account.id)}/mtls_certificates`).catch(() => []),
    ]);
    return { scripts: list, certificates };
  }, account?.id ?? "");
  const routes = useLoad(
    async () => (zone ? get<Route[]>(`/zones/${enc(zone.id)}/workers/routes`) : []),
    zone?.id ?? "",
  );
  if (scripts.error instanceof ApiFailure && scripts.error.unavailable)
    return (
      <Page title="Functions">
        <Unavailable feature="Edge functions" />
      </Page>
    );
  const certificateName = (id: string | undefined) =>
    scripts.data?.certificates.find((c) => c.id === id)?.name ?? id ?? "?";
  return (
    <Page
      title="Functions"
      intro="Workers-syntax code on workerd at the edge. Upload with wrangler (CLOUDFLARE_API_BASE_URL pointing here); route requests to it below."
    >
      {flash}
      <Section title="Functions">
        <Show loaded={scripts} what="functions" feature="Edge functions">
          {(data) =>
            data.scripts.length === 0 ? (
              <Empty title="No functions yet">
                Deploy one with `wrangler deploy` against this server; its mTLS certificate bindings show up
                here.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table>
                  <TableHead columns={["Name", "Bindings", "Size", "Modified"]} />
                  <tbody>
                    {data.scripts.map((script) => (
                      <tr key={script.id}>
                        <td data-label="Name" className="mono">
                          {script.id}
                        </td>
                        <td data-label="Bindings">
                          {script.bindings.length === 0
                            ? "none"
                            : script.bindings
                                .map((b) =>
                                  b.type === "mtls_certificate"
                                    ? `${b.name}: mTLS certificate ${certificateName(b.certificate_id)}`
                                    : `${b.name}: ${b.type.replace("_", " ")}`,
                                )
                                .join("; ")}
                        </td>
                        <td data-label="Size">{(script.size / 1024).toFixed(1)} KiB</td>
                        <td data-label="Modified">{formatDate(script.modified_on)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Show>
      </Section>
      <Section
        title={`Routes${zone ? ` of ${zone.name}` : ""}`}
        actions={
          <button
            type="button"
            className="primary"
            disabled={!zone || !scripts.data?.scripts.length}
            onClick={() => setAdding(true)}
          >
            Add route
          </button>
        }
      >
        <Show loaded={routes} what="routes" feature="Edge function routes">
          {(list) =>
            list.length === 0 ? (
              <Empty title="No routes">
                A route like api.example.com/hooks/* sends matching requests to a function.
              </Empty>
            ) : (
              <ul className="ranked">
                {list.map((route) => (
                  <li key={route.id}>
                    <span>
                      <span className="mono">{route.pattern}</span> →{" "}
                      <span className="mono">{route.script}</span>
                    </span>
                    <button type="button" className="link-button" onClick={() => setRemoving(route)}>
                      Delete
                    </button>
                  </li>
                ))}
              </ul>
            )
          }
        </Show>
      </Section>
      {adding && zone ? (
        <RouteForm
          zoneId={zone.id}
          zoneName={zone.name}
          scripts={scripts.data?.scripts ?? []}
          onClose={() => setAdding(false)}
          onDone={(message) => {
            setAdding(false);
            say(message);
            routes.reload();
          }}
        />
      ) : null}
      {removing && zone ? (
        <Confirm
          title={`Delete the route ${removing.pattern}?`}
          confirm="Delete route"
          danger
          onClose={() => setRemoving(undefined)}
          onConfirm={async () => {
            await del(`/zones/${enc(zone.id)}/workers/routes/${enc(removing.id)}`);
            say(`Deleted the route ${removing.pattern}.`);
            routes.reload();
          }}
        >
          <p>Requests matching it go to the origin again.</p>
        </Confirm>
      ) : null}
    </Page>
  );
}

function RouteForm(props: {
  zoneId: string;
  zoneName: string;
  scripts: Script[];
  onClose: () => void;
  onDone: (message: string) => void;
}) {
  const [pattern, setPattern] = useState("");
  const [script, setScript] = useState(props.scripts[0]?.id ?? "");
  const [touched, setTouched] = useState(false);
  const [error, setError] = useState<string>();
  const host = pattern.replace(/^\*\.?/, "").split("/")[0] ?? "";
  const patternProblem =
    pattern.trim() === ""
      ? `Enter a pattern like api.${props.zoneName}/*.`
      : pattern.includes("://")
        ? "Leave out the scheme: api.example.com/path/*."
        : host !== props.zoneName && !host.endsWith(`.${props.zoneName}`)
          ? `The pattern's host must be in the zone ${props.zoneName}.`
          : undefined;
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (patternProblem || !script) return;
    try {
      await post(`/zones/${enc(props.zoneId)}/workers/routes`, { pattern: pattern.trim(), script });
      props.onDone(`Requests to ${pattern.trim()} now run ${script}.`);
    } catch (err) {
      setError(describe(err));
    }
  };
  return (
    <Modal title="Add route" onClose={props.onClose}>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField
          label="Pattern"
          error={touched || pattern ? patternProblem : undefined}
          hint="A host and path; * matches the rest."
          value={pattern}
          onChange={setPattern}
        />
        <Field label="Function">
          {(attributes) => (
            <select {...attributes} value={script} onChange={(e) => setScript(e.target.value)}>
              {props.scripts.map((s) => (
                <option key={s.id}>{s.id}</option>
              ))}
            </select>
          )}
        </Field>
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Add route" />
      </form>
    </Modal>
  );
}
