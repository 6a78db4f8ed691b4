/** The shell: sign-in gate, navigation, zone picker and the page for the current path. */
import { type FormEvent, useCallback, useEffect, useState } from "react";
import { call, describe, rememberToken, savedToken, whenUnauthorized } from "./api.ts";
import { AccessPage } from "./pages/access.tsx";
import { CertificatesPage } from "./pages/certificates.tsx";
import { EventsPage } from "./pages/events.tsx";
import { FunctionsPage } from "./pages/functions.tsx";
import { HostnamesPage } from "./pages/hostnames.tsx";
import { OverviewPage } from "./pages/overview.tsx";
import { RulesPage } from "./pages/rules.tsx";
import { TokensPage } from "./pages/tokens.tsx";
import { Link, loadScope, SessionProvider, usePath, useSession } from "./session.tsx";
import type { Account, Zone } from "./types.ts";
import { Field, Loading } from "./ui.tsx";

const PAGES = [
  { path: "/overview", title: "Overview", page: OverviewPage },
  { path: "/hostnames", title: "Hostnames", page: HostnamesPage },
  { path: "/certificates", title: "Certificates", page: CertificatesPage },
  { path: "/rules", title: "Rules", page: RulesPage },
  { path: "/access", title: "Access", page: AccessPage },
  { path: "/functions", title: "Functions", page: FunctionsPage },
  { path: "/events", title: "Events", page: EventsPage },
  { path: "/tokens", title: "API tokens", page: TokensPage },
] as const;

type Scope = { accounts: Account[]; zones: Zone[] };

export function App() {
  const [scope, setScope] = useState<Scope | null>(null);
  const [checking, setChecking] = useState(() => savedToken() !== null);
  const [reason, setReason] = useState<string>();

  const signOut = useCallback((why?: string) => {
    rememberToken(null);
    setScope(null);
    setReason(why);
  }, []);

  useEffect(() => {
    whenUnauthorized(() => signOut("The server no longer accepts your token (401). Sign in again."));
    const token = savedToken();
    if (!token) return;
    loadScope().then(
      (loaded) => {
        setScope(loaded);
        setChecking(false);
      },
      () => {
        signOut("Your saved token was not accepted. Sign in again.");
        setChecking(false);
      },
    );
  }, [signOut]);

  if (checking) return <Loading what="your session" />;
  if (!scope) return <SignIn reason={reason} onSignedIn={setScope} />;
  return (
    <SessionProvider initial={scope} signOut={() => signOut()}>
      <Shell />
    </SessionProvider>
  );
}

function SignIn(props: { reason: string | undefined; onSignedIn: (scope: Scope) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>(props.reason);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const value = token.trim();
    if (value === "")
      return setError("Paste an API token: `portcullis up` prints the first admin token once.");
    setBusy(true);
    setError(undefined);
    try {
      await call("GET", "/user/tokens/verify", undefined, value);
      rememberToken(value);
      props.onSignedIn(await loadScope());
    } catch (err) {
      rememberToken(null);
      setError(`That token was not accepted: ${describe(err)}`);
      setBusy(false);
    }
  };
  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} noValidate>
        <h1>
          <span className="logo" aria-hidden="true">
            ▦
          </span>{" "}
          Portcullis
        </h1>
        <p className="muted">Sign in with an API token. It stays in this tab only (sessionStorage).</p>
        <Field
          label="API token"
          error={error}
          hint="Admin tokens see everything; account and zone tokens see their part."
        >
          {(attributes) => (
            <input
              {...attributes}
              type="password"
              autoComplete="off"
              spellCheck={false}
              value={token}
              onChange={(event) => setToken(event.target.value)}
              // biome-ignore lint/a11y/noAutofocus: the only thing to do on this screen
              autoFocus
            />
          )}
        </Field>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}

function Shell() {
  const path = usePath();
  const session = useSession();
  const [menuOpen, setMenuOpen] = useState(false);
  const current = PAGES.find((page) => path === page.path || path.startsWith(`${page.path}/`));
  useEffect(() => {
    document.title = `${current?.title ?? "Not found"} · Portcullis`;
    setMenuOpen(false);
  }, [current]);
  const Current = current?.page;
  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <button
          type="button"
          className="menu-button"
          aria-expanded={menuOpen}
          aria-controls="nav"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          ☰ <span className="sr-only">Menu</span>
        </button>
        <span className="brand">
          <span className="logo" aria-hidden="true">
            ▦
          </span>{" "}
          Portcullis
        </span>
        <ZonePicker />
        <button type="button" className="link-button" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <nav id="nav" className={menuOpen ? "nav nav-open" : "nav"} aria-label="Dashboard">
        <ul>
          {PAGES.map((page) => (
            <li key={page.path}>
              <Link to={page.path} current={page === current}>
                {page.title}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        {Current ? (
          <Current />
        ) : (
          <section className="page">
            <h1>Page not found</h1>
            <p>
              There is no dashboard page at this address. <Link to="/overview">Go to the overview</Link>.
            </p>
          </section>
        )}
      </main>
    </div>
  );
}

function ZonePicker() {
  const session = useSession();
  if (session.zones.length === 0)
    return (
      <span className="zone-picker muted">{session.account ? session.account.name : "No zones yet"}</span>
    );
  return (
    <label className="zone-picker">
      <span className="sr-only">Zone</span>
      <select value={session.zone?.id} onChange={(event) => session.selectZone(event.target.value)}>
        {session.zones.map((zone) => (
          <option key={zone.id} value={zone.id}>
            {zone.name}
            {session.accounts.length > 1 ? ` (${zone.account.name})` : ""}
          </option>
        ))}
      </select>
    </label>
  );
}
