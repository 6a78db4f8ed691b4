/**
 * Who is signed in and what they look at: the token's accounts and zones, and the chosen zone (whose
 * account the account-level pages use). Also the tiny router: pages are paths under /dashboard/.
 */
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { getAll } from "./api.ts";
import type { Account, Zone } from "./types.ts";

export const BASE = "/dashboard";
const ZONE_KEY = "portcullis.zone";

export interface Session {
  accounts: Account[];
  zones: Zone[];
  zone: Zone | undefined;
  /** The chosen zone's account, or the only/first account when there is no zone. */
  account: Account | undefined;
  selectZone: (id: string) => void;
  refresh: () => Promise<void>;
  signOut: () => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("no session");
  return session;
}

export async function loadScope(): Promise<{ accounts: Account[]; zones: Zone[] }> {
  const [accounts, zones] = await Promise.all([getAll<Account>("/accounts"), getAll<Zone>("/zones")]);
  return { accounts, zones };
}

export function SessionProvider(props: {
  initial: { accounts: Account[]; zones: Zone[] };
  signOut: () => void;
  children: ReactNode;
}) {
  const [scope, setScope] = useState(props.initial);
  const [zoneId, setZoneId] = useState<string | null>(() => sessionStorage.getItem(ZONE_KEY));
  const refresh = useCallback(async () => setScope(await loadScope()), []);
  const value = useMemo<Session>(() => {
    const zone = scope.zones.find((z) => z.id === zoneId) ?? scope.zones[0];
    const account = zone
      ? (scope.accounts.find((a) => a.id === zone.account.id) ?? {
          id: zone.account.id,
          name: zone.account.name,
          created_on: "",
        })
      : scope.accounts[0];
    return {
      ...scope,
      zone,
      account,
      selectZone: (id) => {
        sessionStorage.setItem(ZONE_KEY, id);
        setZoneId(id);
      },
      refresh,
      signOut: props.signOut,
    };
  }, [scope, zoneId, refresh, props.signOut]);
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

/** The current page's path under /dashboard (e.g. "/certificates"), following history. */
export function usePath(): string {
  const [path, setPath] = useState(currentPath);
  useEffect(() => {
    const update = () => setPath(currentPath());
    window.addEventListener("popstate", update);
    window.addEventListener("portcullis:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("portcullis:navigate", update);
    };
  }, []);
  return path;
}

function currentPath(): string {
  const path = window.location.pathname;
  const rest = path.startsWith(BASE) ? path.slice(BASE.length) : path;
  return rest === "" || rest === "/" ? "/overview" : rest.replace(/\/+$/, "");
}

export function navigate(path: string): void {
  window.history.pushState(null, "", `${BASE}${path}`);
  window.dispatchEvent(new Event("portcullis:navigate"));
}

/** A link inside the dashboard: a real <a> (middle-click, copy link) that navigates without a reload. */
export function Link(props: { to: string; children: ReactNode; className?: string; current?: boolean }) {
  return (
    <a
      href={`${BASE}${props.to}`}
      className={props.className}
      aria-current={props.current ? "page" : undefined}
      onClick={(event) => {
        if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
        event.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
