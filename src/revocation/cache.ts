/**
 * The last good copy of each URL's CRL: DATA_DIR/crls/<sha256 of the URL>.der beside a .json of metadata,
 * so an edge that restarts while the CRL server is down still enforces revocation.
 */
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFilesAtomically } from "../files.ts";
import { sha256 } from "./hash.ts";

export interface CacheMetadata {
  url: string;
  fetchedAtMs: number;
  /** SHA-256 of the .der: metadata left from another copy (a crash between the two renames) is ignored. */
  sha256: string;
  etag: string | null;
  lastModified: string | null;
  /** Of the cached CRL, to refuse an older download at startup without parsing the cache. */
  crlNumber: string | null;
  thisUpdateMs: number;
  issuerFingerprint256: string;
}

export interface CachedCrl {
  der: Buffer;
  /** Null when the .json is missing, unreadable or belongs to another copy. */
  meta: CacheMetadata | null;
  /** The .der's modification time: when it was fetched, if the metadata is lost. */
  mtimeMs: number;
}

export function cachePaths(dataDir: string, url: string): { der: string; json: string } {
  const base = join(dataDir, "crls", sha256(url));
  return { der: `${base}.der`, json: `${base}.json` };
}

/** Writes both files atomically (each all or nothing); `meta.sha256` is that of `der`. */
export async function writeCache(dataDir: string, der: Buffer, meta: CacheMetadata): Promise<void> {
  const paths = cachePaths(dataDir, meta.url);
  await mkdir(join(dataDir, "crls"), { recursive: true, mode: 0o755 });
  await writeFilesAtomically([
    { path: paths.der, content: der, mode: 0o644 },
    { path: paths.json, content: `${JSON.stringify(meta, null, 2)}\n`, mode: 0o644 },
  ]);
}

/** The cached copy of `url`, or null when there is none. */
export async function readCache(dataDir: string, url: string): Promise<CachedCrl | null> {
  const paths = cachePaths(dataDir, url);
  let der: Buffer;
  let mtimeMs: number;
  try {
    der = await readFile(paths.der);
    mtimeMs = (await stat(paths.der)).mtimeMs;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
  let meta: CacheMetadata | null = null;
  try {
    const parsed = JSON.parse(await readFile(paths.json, "utf8")) as CacheMetadata;
    if (parsed.url === url && parsed.sha256 === sha256(der) && Number.isFinite(parsed.fetchedAtMs))
      meta = parsed;
  } catch {
    // no usable metadata: the DER alone is still a verified-on-load CRL
  }
  return { der, meta, mtimeMs };
}
