/**
 * CrlManager: every CRL source of every host, loaded, verified, kept fresh and cached on disk. The
 * edge reads `status()`; a refresh that fails keeps the last good CRL (with `lastError`), never throws
 * and never emits "error".
 */
import { EventEmitter } from "node:events";
import { readFile } from "node:fs/promises";
import type { CrlSource, HostConfig } from "../config/types.ts";
import { describeFsError } from "../files.ts";
import { crlInfo, olderThan, type Trust, type VerifiedCrl, verifyCrlBytes } from "./accept.ts";
import { type CachedCrl, readCache, writeCache } from "./cache.ts";
import { messageOf, RevocationError } from "./errors.ts";
import { fetchCrl } from "./fetch.ts";
import { refreshDelay } from "./schedule.ts";
import type { CrlInfo, CrlStatus } from "./types.ts";
import { type FileWatch, fileSignature, watchFileChanges } from "./watch.ts";

export type CrlLog = (level: "info" | "warn" | "error", msg: string, fields: object) => void;

export interface CrlManagerOptions {
  /** CRL cache directory is DATA_DIR/crls. */
  dataDir: string;
  /** Longest time between two fetches of a URL. */
  refreshIntervalMs: number;
  log?: CrlLog;
  now?: () => number;
  /** Whole download, headers and body (default 60 s). */
  fetchTimeoutMs?: number;
  /** Largest CRL accepted from a URL (default 256 MiB). */
  maxCrlBytes?: number;
}

/** File sources are also stat'ed this often, in case the watch misses an event (NFS, some containers). */
const FILE_POLL_MS = 5_000;

interface Entry {
  key: string;
  source: CrlSource;
  /** Every host that lists this source. */
  trust: Trust[];
  status: CrlStatus;
  /** SHA-256 of the DER in force: a re-read of the same CRL is no change. */
  sha256: string | null;
  etag: string | null;
  lastModified: string | null;
  failures: number;
  timer: NodeJS.Timeout | undefined;
  fileSignature: string | null;
  watch: FileWatch | undefined;
  /** Loads of one source run one at a time. */
  queue: Promise<void>;
}

export interface CrlManagerEvents {
  /** A source's CRL content changed (after start()): its key and the new CRL. */
  change: [key: string, crl: CrlInfo];
}

/** The stable key of a source: `file:<path>` or `url:<url>`. */
export function sourceKey(source: CrlSource): string {
  return source.kind === "file" ? `file:${source.path}` : `url:${source.url}`;
}

export class CrlManager extends EventEmitter<CrlManagerEvents> {
  readonly #options: Required<Omit<CrlManagerOptions, "log">> & { log: CrlLog };
  #entries = new Map<string, Entry>();
  #running = false;
  #abort = new AbortController();

