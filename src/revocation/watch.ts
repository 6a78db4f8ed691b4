/**
 * Notices when a file's content may have changed. It watches the file's directory, not the file: editors
 * and `mv` replace a file by renaming another over it (a new inode a file watch would miss), and
 * Kubernetes swaps a `..data` symlink. Every event is debounced and confirmed by a stat signature change; a
 * periodic stat covers file systems without inotify.
 */
import { type FSWatcher, watch } from "node:fs";
import { stat } from "node:fs/promises";
import { dirname } from "node:path";

export interface FileWatch {
  close(): void;
}

const DEBOUNCE_MS = 100;

/**
 * Calls `onChange` after `path` changes (or appears, or disappears). `initial` is the signature of the copy
 * already loaded (so a change between loading and watching is not missed); `pollMs` the fallback period.
 */
export function watchFileChanges(
  path: string,
  initial: string | null,
  pollMs: number,
  onChange: () => void,
  onWatchError: (err: Error) => void,
): FileWatch {
  let last = initial;
  let debounce: NodeJS.Timeout | undefined;
  let closed = false;

  const check = async () => {
    const now = await fileSignature(path);
    if (closed || now === last) return;
    last = now;
    onChange();
  };
  void check();
  // Not reset by later events: in a directory where another file changes all the time (a log beside the
  // CRL), a resetting debounce would wait for the polling period instead.
  const kick = () => {
    if (debounce) return;
    debounce = setTimeout(() => {
      debounce = undefined;
      void check();
    }, DEBOUNCE_MS);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(path), { persistent: false }, kick);
    watcher.on("error", (err) => {
      watcher?.close();
      onWatchError(err);
    });
  } catch (err) {
    onWatchError(err as Error); // e.g. the directory is gone: polling still works
  }
  const poll = setInterval(() => void check(), pollMs);
  poll.unref();

  return {
    close() {
      closed = true;
      clearTimeout(debounce);
      clearInterval(poll);
      watcher?.close();
    },
  };
}

/** What changes when the file is rewritten or replaced; null when it cannot be stat'ed. */
export async function fileSignature(path: string): Promise<string | null> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
  } catch {
    return null;
  }
}
