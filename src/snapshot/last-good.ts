/**
 * The last config the edge served from the store, kept on disk so that a node starts and serves while its
 * database is down. It holds decrypted private keys, so it is sealed with the store's secret key
 * (AES-256-GCM, src/store/secrets.ts) and written atomically with mode 0600.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { EdgeConfig } from "../config/types.ts";
import type { EdgeConfigSource } from "../edge/supervisor.ts";
import { writeFilesAtomically } from "../files.ts";
import { isUnavailable } from "../store/errors.ts";
import { openWithKey, type SealedSecret, sealWithKey } from "../store/secrets.ts";
import { StoreError } from "../store/types.ts";
import type { EdgeBase } from "./from-store.ts";

export const LAST_GOOD_FILE = "last-good-edge.json.enc";
const FORMAT = "portcullis-last-good-edge";
const VERSION = 1;
/** Binds the ciphertext to its purpose: a sealed private key of the store does not open as this file. */
const AAD = Buffer.from(`${FORMAT}:v${VERSION}`, "utf8");
/** How often the store is tried again while the edge serves the last good config. */
const RETRY_MS = 1000;

interface SealedFile extends SealedSecret {
  format: typeof FORMAT;
  version: typeof VERSION;
  writtenAt: string;
}

/** `DATA/last-good-edge.json.enc`: read and written whole, never half. */
export class LastGoodConfig {
  readonly path: string;
  readonly #key: Buffer;
  /** What was last written (or read), so an unchanged config is not written again. */
  #current: string | undefined;
  #writing: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string, key: Buffer) {
    this.path = join(dataDir, LAST_GOOD_FILE);
    this.#key = key;
  }

  /** The config, or undefined when there is no file; a StoreError `invalid` when it does not open. */
  async read(): Promise<EdgeConfig | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw new StoreError("unavailable", `cannot read ${this.path}: ${(error as Error).message}`);
    }
    try {
      const sealed = JSON.parse(text) as SealedFile;
      if (sealed.format !== FORMAT || sealed.version !== VERSION) throw new Error("unknown format");
      const plain = openWithKey(this.#key, AAD, sealed).toString("utf8");
      this.#current ??= plain;
      return JSON.parse(plain) as EdgeConfig;
    } catch {
      throw new StoreError(
        "invalid",
        `${this.path}: cannot decrypt the last good config (damaged, or another secret key?)`,
      );
    }
  }

  /** Writes `config` unless it is what the file already holds. Writes queue: the last one wins. */
  save(config: EdgeConfig): Promise<void> {
    const write = this.#writing.then(async () => {
      const plain = JSON.stringify(config);
      if (plain === this.#current) return;
      const sealed: SealedFile = {
        format: FORMAT,
        version: VERSION,
        writtenAt: new Date().toISOString(),
        ...sealWithKey(this.#key, AAD, Buffer.from(plain, "utf8")),
      };
      await writeFilesAtomically([{ path: this.path, content: `${JSON.stringify(sealed)}\n`, mode: 0o600 }]);
      this.#current = plain;
    });
    this.#writing = write.catch(() => {});
    return write;
  }
}

/** Whether the database could not be reached, as opposed to a config that is wrong. */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof StoreError ? error.code === "unavailable" : isUnavailable(error);
}

export interface FallbackOptions {
  lastGood: LastGoodConfig;
  /** Where this node listens and keeps its state: it overrides what the file says (it may have changed). */
  base: EdgeBase;
  warn: (message: string) => void;
}

/**
 * The edge's source for `portcullis up`: the store, or while the store is unavailable (or not open yet)
 * the last good config. After falling back it tries the store again every second and reloads once the
 * store answers, so the edge catches up even when no further change is announced.
 */
export class LastGoodFallbackSource implements EdgeConfigSource {
  readonly name = "store";
  readonly #options: FallbackOptions;
  #source: EdgeConfigSource | undefined;
  #onChange: ((why: string) => void) | undefined;
  #stopSource: (() => void) | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** A config the retry loaded from the store, handed to the reload it triggers. */
  #recovered: EdgeConfig | undefined;
  #fallenBack = false;

  constructor(options: FallbackOptions, source?: EdgeConfigSource) {
    this.#options = options;
    this.#source = source;
  }

  async load(): Promise<EdgeConfig> {
    const recovered = this.#recovered;
    this.#recovered = undefined;
    if (recovered) return recovered;
    const source = this.#source;
    let cause: unknown;
    if (source) {
      try {
        const config = await source.load();
        this.#fallenBack = false;
        return config;
      } catch (error) {
        if (!isStoreUnavailable(error)) throw error;
        cause = error;
      }
    }
    const cached = await this.#options.lastGood.read();
    if (!cached) {
      throw (
        cause ??
        new StoreError("unavailable", `the store is not open and there is no ${this.#options.lastGood.path}`)
      );
    }
    if (!this.#fallenBack) {
      this.#fallenBack = true;
      this.#options.warn(
        `store unavailable; serving the last good config from ${this.#options.lastGood.path}`,
      );
    }
    if (source) this.#scheduleRetry(source);
    return { ...cached, ...this.#options.base, file: this.#options.lastGood.path };
  }

  watch(onChange: (why: string) => void): () => void {
    this.#onChange = onChange;
    this.#stopSource = this.#source?.watch(onChange);
    return () => {
      this.#onChange = undefined;
      clearTimeout(this.#retry);
      this.#retry = undefined;
      this.#stopSource?.();
      this.#stopSource = undefined;
    };
  }

  /** Switches to `source` (the store, now open): watches it and reloads from it. */
  use(source: EdgeConfigSource): void {
    this.#stopSource?.();
    this.#source = source;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#recovered = undefined;
    if (!this.#onChange) return;
    this.#stopSource = source.watch(this.#onChange);
    this.#onChange("store available");
  }

  #scheduleRetry(source: EdgeConfigSource): void {
    if (this.#retry !== undefined || !this.#onChange) return;
    this.#retry = setTimeout(async () => {
      try {
        const config = await source.load();
        this.#retry = undefined;
        if (this.#source !== source || !this.#onChange) return;
        this.#recovered = config;
        this.#onChange("store available again");
      } catch (error) {
        this.#retry = undefined;
        if (this.#source !== source || !this.#onChange) return;
        // Reachable but refusing: the reload says why (config_refused); unreachable: try again.
        if (isStoreUnavailable(error)) this.#scheduleRetry(source);
        else this.#onChange("store available again");
      }
    }, RETRY_MS);
    this.#retry.unref();
  }
}
