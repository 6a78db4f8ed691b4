import { type Command, commandGroup } from "../command.ts";
import { certinfoCommand } from "./certinfo.ts";
import { gencertCommand } from "./gencert.ts";
import { gencrlCommand } from "./gencrl.ts";
import { genkeyCommand } from "./genkey.ts";
import { jsonCommand } from "./json.ts";
import { pkcs12Command } from "./pkcs12.ts";
import { printDefaultsCommand } from "./print-defaults.ts";
import { signCommand } from "./sign.ts";

/** `portcullis pki`: cfssl (and, as `json`, cfssljson) with the same flags, JSON and files. */
export const pkiCommand: Command = commandGroup(
  "portcullis",
  "pki",
  "PKI toolkit, flag- and output-compatible with cfssl and cfssljson.",
  [
    gencertCommand,
    genkeyCommand,
    signCommand,
    jsonCommand,
    gencrlCommand,
    certinfoCommand,
    printDefaultsCommand,
    pkcs12Command,
  ],
);
