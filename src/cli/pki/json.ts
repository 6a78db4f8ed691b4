import { PkiError } from "../../pki/errors.ts";
import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { type OutputFile, parseJson, readInput, sourceName, writeFilesAtomically } from "../io.ts";

/** What cfssljson writes for each key of the JSON it reads (the first key present wins). */
const OUTPUTS: { keys: string[]; suffix: string; mode: number; base64?: boolean }[] = [
  { keys: ["cert", "certificate"], suffix: ".pem", mode: 0o664 },
  { keys: ["key", "private_key"], suffix: "-key.pem", mode: 0o600 },
  { keys: ["encrypted_key"], suffix: "-key.enc", mode: 0o600, base64: true },
  { keys: ["csr", "certificate_request"], suffix: ".csr", mode: 0o644 },
  { keys: ["crl"], suffix: ".crl", mode: 0o644, base64: true },
  { keys: ["ocspResponse"], suffix: "-response.der", mode: 0o644, base64: true },
];

export const jsonCommand = flagCommand("portcullis pki", {
  name: "json",
  summary: "Write the PEM files from JSON output (what cfssljson does)",
  synopsis: "[-f file] [-bare] [-stdout] BASE",
  description:
    "Reads the JSON of gencert/sign/genkey (stdin by default) and writes BASE.pem (cert, 0664), BASE-key.pem\n" +
    "(key, 0600) and BASE.csr (csr, 0644), minus the umask. Without -bare the input is a cfssl API response\n" +
    "({success, result, errors}). All files are written or none.",
  flags: {
    f: { type: "string", arg: "file", usage: 'JSON input (default "-", stdin)' },
    bare: { type: "bool", usage: "the response from cfssl is not wrapped in the API standard response" },
    stdout: { type: "bool", usage: "output the response instead of saving to a file" },
  },
  async run(flags, args) {
    if (args.length > 1) throw new UsageError(`expected one BASE name, got ${args.length}`);
    const base = args[0];
    if (!base && !flags.stdout) throw new UsageError("expected a BASE name for the files (or -stdout)");
    const inputPath = flags.f ?? "-";
    const source = sourceName(inputPath);
    const doc = parseJson((await readInput(inputPath, "JSON")).toString("utf8"), source);
    const fields = flags.bare ? asObject(doc, source) : unwrapResponse(doc, source);
    const outputs: OutputFile[] = [];
    for (const output of OUTPUTS) {
      const key = output.keys.find((k) => typeof fields[k] === "string" && fields[k] !== "");
      if (!key) continue;
      const value = fields[key] as string;
      outputs.push({
        path: `${base ?? ""}${output.suffix}`,
        content: output.base64 ? Buffer.from(value, "base64") : value,
        mode: output.mode,
      });
    }
    if (outputs.length === 0) {
      throw new PkiError("E_INPUT", "nothing to write: the JSON has no cert, key, csr or crl", {
        file: source,
      });
    }
    if (flags.stdout) {
      for (const output of outputs) {
        const text =
          typeof output.content === "string"
            ? output.content
            : Buffer.from(output.content).toString("base64");
        process.stdout.write(`${text}\n`);
      }
      return 0;
    }
    await writeFilesAtomically(outputs);
    return 0;
  },
});

function asObject(doc: unknown, source: string): Record<string, unknown> {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new PkiError("E_INPUT", "expected a JSON object", { file: source });
  }
  return doc as Record<string, unknown>;
}

/** The `result` of a cfssl API response; a failed response is reported with its errors. */
function unwrapResponse(doc: unknown, source: string): Record<string, unknown> {
  const response = asObject(doc, source);
  if (!("success" in response) && !("result" in response)) {
    throw new PkiError(
      "E_INPUT",
      "not a cfssl API response ({success, result}); for the output of gencert, sign or genkey use -bare",
      { file: source },
    );
  }
  if (response.success !== true) {
    const errors = Array.isArray(response.errors) ? response.errors : [];
    const messages = errors.map((e) => (e as { message?: string }).message ?? JSON.stringify(e)).join("; ");
    throw new PkiError("E_INPUT", `request failed: ${messages || "no error given"}`, { file: source });
  }
  return asObject(response.result, source);
}
