import { goJson } from "../../pki/certinfo.ts";
import { parsePrivateKey } from "../../pki/keys.ts";
import { generateCertificate, initCa } from "../../pki/sign.ts";
import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { parseInputFile } from "../io.ts";
import {
  expectArgs,
  hostnameFlag,
  loadIssuerFiles,
  loadProfile,
  printLine,
  readCsrRequest,
} from "./common.ts";

export const gencertCommand = flagCommand("portcullis pki", {
  name: "gencert",
  summary: "Generate a new key and a certificate signed by a CA (or a new CA with -initca)",
  synopsis: "[-initca] [-ca cert -ca-key key] [-config config] [-profile name] [-hostname a,b] CSRJSON",
  description:
    "Generates a private key and CSR from a cfssl CSR JSON file (or - for stdin) and signs it.\n" +
    "Prints {cert, csr, key} as JSON: pipe it to 'portcullis pki json -bare NAME' to write the files.",
  flags: {
    initca: {
      type: "bool",
      usage: "initialise a new self-signed CA (re-generates it from -ca-key when given)",
    },
    ca: { type: "string", arg: "file", usage: "CA certificate used to sign" },
    "ca-key": { type: "string", arg: "file", usage: "CA private key" },
    config: { type: "string", arg: "file", usage: "cfssl signing config (JSON)" },
    profile: { type: "string", arg: "name", usage: "signing profile in the config" },
    hostname: { type: "string", arg: "a,b,c", usage: "comma-separated hosts, overriding the CSR's hosts" },
    loglevel: {
      type: "int",
      arg: "level",
      usage: "accepted for cfssl compatibility; Portcullis logs nothing here",
    },
  },
  async run(flags, args) {
    const [csrPath] = expectArgs(args, ["CSRJSON"]) as [string];
    const request = await readCsrRequest(csrPath);
    if (flags.hostname !== undefined) request.hosts = flags.hostname.split(",");
    if (flags.initca) {
      if (flags.ca)
        throw new UsageError(
          "-initca makes a self-signed root; sign an intermediate's CSR with 'sign' instead",
        );
      const caKeyPath = flags["ca-key"];
      const key = caKeyPath
        ? await parseInputFile(caKeyPath, "CA key", (data) => parsePrivateKey(data))
        : undefined;
      printLine(goJson(await initCa(request, key)));
      return 0;
    }
    if (!flags.ca && !flags["ca-key"])
      throw new UsageError("give -ca and -ca-key to sign, or -initca for a new CA");
    const [issuer, profile] = await Promise.all([
      loadIssuerFiles(flags.ca, flags["ca-key"]),
      loadProfile(flags.config, flags.profile),
    ]);
    const sans = hostnameFlag(flags.hostname);
    printLine(goJson(await generateCertificate(request, issuer, profile, sans ? { sans } : {})));
    return 0;
  },
});
