import { stat } from "node:fs/promises";
import { createCrl, DEFAULT_CRL_VALIDITY_SECONDS, parseSerialsFile } from "../../pki/crl.ts";
import { inFile, PkiError } from "../../pki/errors.ts";
import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { parseInputFile, readInput } from "../io.ts";
import { loadIssuerFiles } from "./common.ts";

/** A CRL valid longer than a century is a mistake, not a policy. */
const MAX_EXPIRY_SECONDS = 100 * 365 * 24 * 60 * 60;

/** `portcullis pki gencrl SERIALS_FILE CA_CERT CA_KEY [EXPIRY_SECONDS]`, as `cfssl gencrl`. */
export const gencrlCommand = flagCommand("portcullis pki", {
  name: "gencrl",
  summary: "Generate a CRL from a file of decimal serial numbers",
  synopsis: "[-pem] SERIALS_FILE CA_CERT CA_KEY [EXPIRY_SECONDS]",
  description: [
    "Generate a CRL signed by CA_CERT/CA_KEY that revokes the serials in SERIALS_FILE, and print it as one",
    "line of base64 DER, as `cfssl gencrl` does (or as PEM with -pem).",
    "",
    "SERIALS_FILE lists one decimal serial per line; blank lines and # comments are ignored, and a second",
    'column may give an RFC 5280 reason ("123456 keyCompromise"). EXPIRY_SECONDS is how long the CRL is',
    "valid (default 604800, one week); like cfssl 1.2 it may also be a file holding the number.",
    "Any of the files may be - for stdin.",
  ].join("\n"),
  flags: {
    pem: { type: "bool", usage: "print the CRL as PEM (X509 CRL) instead of base64 DER" },
  },
  async run(flags, args) {
    if (args.length < 3 || args.length > 4) {
      throw new UsageError(
        `expected SERIALS_FILE CA_CERT CA_KEY [EXPIRY_SECONDS], got ${args.length} argument(s)`,
      );
    }
    if (args.filter((arg) => arg === "-").length > 1) {
      throw new UsageError("only one argument may be - (stdin)");
    }
    const [serialsPath, certPath, keyPath, expiryArg] = args as [string, string, string, string | undefined];

    const validity = expiryArg === undefined ? DEFAULT_CRL_VALIDITY_SECONDS : await readExpiry(expiryArg);
    const serials = await parseInputFile(serialsPath, "serials file", (data) =>
      parseSerialsFile(data.toString("utf8")),
    );
    const issuer = await loadIssuerFiles(certPath, keyPath, "crls");

    const thisUpdate = new Date();
    const { der, pem } = await createCrl(issuer, {
      entries: serials,
      thisUpdate,
      nextUpdate: new Date(thisUpdate.getTime() + validity * 1000),
    });
    process.stdout.write(flags.pem ? pem : `${der.toString("base64")}\n`);
    return 0;
  },
});

/**
 * Seconds from the command line. cfssl 1.2 (Debian's golang-cfssl) reads this argument as a file that
 * holds the number, though its help says seconds; both forms work here.
 */
async function readExpiry(arg: string): Promise<number> {
  if (/^\d+$/.test(arg) || (arg !== "-" && !(await isFile(arg)))) return expirySeconds(arg);
  const text = (await readInput(arg, "expiry")).toString("utf8").trim();
  return inFile(arg, () => expirySeconds(text));
}

function expirySeconds(text: string): number {
  const seconds = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!(seconds > 0 && seconds <= MAX_EXPIRY_SECONDS)) {
    const detail = `"${text}" is not a whole number of seconds from 1 to ${MAX_EXPIRY_SECONDS}`;
    throw new PkiError("E_FIELD", detail, { field: "expiry" });
  }
  return seconds;
}

async function isFile(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isFile() ?? false;
}
