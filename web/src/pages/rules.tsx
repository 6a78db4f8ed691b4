/**
 * Rules: the zone's custom firewall rules (Cloudflare's http_request_firewall_custom entrypoint). An
 * editor that checks the expression as you type (the error at its character, from POST /rules/check),
 * tests it against a sample request (POST /rules/test), a log → block switch, and the events a log rule
 * matched — the seed's "log first, see who would be blocked, then block".
 */
import { type FormEvent, useEffect, useState } from "react";
import { ApiFailure, call, describe, enc, get, post, put } from "../api.ts";
import { useSession } from "../session.tsx";
import type { EdgeEvent, Zone } from "../types.ts";
import {
  Badge,
  Empty,
  Field,
  FormError,
  Modal,
  ModalActions,
  Page,
  Problem,
  Section,
  Show,
  TextField,
  Unavailable,
  useFlash,
  useLoad,
} from "../ui.tsx";
import { EventTable } from "./events.tsx";

const PHASE = "http_request_firewall_custom";
const ACTIONS = ["log", "block", "skip", "drop"] as const;
type RuleAction = (typeof ACTIONS)[number];

interface Rule {
  id?: string;
  ref?: string;
  expression: string;
  action: RuleAction;
  description?: string;
  enabled?: boolean;
  action_parameters?: Record<string, unknown>;
}

interface Ruleset {
  id: string;
  name: string;
  rules: Rule[];
}

/** The zone's entrypoint ruleset; `null` when it has none yet; throws ApiFailure when rules are unavailable. */
async function loadRuleset(zone: Zone): Promise<Ruleset | null> {
  try {
    return await get<Ruleset>(`/zones/${enc(zone.id)}/rulesets/phases/${PHASE}/entrypoint`);
  } catch (error) {
    if (error instanceof ApiFailure && error.status === 404 && !error.unavailable) return null;
    throw error;
  }
}

async function saveRules(zone: Zone, rules: Rule[]): Promise<Ruleset> {
  return put<Ruleset>(`/zones/${enc(zone.id)}/rulesets/phases/${PHASE}/entrypoint`, {
    rules: rules.map(({ id, expression, action, description, enabled, action_parameters }) => ({
      ...(id ? { id } : {}),
      expression,
      action,
      description: description ?? "",
      enabled: enabled ?? true,
      ...(action_parameters && (action === "block" || action === "skip") ? { action_parameters } : {}),
    })),
  });
}

const ACTION_TONE: Record<RuleAction, "info" | "bad" | "muted"> = {
  log: "info",
  block: "bad",
  drop: "bad",
  skip: "muted",
};

