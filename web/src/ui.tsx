/** Small shared pieces: loading state, errors in words, empty states, fields, dialogs, badges. */
import { type ReactNode, useCallback, useEffect, useId, useRef, useState } from "react";
import { ApiFailure, describe } from "./api.ts";

export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` when `key` changes (and on reload); keeps the last data while reloading. */
export function useLoad<T>(load: () => Promise<T>, key: string): Loaded<T> {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [round, setRound] = useState(0);
  const loader = useRef(load);
  loader.current = load;
  // biome-ignore lint/correctness/useExhaustiveDependencies: key and round are the triggers
  useEffect(() => {
    let live = true;
    setState((previous) => ({ ...previous, loading: true }));
    loader.current().then(
      (data) => live && setState({ data, error: undefined, loading: false }),
      (error: unknown) => live && setState({ data: undefined, error, loading: false }),
    );
    return () => {
      live = false;
    };
  }, [key, round]);
  const reload = useCallback(() => setRound((n) => n + 1), []);
  return { ...state, reload };
}

export function Page(props: { title: string; actions?: ReactNode; intro?: ReactNode; children: ReactNode }) {
  return (
    <section className="page" aria-labelledby="page-title">
      <header className="page-header">
        <h1 id="page-title">{props.title}</h1>
        {props.actions ? <div className="page-actions">{props.actions}</div> : null}
      </header>
      {props.intro ? <p className="intro">{props.intro}</p> : null}
      {props.children}
    </section>
  );
}

export function Section(props: { title: string; actions?: ReactNode; children: ReactNode }) {
  const id = useId();
  return (
    <section className="card" aria-labelledby={id}>
      <header className="card-header">
        <h2 id={id}>{props.title}</h2>
        {props.actions ? <div className="card-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status">
      Loading {what}…
    </p>
  );
}

/** A feature this server does not have (its API route is missing): said plainly, no made-up data. */
export function Unavailable({ feature }: { feature: string }) {
  return (
    <div className="notice notice-info" data-testid="unavailable">
      <strong>{feature} is not available on this server.</strong> Its API is not part of this Portcullis
      version (the server answered “No route for that URI”). Upgrade the server to use it.
    </div>
  );
}

/** Any error, in words; an unavailable feature says so. */
export function Problem({ error, feature }: { error: unknown; feature?: string }) {
  if (feature && error instanceof ApiFailure && error.unavailable) return <Unavailable feature={feature} />;
  return (
    <div className="notice notice-error" role="alert">
      {describe(error)}
    </div>
  );
}

/** Loading, error or the content for loaded data. */
export function Show<T>(props: {
  loaded: Loaded<T>;
  what: string;
  feature?: string;
  children: (data: T) => ReactNode;
}) {
  const { data, error, loading } = props.loaded;
  if (error !== undefined)
    return <Problem error={error} {...(props.feature ? { feature: props.feature } : {})} />;
  if (data === undefined) return loading ? <Loading what={props.what} /> : null;
  return <>{props.children(data)}</>;
}

export function Empty(props: { title: string; children?: ReactNode }) {
  return (
    <div className="empty" data-testid="empty">
      <p className="empty-title">{props.title}</p>
      {props.children ? <p className="muted">{props.children}</p> : null}
    </div>
  );
}

/** A labelled control with its hint and its error in words (announced, and tied to the control). */
export function Field(props: {
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  children: (attributes: {
    id: string;
    "aria-invalid": boolean;
    "aria-describedby": string | undefined;
  }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy = [props.hint ? hintId : "", props.error ? errorId : ""].filter(Boolean).join(" ");
  return (
    <div className={props.error ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{props.label}</label>
      {props.children({
        id,
        "aria-invalid": Boolean(props.error),
        "aria-describedby": describedBy || undefined,
      })}
      {props.hint ? (
        <div className="hint" id={hintId}>
          {props.hint}
        </div>
      ) : null}
      {props.error ? (
        <div className="field-error" id={errorId} role="alert">
          {props.error}
        </div>
      ) : null}
    </div>
  );
}

/** A labelled text input, or a text area with `rows` (the common case of Field). */
export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  error?: string | undefined;
  hint?: ReactNode;
  placeholder?: string;
  rows?: number;
  mono?: boolean;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {(attributes) =>
        props.rows ? (
          <textarea
            {...attributes}
            rows={props.rows}
            spellCheck={false}
            className={props.mono ? "mono" : undefined}
            value={props.value}
            placeholder={props.placeholder}
            onChange={(event) => props.onChange(event.target.value)}
          />
        ) : (
          <input
            {...attributes}
            value={props.value}
            placeholder={props.placeholder}
            onChange={(event) => props.onChange(event.target.value)}
          />
        )
      }
    </Field>
  );
}

/** A modal dialog (the native <dialog>: focus stays inside, Escape closes). */
export function Modal(props: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (!dialog.open) dialog.showModal();
    const close = (event: Event) => {
      event.preventDefault();
      onClose.current();
    };
    dialog.addEventListener("cancel", close);
    return () => dialog.removeEventListener("cancel", close);
  }, []);
  return (
    <dialog ref={ref} className={props.wide ? "modal modal-wide" : "modal"} aria-labelledby={titleId}>
      <header className="modal-header">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" className="icon-button" aria-label="Close" onClick={() => props.onClose()}>
          ×
        </button>
      </header>
      {props.children}
    </dialog>
  );
}

/** "Are you sure?" before a change that matters (revoking, deleting). */
export function Confirm(props: {
  title: string;
  children: ReactNode;
  confirm: string;
  danger?: boolean;
  onConfirm: () => Promise<void>;
  onClose: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  return (
    <Modal title={props.title} onClose={props.onClose}>
      <div className="modal-body">{props.children}</div>
      {error !== undefined ? <Problem error={error} /> : null}
      <footer className="modal-footer">
        <button type="button" onClick={props.onClose}>
          Cancel
        </button>
        <button
          type="button"
          className={props.danger ? "danger" : "primary"}
          disabled={busy}
          onClick={async () => {
            setBusy(true);
            setError(undefined);
            try {
              await props.onConfirm();
              props.onClose();
            } catch (err) {
              setError(err);
              setBusy(false);
            }
          }}
        >
          {props.confirm}
        </button>
      </footer>
    </Modal>
  );
}

/** A table's header row; `actions` adds the (unlabelled on screen) actions column. */
export function TableHead({ columns, actions }: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {columns.map((column) => (
          <th scope="col" key={column}>
            {column}
          </th>
        ))}
        {actions ? (
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}

/** A form's error from the server (or any failure), announced. */
export function FormError({ error }: { error: string | undefined }) {
  return error ? (
    <div className="notice notice-error" role="alert">
      {error}
    </div>
  ) : null;
}

/** A dialog form's Cancel and submit buttons. */
export function ModalActions(props: {
  onCancel: () => void;
  submit: string;
  busy?: boolean;
  busyText?: string;
}) {
  return (
    <footer className="modal-footer">
      <button type="button" onClick={props.onCancel}>
        Cancel
      </button>
      <button type="submit" className="primary" disabled={props.busy}>
        {props.busy && props.busyText ? props.busyText : props.submit}
      </button>
    </footer>
  );
}

export function Badge(props: { tone?: "ok" | "warn" | "bad" | "info" | "muted"; children: ReactNode }) {
  return <span className={`badge badge-${props.tone ?? "muted"}`}>{props.children}</span>;
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date
    .toISOString()
    .replace("T", " ")
    .replace(/:\d\d\.\d+Z$|:\d\dZ$/, " UTC");
}

export function daysUntil(iso: string, now = Date.now()): number {
  return Math.floor((new Date(iso).getTime() - now) / 86_400_000);
}

/** A file the browser saves (made here: nothing goes to the server). */
export function download(name: string, content: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([content], { type }));
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** One-line status for the screen reader and the eye, after an action. */
export function useFlash(): [ReactNode, (message: string) => void] {
  const [message, setMessage] = useState("");
  const node = (
    <p className="flash" role="status" aria-live="polite" key="flash">
      {message}
    </p>
  );
  return [
    message ? node : <p className="sr-only" role="status" aria-live="polite" key="flash" />,
    setMessage,
  ];
}
