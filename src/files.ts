/** File helpers shared by every part: errors in a user's words, and writes that never leave half a file. */
import { randomBytes } from "node:crypto";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { PkiError } from "./pki/errors.ts";

/** A file-system error in a user's words ("no such file", "permission denied"…). */
export function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    default:
      return (err as Error).message;
  }
}

export interface OutputFile {
  path: string;
  content: string | Uint8Array;
  /** Permission bits before the umask (as Go's os.WriteFile). */
  mode: number;
}

/**
 * Writes every file or none: each goes to a temporary file beside its target, and only when all are
 * written and flushed are they renamed into place. A reader never sees a half-written file.
 */
export async function writeFilesAtomically(files: readonly OutputFile[]): Promise<void> {
  const staged: { tmp: string; path: string }[] = [];
  try {
    for (const file of files) {
      const tmp = join(dirname(file.path), `.${basename(file.path)}.${randomBytes(6).toString("hex")}.tmp`);
      staged.push({ tmp, path: file.path });
      const handle = await open(tmp, "wx", file.mode);
      try {
        await handle.writeFile(file.content);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (const { tmp, path } of staged) await rename(tmp, path);
  } catch (err) {
    await Promise.all(staged.map(({ tmp }) => rm(tmp, { force: true })));
    const failed = staged.at(-1)?.path ?? files[0]?.path ?? "output";
    throw new PkiError("E_INPUT", `cannot write: ${describeFsError(err)}`, { file: failed });
  }
}