  constructor(options: CrlManagerOptions) {
    super();
    this.#options = {
      now: Date.now,
      fetchTimeoutMs: 60_000,
      maxCrlBytes: 256 * 1024 * 1024,
      log: () => {},
      ...options,
    };
  }

  /**
   * Loads every source once. A file that cannot be read, parsed or verified throws (naming the YAML field
   * and the file); a URL never throws: it falls back to the disk cache, else its status records the error.
   */
  async load(hosts: readonly HostConfig[]): Promise<void> {
    if (this.#running) throw new RevocationError("CrlManager.load() while running: stop() first");
    if (this.#abort.signal.aborted) this.#abort = new AbortController(); // loaded again after stop()
    const entries = new Map<string, Entry>();
    for (const host of hosts) {
      for (const source of host.mtls.crls) {
        const key = sourceKey(source);
        let entry = entries.get(key);
        if (!entry) {
          entry = newEntry(key, source);
          entries.set(key, entry);
        }
        entry.trust.push({ field: source.field, trustedCasPem: host.mtls.trustedCasPem });
      }
    }
    const results = await Promise.allSettled(
      [...entries.values()].map((entry) =>
        entry.source.kind === "file"
          ? this.#loadFile(entry, entry.source.path)
          : this.#loadUrl(entry, entry.source.url),
      ),
    );
    const failed = results.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    this.#entries = entries;
  }

  status(): ReadonlyMap<string, CrlStatus> {
    return new Map([...this.#entries].map(([key, entry]) => [key, entry.status]));
  }

  /** Refreshes URLs on a timer and re-reads files when they change, until stop(). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    for (const entry of this.#entries.values()) {
      const { source } = entry;
      if (source.kind === "url") {
        this.#schedule(entry, source.url);
        continue;
      }
      entry.watch = watchFileChanges(
        source.path,
        entry.fileSignature,
        Math.min(FILE_POLL_MS, this.#options.refreshIntervalMs),
        () => this.#enqueue(entry, () => this.#reloadFile(entry, source.path)),
        (err) => this.#log("warn", "cannot watch CRL file; polling it", entry, { error: err.message }),
      );
    }
  }

  /** Stops timers and watches, aborts downloads in flight and waits for them. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#abort.abort();
    for (const entry of this.#entries.values()) {
      clearTimeout(entry.timer);
      entry.timer = undefined;
      entry.watch?.close();
      entry.watch = undefined;
    }
    await Promise.all([...this.#entries.values()].map((entry) => entry.queue));
  }

  async #loadFile(entry: Entry, path: string): Promise<void> {
    // The signature is taken before reading: a change during the read is then seen by the watch.
    entry.fileSignature = await fileSignature(path);
    const bytes = await this.#readCrlFile(entry, path);
    const verified = verifyCrlBytes(bytes, entry.trust, path);
    this.#install(entry, verified, this.#options.now(), false);
  }

  async #readCrlFile(entry: Entry, path: string): Promise<Buffer> {
    try {
      return await readFile(path);
    } catch (err) {
      throw new RevocationError(`${entry.source.field}: ${path}: cannot read: ${describeFsError(err)}`);
    }
  }

  /** A changed file: the new CRL replaces the old only if it verifies and is not older. */
  async #reloadFile(entry: Entry, path: string): Promise<void> {
    try {
      entry.fileSignature = await fileSignature(path);
      const verified = verifyCrlBytes(await this.#readCrlFile(entry, path), entry.trust, path);
      this.#replace(entry, verified, this.#options.now(), path);
    } catch (err) {
      this.#failed(entry, err);
    }
  }

  async #loadUrl(entry: Entry, url: string): Promise<void> {
    const cached = await readCache(this.#options.dataDir, url).catch((err: unknown) => {
      this.#log("warn", "cannot read the CRL cache", entry, { error: messageOf(err) });
      return null;
    });
    let fetchError: string;
    try {
      const fetched = await fetchCrl(url, {
        timeoutMs: this.#options.fetchTimeoutMs,
        maxBytes: this.#options.maxCrlBytes,
        signal: this.#abort.signal,
        etag: cached?.meta?.etag ?? null,
        lastModified: cached?.meta?.lastModified ?? null,
      });
      if (fetched.notModified) {
        if (!cached) throw new RevocationError("HTTP 304 without a cached copy");
        this.#install(entry, verifyCrlBytes(cached.der, entry.trust, url), this.#options.now(), false);
        this.#setValidators(entry, cached.meta?.etag ?? null, cached.meta?.lastModified ?? null);
        return;
      }
      const verified = verifyCrlBytes(fetched.body, entry.trust, url);
      const rollback = cached?.meta ? olderThan(verified, cachedInfo(entry, cached)) : null;
      if (!rollback || !(await this.#useCache(entry, url, cached, `${url}: ${rollback}`))) {
        this.#install(entry, verified, this.#options.now(), false);
        this.#setValidators(entry, fetched.etag, fetched.lastModified);
        if (cached?.meta?.sha256 !== entry.sha256) await this.#writeCache(entry, url, verified);
      }
      return;
    } catch (err) {
      fetchError = this.#describe(entry, err);
    }
    if (await this.#useCache(entry, url, cached, fetchError)) return;
    entry.status = { ok: false, source: entry.source, error: fetchError };
    this.#log("warn", "CRL unavailable", entry, { error: fetchError });
  }

  /** Installs the disk copy (lastError says why); false when there is none or it no longer verifies. */
  async #useCache(entry: Entry, url: string, cached: CachedCrl | null, why: string): Promise<boolean> {
    if (!cached) return false;
    try {
      const verified = verifyCrlBytes(cached.der, entry.trust, `${url} (cached copy)`);
      this.#install(entry, verified, cached.meta?.fetchedAtMs ?? cached.mtimeMs, true, why);
      this.#setValidators(entry, cached.meta?.etag ?? null, cached.meta?.lastModified ?? null);
      return true;
    } catch (err) {
      this.#log("warn", "cached CRL unusable", entry, { error: messageOf(err) });
      return false;
    }
  }

  async #refreshUrl(entry: Entry, url: string): Promise<void> {
    const current = entry.status.ok ? entry.status.crl : null;
    try {
      const fetched = await fetchCrl(url, {
        timeoutMs: this.#options.fetchTimeoutMs,
        maxBytes: this.#options.maxCrlBytes,
        signal: this.#abort.signal,
        etag: current ? entry.etag : null,
        lastModified: current ? entry.lastModified : null,
      });
      if (fetched.notModified) {
        if (current)
          entry.status = {
            ok: true,
            crl: { ...current, fetchedAtMs: this.#options.now(), fromCache: false },
          };
      } else {
        const verified = verifyCrlBytes(fetched.body, entry.trust, url);
        const replaced = this.#replace(entry, verified, this.#options.now(), url);
        // Only an accepted copy's validators: a 304 for a refused one would hide the refusal.
        this.#setValidators(entry, fetched.etag, fetched.lastModified);
        if (replaced) await this.#writeCache(entry, url, verified);
      }
      entry.failures = 0;
    } catch (err) {
      if (!this.#abort.signal.aborted) this.#failed(entry, err);
    }
  }

  /**
   * A newly read or fetched CRL: the same bytes only clear the error; an older one is refused; anything
   * else replaces the CRL in force and emits "change". True when it replaced it.
   */
  #replace(entry: Entry, verified: VerifiedCrl, fetchedAtMs: number, location: string): boolean {
    const current = entry.status.ok ? entry.status.crl : null;
    if (current && verified.sha256 === entry.sha256) {
      entry.status = { ok: true, crl: { ...current, fetchedAtMs, fromCache: false } };
      return false;
    }
    const rollback = current ? olderThan(verified, current) : null;
    if (rollback) throw new RevocationError(`${entry.source.field}: ${location}: ${rollback}`);
    const crl = this.#install(entry, verified, fetchedAtMs, false);
    try {
      this.emit("change", entry.key, crl);
    } catch (err) {
      // A listener's bug must not read as a failed refresh: the new CRL is already in force.
      this.#log("error", "a CRL change listener threw", entry, { error: messageOf(err) });
    }
    return true;
  }

  #install(
    entry: Entry,
    verified: VerifiedCrl,
    fetchedAtMs: number,
    fromCache: boolean,
    lastError?: string,
  ): CrlInfo {
    const crl = crlInfo(verified, entry.source, fetchedAtMs, fromCache);
    entry.status = lastError === undefined ? { ok: true, crl } : { ok: true, crl, lastError };
    entry.sha256 = verified.sha256;
    this.#log("info", fromCache ? "CRL loaded from cache" : "CRL loaded", entry, {
      serials: crl.serials.size,
      crlNumber: crl.crlNumber,
      thisUpdate: new Date(crl.thisUpdateMs).toISOString(),
      nextUpdate: crl.nextUpdateMs === null ? null : new Date(crl.nextUpdateMs).toISOString(),
      ...(lastError ? { error: lastError } : {}),
    });
    return crl;
  }

  #failed(entry: Entry, err: unknown): void {
    entry.failures++;
    const error = this.#describe(entry, err);
    entry.status = entry.status.ok
      ? { ok: true, crl: entry.status.crl, lastError: error }
      : { ok: false, source: entry.source, error };
    this.#log("warn", "CRL refresh failed; keeping the last good CRL", entry, {
      error,
      failures: entry.failures,
    });
  }

  async #writeCache(entry: Entry, url: string, verified: VerifiedCrl): Promise<void> {
    try {
      await writeCache(this.#options.dataDir, verified.parsed.der, {
        url,
        fetchedAtMs: entry.status.ok ? entry.status.crl.fetchedAtMs : this.#options.now(),
        etag: entry.etag,
        lastModified: entry.lastModified,
        sha256: verified.sha256,
        crlNumber: verified.parsed.crlNumber,
        thisUpdateMs: verified.parsed.thisUpdateMs,
        issuerFingerprint256: verified.issuerFingerprint256,
      });
    } catch (err) {
      this.#log("error", "cannot write the CRL cache", entry, { error: messageOf(err) });
    }
  }

  #setValidators(entry: Entry, etag: string | null, lastModified: string | null): void {
    entry.etag = etag;
    entry.lastModified = lastModified;
  }

  #schedule(entry: Entry, url: string): void {
    if (!this.#running) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      this.#enqueue(entry, async () => {
        await this.#refreshUrl(entry, url);
        this.#schedule(entry, url);
      });
    }, this.#nextDelay(entry));
  }

  #nextDelay(entry: Entry): number {
    return refreshDelay({
      intervalMs: this.#options.refreshIntervalMs,
      nowMs: this.#options.now(),
      nextUpdateMs: entry.status.ok ? entry.status.crl.nextUpdateMs : null,
      failures: entry.failures,
    });
  }

  #enqueue(entry: Entry, work: () => Promise<void>): void {
    if (!this.#running) return;
    entry.queue = entry.queue
      .then(() => (this.#running ? work() : undefined))
      .catch((err: unknown) => this.#log("error", "CRL refresh crashed", entry, { error: messageOf(err) }));
  }

  #describe(entry: Entry, err: unknown): string {
    const message = messageOf(err);
    return message.startsWith(`${entry.source.field}: `) ? message : `${entry.source.field}: ${message}`;
  }

  #log(level: "info" | "warn" | "error", msg: string, entry: Entry, fields: object): void {
    this.#options.log(level, msg, { source: entry.key, field: entry.source.field, ...fields });
  }
}

function newEntry(key: string, source: CrlSource): Entry {
  return {
    key,
    source,
    trust: [],
    status: { ok: false, source, error: "not loaded" },
    sha256: null,
    etag: null,
    lastModified: null,
    failures: 0,
    timer: undefined,
    fileSignature: null,
    watch: undefined,
    queue: Promise.resolve(),
  };
}

/** The cached copy as a CrlInfo from its metadata alone (for the rollback check), without parsing it. */
function cachedInfo(entry: Entry, cached: CachedCrl): CrlInfo {
  const meta = cached.meta as NonNullable<CachedCrl["meta"]>;
  return {
    source: entry.source,
    issuerFingerprint256: meta.issuerFingerprint256,
    serials: new Set(),
    thisUpdateMs: meta.thisUpdateMs,
    nextUpdateMs: null,
    crlNumber: meta.crlNumber,
    fetchedAtMs: meta.fetchedAtMs,
    fromCache: true,
  };
}
