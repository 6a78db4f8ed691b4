import { readFile } from "node:fs/promises";
import { describeFsError } from "../files.ts";
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

export { describeFsError, type OutputFile, writeFilesAtomically } from "../files.ts";
