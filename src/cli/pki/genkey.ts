import { goJson } from "../../pki/certinfo.ts";
import { csrToPem, generateCsr } from "../../pki/csr.ts";
import { exportPrivateKeyPem, generatePrivateKey } from "../../pki/keys.ts";
import { initCa } from "../../pki/sign.ts";
import { flagCommand } from "../command.ts";
import { expectArgs, printLine, readCsrRequest } from "./common.ts";

export const genkeyCommand = flagCommand("portcullis pki", {
  name: "genkey",
  summary: "Generate a new key and CSR (the key stays on this machine)",
  synopsis: "[-initca] CSRJSON",
  description: "Generates a private key and a CSR from a cfssl CSR JSON file and prints {csr, key} as JSON.",
  flags: {
    initca: { type: "bool", usage: "also self-sign a new CA (like gencert -initca)" },
    loglevel: { type: "int", arg: "level", usage: "accepted for cfssl compatibility" },
  },
  async run(flags, args) {
    const [csrPath] = expectArgs(args, ["CSRJSON"]) as [string];
    const request = await readCsrRequest(csrPath);
    if (flags.initca) {
      printLine(goJson(await initCa(request)));
      return 0;
    }
    const key = await generatePrivateKey(request.key);
    const csr = await generateCsr(request, key);
    printLine(goJson({ csr: csrToPem(csr), key: exportPrivateKeyPem(key) }));
    return 0;
  },
});
