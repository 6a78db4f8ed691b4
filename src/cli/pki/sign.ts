import { goJson } from "../../pki/certinfo.ts";
import { parseCsr } from "../../pki/csr.ts";
import { signCsr } from "../../pki/sign.ts";
import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { parseInputFile } from "../io.ts";
import { hostnameFlag, loadIssuerFiles, loadProfile, printLine } from "./common.ts";

export const signCommand = flagCommand("portcullis pki", {
  name: "sign",
  summary: "Sign a CSR with a CA",
  synopsis: "-ca cert -ca-key key [-config config] [-profile name] [-hostname a,b] CSR",
  description:
    "Signs a PEM or DER CSR file (or - for stdin; or -csr FILE) with the CA and prints {cert} as JSON.\n" +
    "The CSR's signature and key size are checked first. A profile with ca_constraint.is_ca makes an intermediate.",
  flags: {
    ca: { type: "string", arg: "file", usage: "CA certificate used to sign" },
    "ca-key": { type: "string", arg: "file", usage: "CA private key" },
    config: { type: "string", arg: "file", usage: "cfssl signing config (JSON)" },
    profile: { type: "string", arg: "name", usage: "signing profile in the config" },
    hostname: {
      type: "string",
      arg: "a,b,c",
      usage: "comma-separated hosts, replacing the CSR's subjectAltNames",
    },
    csr: { type: "string", arg: "file", usage: "the CSR (instead of the positional argument)" },
    loglevel: { type: "int", arg: "level", usage: "accepted for cfssl compatibility" },
  },
  async run(flags, args) {
    const csrPath = flags.csr ?? args[0];
    if (!csrPath || args.length > (flags.csr ? 0 : 1))
      throw new UsageError("expected one CSR file (or -csr FILE)");
    const csr = await parseInputFile(csrPath, "CSR", (data) => parseCsr(data));
    const [issuer, profile] = await Promise.all([
      loadIssuerFiles(flags.ca, flags["ca-key"]),
      loadProfile(flags.config, flags.profile),
    ]);
    const sans = hostnameFlag(flags.hostname);
    const cert = await signCsr(csr, issuer, profile, sans ? { sans } : {});
    printLine(goJson({ cert: cert.toString("pem") }));
    return 0;
  },
});
