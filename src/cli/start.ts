import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "./command.ts";

const BIN = join(dirname(fileURLToPath(import.meta.url)), "../../bin");

/** The commands `npm start` suggests; a test runs them, so they stay true. */
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

/** `npm start`: until the control plane exists, it shows what Portcullis can do today and what to try. */
export const startCommand: Command = {
  name: "start",
  summary: "Start Portcullis on its embedded defaults (today: show what to try)",
  async run() {
    process.stdout.write(
      [
        "Portcullis — a self-hosted mutual-TLS edge.",
        "",
        "The PKI toolkit and the edge are ready; the control plane comes next (see README.md).",
        "Try a CA and a client certificate:",
        "",
        ...TRY_COMMANDS.map((c) => `  $ ${c}`),
        "",
        "Every PKI command: portcullis pki -h",
        "Then put an mTLS edge in front of an origin: portcullis edge --config portcullis.yaml",
        "(a complete example is in docs/config.md; what it does is in docs/edge.md).",
        "",
      ].join("\n"),
    );
    return 0;
  },
};
