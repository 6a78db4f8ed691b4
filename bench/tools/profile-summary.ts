/**
 * Summarizes a V8 .cpuprofile (from `node --cpu-prof`): self time per function and inclusive time per
 * function, as a share of the busy samples (idle ones left out), so a hot path's costs can be read
 * without a flame-graph viewer.
 *   node bench/tools/profile-summary.ts FILE.cpuprofile [--top 40] [--filter text]
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith("--"));
if (!file) {
  process.stderr.write("usage: node bench/tools/profile-summary.ts FILE.cpuprofile [--top N]\n");
  process.exit(2);
}
const top = Number(args[args.indexOf("--top") + 1] ?? 40) || 40;
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: ProfileNode[] };

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : "";
  return `${functionName || "(anonymous)"} ${where}`.trim();
}

function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, "");
  if (path.includes("node_modules/")) return path.slice(path.lastIndexOf("node_modules/") + 13);
  return path.startsWith("/") ? relative(process.cwd(), path) : path;
}

let total = 0;
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0 || node.callFrame.functionName === "(idle)") continue;
  total += hits;
  const name = label(node);
  self.set(name, (self.get(name) ?? 0) + hits);
  // Inclusive: every distinct function on the stack gets the hits once.
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
    const n = byId.get(id);
    if (!n) break;
    const l = label(n);
    if (seen.has(l)) continue;
    seen.add(l);
    inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
  }
}

function print(title: string, map: Map<string, number>): void {
  process.stdout.write(`\n${title} (of ${total} busy samples)\n`);
  const rows = [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  for (const [name, hits] of rows) {
    process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(6)} %  ${name}\n`);
  }
}

print("self time", self);
print("inclusive time", inclusive);