export function RulesPage() {
  const { zone, account } = useSession();
  const [flash, say] = useFlash();
  const [editing, setEditing] = useState<{ index: number; rule: Rule } | "new">();
  const [showing, setShowing] = useState<string>();
  const loaded = useLoad(async () => (zone ? loadRuleset(zone) : null), zone?.id ?? "");
  const unavailable = loaded.error instanceof ApiFailure && loaded.error.unavailable;
  const rules = loaded.data?.rules ?? [];

  const replace = async (next: Rule[], message: string) => {
    if (!zone) return;
    try {
      await saveRules(zone, next);
      say(message);
      loaded.reload();
    } catch (err) {
      say(`Not saved: ${describe(err)}`);
    }
  };

  return (
    <Page
      title="Rules"
      intro="Expressions on the request and its client certificate (cf.tls_client_auth.*). Start with log, check the events, then switch to block."
      actions={
        <button
          type="button"
          className="primary"
          disabled={!zone || unavailable || loaded.loading}
          onClick={() => setEditing("new")}
        >
          Add rule
        </button>
      }
    >
      {flash}
      {unavailable ? (
        <Unavailable feature="Firewall rules" />
      ) : !zone ? (
        <Empty title="No zone">Rules belong to a zone.</Empty>
      ) : (
        <Section title={`Custom rules of ${zone.name}`}>
          <Show loaded={loaded} what="rules" feature="Firewall rules">
            {() =>
              rules.length === 0 ? (
                <Empty title="No rules yet">
                  Add one, e.g. log requests whose certificate is not verified: not
                  cf.tls_client_auth.cert_verified
                </Empty>
              ) : (
                <ol className="rule-list">
                  {rules.map((rule, index) => (
                    <li key={rule.id ?? index} className="rule">
                      <div className="rule-head">
                        <Badge tone={ACTION_TONE[rule.action]}>{rule.action}</Badge>{" "}
                        <strong>{rule.description || `Rule ${index + 1}`}</strong>{" "}
                        {rule.enabled === false ? <Badge>disabled</Badge> : null}
                      </div>
                      <pre className="mono expression">{rule.expression}</pre>
                      <div className="button-row">
                        <button type="button" onClick={() => setEditing({ index, rule })}>
                          Edit
                        </button>
                        {rule.action === "log" || rule.action === "block" ? (
                          <button
                            type="button"
                            className={rule.action === "log" ? "danger-outline" : undefined}
                            onClick={() =>
                              replace(
                                rules.map((r, i) =>
                                  i === index ? { ...r, action: rule.action === "log" ? "block" : "log" } : r,
                                ),
                                rule.action === "log"
                                  ? `“${rule.description || `Rule ${index + 1}`}” now blocks.`
                                  : `“${rule.description || `Rule ${index + 1}`}” now only logs.`,
                              )
                            }
                          >
                            {rule.action === "log" ? "Switch to block" : "Switch back to log"}
                          </button>
                        ) : null}
                        <button
                          type="button"
                          onClick={() =>
                            replace(
                              rules.map((r, i) => (i === index ? { ...r, enabled: r.enabled === false } : r)),
                              "Saved.",
                            )
                          }
                        >
                          {rule.enabled === false ? "Enable" : "Disable"}
                        </button>
                        {rule.id ? (
                          <button
                            type="button"
                            onClick={() => setShowing(showing === rule.id ? undefined : rule.id)}
                          >
                            {showing === rule.id ? "Hide matched events" : "Matched events"}
                          </button>
                        ) : null}
                        <button
                          type="button"
                          className="link-button"
                          onClick={() =>
                            replace(
                              rules.filter((_, i) => i !== index),
                              "Rule deleted.",
                            )
                          }
                        >
                          Delete
                        </button>
                      </div>
                      {showing && showing === rule.id && account ? (
                        <MatchedEvents accountId={account.id} ruleId={showing} />
                      ) : null}
                    </li>
                  ))}
                </ol>
              )
            }
          </Show>
        </Section>
      )}
      {editing && zone ? (
        <RuleEditor
          rule={editing === "new" ? undefined : editing.rule}
          onClose={() => setEditing(undefined)}
          onSave={async (rule) => {
            const next =
              editing === "new" ? [...rules, rule] : rules.map((r, i) => (i === editing.index ? rule : r));
            await saveRules(zone, next);
            setEditing(undefined);
            say(`Saved “${rule.description || "the rule"}”: the edge applies it within a second.`);
            loaded.reload();
          }}
        />
      ) : null}
    </Page>
  );
}

/** Events the rule matched (log, block and drop events carry the rule's id), from this node's event log. */
function MatchedEvents({ accountId, ruleId }: { accountId: string; ruleId: string }) {
  const loaded = useLoad(async () => {
    const found = (await call<EdgeEvent[]>("GET", `/accounts/${enc(accountId)}/events?limit=1000`)).result;
    return found.filter((event) => event.ruleId === ruleId);
  }, ruleId);
  return (
    <div className="matched">
      <Show loaded={loaded} what="matched events" feature="Edge events">
        {(events) => <EventTable events={events} empty="This rule matched no request recently" />}
      </Show>
    </div>
  );
}

interface Check {
  valid: boolean;
  error?: { message: string; offset: number };
}

