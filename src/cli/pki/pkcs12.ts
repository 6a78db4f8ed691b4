import { basename, extname } from "node:path";
import { type Certificate, parseCertificates } from "../../pki/certificate.ts";
import { PkiError } from "../../pki/errors.ts";
import { parsePrivateKey } from "../../pki/keys.ts";
import { createPkcs12, uniqueChain } from "../../pki/pkcs12.ts";
import { type Command, flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { parseInputFile, readInput, sourceName, writeFilesAtomically } from "../io.ts";

export const PASSWORD_ENV = "PORTCULLIS_P12_PASSWORD";

/** `portcullis pki pkcs12`: bundles a client certificate, its chain and its key for browsers and curl. */
export const pkcs12Command: Command = flagCommand("portcullis pki", {
  name: "pkcs12",
  summary: "Bundle a certificate, its chain and its key as a password-protected PKCS#12 (.p12) file",
  synopsis:
    "-cert CERT -key KEY [-ca CHAIN] [-name NAME] (-password PASS | -password-file FILE) [-legacy] [-out FILE | -stdout]",
  description: [
    "Writes a PKCS#12 file that browsers, OS keychains, curl (--cert-type P12) and openssl pkcs12 import:",
    "the key shrouded with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC), the certificates in an encrypted",
    "safe, and an HMAC-SHA256 MAC. -legacy uses 3DES and an HMAC-SHA1 MAC, for old macOS and Windows.",
    "",
    `The password comes from -password, -password-file (its first line) or $${PASSWORD_ENV};`,
    'one of them is required (-password "" for an empty password). The file goes to -out, or to',
    "CERT's name with .p12 in the current directory (client.pem -> client.p12), with mode 0600.",
  ].join("\n"),
  flags: {
    cert: {
      type: "string",
      arg: "FILE",
      usage: "the certificate (PEM or DER; further certificates join the chain)",
    },
    key: { type: "string", arg: "FILE", usage: "the certificate's private key (PEM or DER)" },
    ca: { type: "string", arg: "FILE", usage: "chain certificates to include (PEM bundle)" },
    name: {
      type: "string",
      arg: "NAME",
      usage: "friendly name shown by importers (default: the certificate's CN)",
    },
    password: { type: "string", arg: "PASS", usage: "the export password (visible to other users in ps)" },
    "password-file": {
      type: "string",
      arg: "FILE",
      usage: "read the export password from the first line of FILE",
    },
    legacy: { type: "bool", usage: "3DES and HMAC-SHA1, for importers that reject AES (old macOS, Windows)" },
    out: {
      type: "string",
      arg: "FILE",
      usage: "write the PKCS#12 file here (default: CERT's name with .p12)",
    },
    stdout: { type: "bool", usage: "write the PKCS#12 file to stdout" },
  },
  async run(flags, args) {
    if (args.length > 0) throw new UsageError(`unexpected argument "${args[0]}"`);
    if (!flags.cert) throw new UsageError("-cert is required");
    if (!flags.key) throw new UsageError("-key is required");
    if (flags.out !== undefined && flags.stdout) throw new UsageError("use -out or -stdout, not both");
    if ([flags.cert, flags.key, flags.ca].filter((f) => f === "-").length > 1) {
      throw new UsageError("only one input may be read from stdin (-)");
    }
    const out = flags.stdout ? undefined : (flags.out ?? defaultOutput(flags.cert));
    const password = await readPassword(flags.password, flags["password-file"]);

    const keyPath = flags.key;
    const [cert, ...bundled] = (await parseInputFile(flags.cert, "certificate", (data) =>
      parseCertificates(data, "cert"),
    )) as [Certificate, ...Certificate[]];
    const key = await parseInputFile(keyPath, "private key", (data) => parsePrivateKey(data, "key"));
    const chain = flags.ca
      ? await parseInputFile(flags.ca, "chain", (data) => parseCertificates(data, "ca"))
      : [];

    const chainCerts = uniqueChain(cert, [...bundled, ...chain]);
    const p12 = await createPkcs12({
      cert,
      key,
      chain: chainCerts,
      password,
      legacy: flags.legacy,
      ...(flags.name !== undefined ? { friendlyName: flags.name } : {}),
    }).catch((err: unknown) => {
      // A key that does not match the certificate is reported against the key file.
      throw err instanceof PkiError && err.field === "key" ? err.inFile(sourceName(keyPath)) : err;
    });
    const count = chainCerts.length;
    const summary = `cert ${cert.subject}, ${count} chain certificate${count === 1 ? "" : "s"}${flags.legacy ? ", legacy 3DES" : ""}`;
    if (out === undefined) {
      process.stdout.write(p12);
      process.stderr.write(`wrote PKCS#12 to stdout (${summary})\n`);
    } else {
      await writeFilesAtomically([{ path: out, content: p12, mode: 0o600 }]);
      process.stderr.write(`wrote ${out} (${summary})\n`);
    }
    return 0;
  },
});

/** client.pem → client.p12 (in the current directory); a name without .pem keeps its other extension off too. */
function defaultOutput(certPath: string): string {
  if (certPath === "-") throw new UsageError("with -cert - give -out FILE or -stdout");
  const name = basename(certPath);
  const ext = extname(name);
  const stem = [".pem", ".crt", ".cer", ".der"].includes(ext.toLowerCase())
    ? name.slice(0, -ext.length)
    : name;
  return `${stem}.p12`;
}

/** -password, else -password-file's first line, else $PORTCULLIS_P12_PASSWORD; an empty one must be explicit. */
async function readPassword(flag: string | undefined, file: string | undefined): Promise<string> {
  if (flag !== undefined && file !== undefined)
    throw new UsageError("use -password or -password-file, not both");
  if (flag !== undefined) return flag;
  if (file !== undefined) {
    const text = (await readInput(file, "password file")).toString("utf8");
    return text.split(/\r?\n/)[0] ?? "";
  }
  const env = process.env[PASSWORD_ENV];
  if (env) return env;
  throw new UsageError(
    `no password: give -password PASS, -password-file FILE or set ${PASSWORD_ENV} (-password "" for none)`,
  );
}
