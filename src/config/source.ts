/**
 * The config file as YAML: parsed strictly (syntax errors, warnings and duplicate keys are ConfigErrors
 * with line:col), kept as a document so any later error can point at the node it is about.
 */
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, formatPath } from "./errors.ts";

export type YamlPath = readonly PropertyKey[];

export interface ConfigSource {
  /** The file name as the user gave it, for messages. */
  file: string;
  /** The document as plain data (mappings → objects, sequences → arrays). */
  value: unknown;
  /**
   * A ConfigError about `path`, located at the node of `location.at` (default `path`; its key when
   * `atKey`), or at the nearest ancestor that exists.
   */
  error(path: YamlPath, detail: string, location?: { at?: YamlPath; atKey?: boolean }): ConfigError;
  /** Where the node at `at` starts, as a character offset (for ordering errors). */
  offset(at: YamlPath, atKey?: boolean): number;
}

const MESSAGES: Record<string, string> = {
  MULTIPLE_DOCS: "the file holds more than one YAML document (remove the second `---`)",
};

export function parseConfigSource(file: string, text: string): ConfigSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are checked below, where the message can name the key and its path.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false });
  const position = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const detail = MESSAGES[problem.code] ?? problem.message;
    throw new ConfigError({ detail: `invalid YAML: ${detail}`, ...position(problem.pos[0]) });
  }
  checkNodes(doc, doc.contents, [], (path, detail, offset) => {
    throw new ConfigError({ detail, ...position(offset), path: formatPath(path) });
  });
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (err) {
    // e.g. too many aliases (a "billion laughs" file)
    throw new ConfigError({ detail: `invalid YAML: ${(err as Error).message}`, file });
  }
  const offset = (at: YamlPath, atKey = false) => nodeAt(doc, at, atKey)?.range?.[0] ?? 0;
  return {
    file,
    value,
    offset,
    error: (path, detail, location = {}) =>
      new ConfigError({
        detail,
        ...position(offset(location.at ?? path, location.atKey)),
        path: formatPath(path),
      }),
  };
}

function keyOf(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/** Duplicate keys and aliases without an anchor: errors the YAML parser lets through. */
function checkNodes(
  doc: Document,
  node: unknown,
  path: YamlPath,
  report: (path: YamlPath, detail: string, offset: number) => never,
): void {
  if (isAlias(node) && !node.resolve(doc)) {
    // The usual cause is an unquoted wildcard host name, which YAML reads as an alias.
    const detail = `unknown alias ${JSON.stringify(`*${node.source}`)} (quote a wildcard host name: "*.example.test")`;
    report(path, detail, node.range?.[0] ?? 0);
  }
  if (isMap(node)) {
    const seen = new Set<string>();
    for (const pair of node.items) {
      const key = keyOf(pair.key);
      if (key === undefined) continue;
      if (seen.has(key))
        report(path, `duplicate key ${JSON.stringify(key)}`, (pair.key as Node).range?.[0] ?? 0);
      seen.add(key);
      checkNodes(doc, pair.value, [...path, key], report);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => {
      checkNodes(doc, item, [...path, index], report);
    });
  }
}

/** The node at `path`, following aliases; stops at the deepest node that exists. */
function nodeAt(doc: Document, path: YamlPath, atKey: boolean): Node | undefined {
  let node = doc.contents as Node | null;
  if (!node) return undefined;
  for (const [index, segment] of path.entries()) {
    const current: Node | undefined = isAlias(node) ? (node.resolve(doc) as Node | undefined) : node;
    let next: unknown;
    if (isMap(current)) {
      const pair = current.items.find((p) => keyOf(p.key) === String(segment));
      const last = index === path.length - 1;
      // An empty value (`mtls:`) has no text of its own: point at its key.
      next = pair && (atKey && last ? pair.key : isEmpty(pair.value) ? pair.key : pair.value);
    } else if (isSeq(current) && typeof segment === "number") {
      next = current.items[segment];
    }
    if (!next || !(next as Node).range) break;
    node = next as Node;
  }
  return node;
}

function isEmpty(node: unknown): boolean {
  return !node || (isScalar(node) && node.value === null && node.range?.[0] === node.range?.[1]);
}
