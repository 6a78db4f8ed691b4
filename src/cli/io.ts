import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { inFile, PkiError } from "../pki/errors.ts";

/** How errors name an input: its path, or `stdin` for `-`. */
export function sourceName(path: string): string {
  return path === "-" ? "stdin" : path;
}

/** Reads a file, or stdin for `-`; a missing or unreadable file is one clear error naming it. */
export async function readInput(path: string, what = "input"): Promise<Buffer> {
  if (path === "-") return readStdin();
  try {
    return await readFile(path);
  } catch (err) {
    throw new PkiError("E_INPUT", `cannot read ${what}: ${describeFsError(err)}`, { file: path });
  }
}

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads an input file (or stdin) and parses it; a PkiError from either step names the file. */
export function parseInputFile<T>(
  path: string,
  what: string,
  parse: (data: Buffer) => T | Promise<T>,
): Promise<T> {
  return inFile(sourceName(path), async () => parse(await readInput(path, what)));
}

/** Reads and parses a JSON file; a syntax error names the file, line and column. */
export async function readJsonFile(path: string, what = "JSON"): Promise<unknown> {
  const data = await readInput(path, what);
  return parseJson(data.toString("utf8"), sourceName(path));
}

export function parseJson(text: string, source: string): unknown {
  if (text.trim() === "") throw new PkiError("E_JSON", "empty input: expected JSON", { file: source });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new PkiError("E_JSON", `malformed JSON: ${(err as Error).message}`, { file: source });
  }
}

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
