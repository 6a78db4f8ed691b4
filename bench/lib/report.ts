/** The benchmark's rows, their targets, and the table (terminal, markdown) and JSON written from them. */
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import os from "node:os";
import { join } from "node:path";

/** How a row's pass/miss is judged from its values. */
export type Target =
  /** Portcullis ÷ nginx at least this (higher is better). */
  | { kind: "ratioAtLeast"; value: number }
  /** Portcullis ÷ nginx at most this (lower is better, e.g. memory). */
  | { kind: "ratioAtMost"; value: number }
  /** Portcullis at most nginx + this (same unit, e.g. ms of latency). */
  | { kind: "plusAtMost"; value: number }
  /** Portcullis' value at most this (absolute: seconds, % loss). */
  | { kind: "atMost"; value: number }
  /** Portcullis' value at least this (absolute, e.g. a ratio measured within Portcullis). */
  | { kind: "atLeast"; value: number }
  | { kind: "none" };

export interface Row {
  /** Scenario letter and a short key: "a.ecdsa.rate". */
  id: string;
  scenario: string;
  label: string;
  unit: string;
  nginx: number | null;
  portcullis: number | null;
  target: Target;
  /** Extra words shown under the table (how it was measured, what the nginx column means…). */
  note?: string;
}

export interface JudgedRow extends Row {
  ratio: number | null;
  pass: boolean | null;
}

export function judge(row: Row): JudgedRow {
  const { nginx, portcullis, target } = row;
  const ratio = nginx !== null && portcullis !== null && nginx !== 0 ? portcullis / nginx : null;
  let pass: boolean | null = null;
  if (portcullis !== null) {
    switch (target.kind) {
      case "ratioAtLeast":
        pass = ratio === null ? null : ratio >= target.value;
        break;
      case "ratioAtMost":
        pass = ratio === null ? null : ratio <= target.value;
        break;
      case "plusAtMost":
        pass = nginx === null ? null : portcullis <= nginx + target.value;
        break;
      case "atMost":
        pass = portcullis <= target.value;
        break;
      case "atLeast":
        pass = portcullis >= target.value;
        break;
      default:
        pass = null;
    }
  }
  return { ...row, ratio, pass };
}

export function targetText(target: Target, unit: string): string {
  switch (target.kind) {
    case "ratioAtLeast":
      return `≥ ${target.value.toFixed(1)}×`;
    case "ratioAtMost":
      return `≤ ${target.value.toFixed(1)}×`;
    case "plusAtMost":
      return `≤ nginx + ${target.value} ${unit}`;
    case "atMost":
      return `≤ ${target.value} ${unit}`;
    case "atLeast":
      return `≥ ${target.value} ${unit}`;
    default:
      return "—";
  }
}

export function formatNumber(value: number | null): string {
  if (value === null || Number.isNaN(value)) return "—";
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value).toLocaleString("en-US");
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

const columns = (baseline: string) => [
  "",
  "metric",
  "unit",
  baseline,
  "Portcullis",
  "ratio",
  "target",
  "result",
];

function cells(row: JudgedRow): string[] {
  return [
    row.scenario,
    row.label,
    row.unit,
    formatNumber(row.nginx),
    formatNumber(row.portcullis),
    row.ratio === null ? "—" : `${row.ratio.toFixed(2)}×`,
    targetText(row.target, row.unit),
    row.pass === null ? "info" : row.pass ? "pass" : "MISS",
  ];
}

export function markdownTable(rows: readonly JudgedRow[], baseline = "nginx"): string {
  const COLUMNS = columns(baseline);
  const lines = [
    `| ${COLUMNS.join(" | ")} |`,
    `|${COLUMNS.map((_, i) => (i >= 3 && i <= 5 ? " ---: " : " --- ")).join("|")}|`,
  ];
  for (const row of rows) lines.push(`| ${cells(row).join(" | ")} |`);
  return lines.join("\n");
}

export function terminalTable(rows: readonly JudgedRow[], baseline = "nginx"): string {
  const COLUMNS = columns(baseline);
  const table = [COLUMNS, ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length)));
  return table
    .map((r, n) =>
      r
        .map((cell, i) =>
          i >= 3 && i <= 5 && n > 0 ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0),
        )
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  /** The OpenSSL inside Node (nginx uses the system's, `openssl`). */
  nodeOpenssl: string;
  nginx: string;
  openssl: string;
  serverCpus: string;
  loadCpus: string;
}

export function machine(serverCpus: string, loadCpus: string): Machine {
  // nginx -v prints to stderr, openssl version to stdout: take whichever has the text.
  const version = (command: string, args: string[]) => {
    const out = spawnSync(command, args, { encoding: "utf8" });
    return `${out.stdout ?? ""}${out.stderr ?? ""}`.trim() || "unknown";
  };
  return {
    cpu: os.cpus()[0]?.model ?? "unknown",
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    nodeOpenssl: process.versions.openssl ?? "unknown",
    nginx: version("nginx", ["-v"]).replace(/^nginx version:\s*/, ""),
    openssl: version("openssl", ["version"]),
    serverCpus,
    loadCpus,
  };
}

export interface Results {
  date: string;
  command: string;
  machine: Machine;
  /** What the first column measured: nginx, or another Portcullis (`--against`). */
  baseline: string;
  options: Record<string, unknown>;
  rows: JudgedRow[];
  notes: string[];
  raw: Record<string, unknown>;
}

export function markdownReport(results: Results): string {
  const m = results.machine;
  return [
    `# Portcullis vs nginx — ${results.date}`,
    "",
    `\`${results.command}\` on ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, Linux ${m.kernel}; Node ${m.node} (OpenSSL ${m.nodeOpenssl}), ${m.nginx} (${m.openssl}). ` +
      `Servers pinned to CPU ${m.serverCpus}, load generators and the origin to CPU ${m.loadCpus}.`,
    "",
    markdownTable(results.rows, results.baseline),
    "",
    ...results.notes.map((note) => `- ${note}`),
    "",
  ].join("\n");
}

/** Writes RESULTS_DIR/<timestamp>.{json,md} and latest.{json,md}; returns the markdown path. */
export async function saveResults(dir: string, results: Results, prefix = ""): Promise<string> {
  await mkdir(dir, { recursive: true });
  const stamp = results.date.replace(/[:.]/g, "-");
  const json = `${JSON.stringify(results, null, 2)}\n`;
  const md = markdownReport(results);
  await writeFile(join(dir, `${prefix}${stamp}.json`), json);
  await writeFile(join(dir, `${prefix}${stamp}.md`), md);
  await writeFile(join(dir, `${prefix}latest.json`), json);
  await writeFile(join(dir, `${prefix}latest.md`), md);
  return join(dir, `${prefix}latest.md`);
}
