import { PkiError } from "./errors.ts";

export interface PemBlock {
  label: string;
  der: Buffer<ArrayBuffer>;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** All PEM blocks in a text, in order. */
export function decodePemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const body = (match[2] as string)
      .split(/\r?\n/)
      .filter((line) => !line.includes(":"))
      .join("");
    blocks.push({ label: match[1] as string, der: Buffer.from(body, "base64") });
  }
  return blocks;
}

/** PEM text with 64-character lines and a trailing newline, as OpenSSL and Go write it. */
export function encodePem(label: string, der: ArrayBuffer | Uint8Array): string {
  const base64 = Buffer.from(der as ArrayBuffer).toString("base64");
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The DER of every block with one of `labels`; a DER input (no PEM armour) is taken as one block. */
export function derBlocks(
  data: string | Buffer,
  labels: string[],
  what: string,
  field?: string,
): Buffer<ArrayBuffer>[] {
  const text = typeof data === "string" ? data : data.toString("latin1");
  if (!text.includes("-----BEGIN")) {
    const der = typeof data === "string" ? Buffer.from(data, "latin1") : Buffer.from(data);
    if (der.length > 0 && der[0] === 0x30) return [der];
    throw new PkiError("E_INPUT", `no ${what} found (expected PEM or DER)`, field ? { field } : {});
  }
  const found = decodePemBlocks(text).filter((b) => labels.includes(b.label));
  if (found.length === 0) {
    throw new PkiError(
      "E_INPUT",
      `no ${what} found (expected a PEM block labelled ${labels.join(" or ")})`,
      field ? { field } : {},
    );
  }
  return found.map((b) => b.der);
}
