import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "./command.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin");

/** The commands `portcullis tour` suggests; a test runs them, so they stay true. */
export const TRY_COMMANDS = [
  `export PATH="${BIN}:$PATH"`,
  "mkdir -p /tmp/portcullis-demo && cd /tmp/portcullis-demo",
  `echo '{"CN": "Demo CA", "key": {"algo": "ecdsa", "size": 256}}' > ca-csr.json`,
  "portcullis pki gencert -initca ca-csr.json | portcullis pki json -bare ca",
  "portcullis pki print-defaults config > ca-config.json",
  `echo '{"CN": "demo-client", "names": [{"O": "Demo"}]}' > client-csr.json`,
  "portcullis pki gencert -ca ca.pem -ca-key ca-key.pem -config ca-config.json -profile client client-csr.json | portcullis pki json -bare client",
  "portcullis pki certinfo -cert client.pem",
  "portcullis pki pkcs12 -cert client.pem -key client-key.pem -ca ca.pem -password demo",
];

/** `portcullis tour`: a PKI walkthrough to paste into a shell (a test runs it, so it stays true). */
export const tourCommand: Command = {
  name: "tour",
  summary: "Print a short walkthrough of the PKI toolkit to try",
  async run() {
    process.stdout.write(
      [
        "Portcullis — a self-hosted mutual-TLS edge.",
        "",
        "Try a CA and a client certificate:",
        "",
        ...TRY_COMMANDS.map((c) => `  $ ${c}`),
        "",
        "Every PKI command: portcullis pki -h",
        "An mTLS edge from a config file: portcullis edge --config portcullis.yaml (docs/config.md).",
        "The API, the edge and a working demo in one command: portcullis up --demo (docs/api.md).",
        "",
      ].join("\n"),
    );
    return 0;
  },
};