/** The expression checked by the server as you type (debounced); the error points at its character. */
function useExpressionCheck(expression: string): { check: Check | undefined; failure: unknown } {
  const [check, setCheck] = useState<Check>();
  const [failure, setFailure] = useState<unknown>();
  useEffect(() => {
    if (expression.trim() === "") {
      setCheck({
        valid: false,
        error: { message: "Enter an expression, like not cf.tls_client_auth.cert_verified", offset: 0 },
      });
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      post<Check>("/rules/check", { expression }).then(
        (result) => {
          if (!live) return;
          setCheck(result);
          setFailure(undefined);
        },
        (error: unknown) => live && setFailure(error),
      );
    }, 250);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [expression]);
  return { check, failure };
}

/** The line of the expression holding `offset` and a caret under that character. */
function caretAt(
  expression: string,
  offset: number,
): { line: string; caret: string; lineNumber: number; column: number } {
  const before = expression.slice(0, offset);
  const lineNumber = before.split("\n").length;
  const start = before.lastIndexOf("\n") + 1;
  const end = expression.indexOf("\n", offset);
  const line = expression.slice(start, end === -1 ? undefined : end);
  const column = offset - start;
  return { line, caret: `${" ".repeat(column)}^`, lineNumber, column: column + 1 };
}

const SAMPLE_FIELDS = [
  ["cert_subject_dn", "Subject DN", "CN=device-7,O=Acme"],
  ["cert_issuer_dn", "Issuer DN", "CN=Acme Devices CA"],
  ["cert_fingerprint_sha256", "Fingerprint (SHA-256, hex)", ""],
  ["cert_serial", "Serial (hex)", ""],
] as const;

