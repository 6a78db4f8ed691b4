import type { Command } from "./command.ts";

/** `npm start`: until the edge exists, it shows what Portcullis can do today and what to try. */
export const startCommand: Command = {
  name: "start",
  summary: "Start Portcullis on its embedded defaults (today: show what to try)",
  async run() {
    process.stdout.write(
      [
        "Portcullis — a self-hosted mutual-TLS edge.",
        "",
        "The edge and control plane are not built yet; the PKI toolkit is. Try:",
        "",
        "  mkdir -p /tmp/pki && cd /tmp/pki",
        "  npx portcullis pki print-defaults csr > ca-csr.json",
        "  npx portcullis pki gencert -initca ca-csr.json | npx portcullis pki json -bare ca",
        "  npx portcullis pki print-defaults config > ca-config.json",
        "  npx portcullis pki gencert -ca ca.pem -ca-key ca-key.pem -config ca-config.json -profile client \\",
        "      ca-csr.json | npx portcullis pki json -bare client",
        "  npx portcullis pki certinfo -cert client.pem",
        "",
        "Run 'npx portcullis pki' for every PKI command, and see README.md.",
        "",
      ].join("\n"),
    );
    return 0;
  },
};