function RuleEditor(props: {
  rule: Rule | undefined;
  onClose: () => void;
  onSave: (rule: Rule) => Promise<void>;
}) {
  const [description, setDescription] = useState(props.rule?.description ?? "");
  const [expression, setExpression] = useState(props.rule?.expression ?? "");
  const [action, setAction] = useState<RuleAction>(props.rule?.action ?? "log");
  const [enabled, setEnabled] = useState(props.rule?.enabled ?? true);
  const { check, failure } = useExpressionCheck(expression);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const [touched, setTouched] = useState(false);
  // The sample request.
  const [host, setHost] = useState("");
  const [method, setMethod] = useState("GET");
  const [uri, setUri] = useState("/");
  const [presented, setPresented] = useState(true);
  const [verified, setVerified] = useState(true);
  const [revoked, setRevoked] = useState(false);
  const [fields, setFields] = useState<Record<string, string>>({});
  const [testResult, setTestResult] = useState<string>();

  const problem = check && !check.valid ? check.error : undefined;
  const caret = problem && expression.trim() !== "" ? caretAt(expression, problem.offset) : undefined;
  const descriptionProblem =
    description.length > 500 ? "Keep the description under 500 characters." : undefined;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setTouched(true);
    if (problem || descriptionProblem) return;
    setBusy(true);
    setError(undefined);
    try {
      await props.onSave({
        ...(props.rule?.id ? { id: props.rule.id } : {}),
        description: description.trim(),
        expression,
        action,
        enabled,
        ...(props.rule?.action_parameters ? { action_parameters: props.rule.action_parameters } : {}),
      });
    } catch (err) {
      setError(describe(err));
      setBusy(false);
    }
  };

  const runTest = async () => {
    setTestResult(undefined);
    const tls: Record<string, string | boolean> = presented
      ? { cert_presented: true, cert_verified: verified, cert_revoked: revoked }
      : { cert_presented: false };
    if (presented)
      for (const [name, value] of Object.entries(fields)) if (value.trim()) tls[name] = value.trim();
    try {
      const result = await post<{ matches: boolean }>("/rules/test", {
        expression,
        request: {
          ...(host.trim() ? { host: host.trim() } : {}),
          method,
          uri: uri || "/",
          tls_client_auth: tls,
        },
      });
      setTestResult(
        result.matches
          ? `Matches: this request would be ${action === "log" ? "logged" : action === "skip" ? "skipped past the other rules" : "blocked"}.`
          : "Does not match: this request passes this rule.",
      );
    } catch (err) {
      setTestResult(`Cannot test: ${describe(err)}`);
    }
  };

  return (
    <Modal title={props.rule ? "Edit rule" : "Add rule"} onClose={props.onClose} wide>
      <form className="modal-body form" noValidate onSubmit={submit}>
        <TextField
          label="Description"
          error={descriptionProblem}
          value={description}
          onChange={setDescription}
        />
        <TextField
          label="Expression"
          error={
            problem && (touched || expression)
              ? `${caret ? `Line ${caret.lineNumber}, character ${caret.column}: ` : ""}${problem.message}`
              : undefined
          }
          hint={
            check?.valid ? (
              <span className="ok-text">✓ The expression is valid.</span>
            ) : (
              "Fields: http.host, http.request.uri.path, ip.src, cf.tls_client_auth.cert_verified, cert_subject_dn, cert_fingerprint_sha256…"
            )
          }
          value={expression}
          onChange={setExpression}
          rows={4}
          placeholder='not cf.tls_client_auth.cert_verified and http.request.uri.path matches "^/api/"'
          mono
        />
        {caret ? (
          <pre className="caret-line mono" aria-hidden="true" data-testid="caret">
            {caret.line}
            {"\n"}
            {caret.caret}
          </pre>
        ) : null}
        {failure ? (
          failure instanceof ApiFailure && failure.unavailable ? (
            <p className="muted">
              The server cannot check expressions (no /rules/check): it checks them when you save.
            </p>
          ) : (
            <Problem error={failure} />
          )
        ) : null}
        <div className="grid-2">
          <Field label="Action">
            {(attributes) => (
              <select
                {...attributes}
                value={action}
                onChange={(event) => setAction(event.target.value as RuleAction)}
              >
                <option value="log">log — record matching requests only</option>
                <option value="block">block — answer 403</option>
                <option value="drop">drop — close the connection</option>
                <option value="skip">skip — pass the remaining rules</option>
              </select>
            )}
          </Field>
          <label className="check">
            <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} />{" "}
            Enabled
          </label>
        </div>
        <fieldset>
          <legend>Test against a sample request</legend>
          <div className="grid-3">
            <TextField label="Host" value={host} placeholder="api.example.com" onChange={setHost} />
            <Field label="Method">
              {(attributes) => (
                <input
                  {...attributes}
                  value={method}
                  onChange={(e) => setMethod(e.target.value.toUpperCase())}
                />
              )}
            </Field>
            <TextField label="Path and query" value={uri} onChange={setUri} />
          </div>
          <div className="checks-inline">
            <label className="check">
              <input type="checkbox" checked={presented} onChange={(e) => setPresented(e.target.checked)} />{" "}
              Client certificate presented
            </label>
            {presented ? (
              <>
                <label className="check">
                  <input type="checkbox" checked={verified} onChange={(e) => setVerified(e.target.checked)} />{" "}
                  verified
                </label>
                <label className="check">
                  <input type="checkbox" checked={revoked} onChange={(e) => setRevoked(e.target.checked)} />{" "}
                  revoked
                </label>
              </>
            ) : null}
          </div>
          {presented ? (
            <div className="grid-2">
              {SAMPLE_FIELDS.map(([name, label, placeholder]) => (
                <Field key={name} label={label}>
                  {(attributes) => (
                    <input
                      {...attributes}
                      value={fields[name] ?? ""}
                      placeholder={placeholder}
                      onChange={(e) => setFields({ ...fields, [name]: e.target.value })}
                    />
                  )}
                </Field>
              ))}
            </div>
          ) : null}
          <div className="button-row">
            <button type="button" onClick={runTest} disabled={Boolean(problem)}>
              Test
            </button>
            {testResult ? (
              <span role="status" className={testResult.startsWith("Matches") ? "match" : "muted"}>
                {testResult}
              </span>
            ) : null}
          </div>
        </fieldset>
        <FormError error={error} />
        <ModalActions onCancel={props.onClose} submit="Save rule" busy={busy} busyText="Saving…" />
      </form>
    </Modal>
  );
}
