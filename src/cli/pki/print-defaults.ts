import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";

/** cfssl's own defaults, printed exactly as `cfssl print-defaults` prints them. */
const DEFAULTS: Record<string, string> = {
  config: `{
    "signing": {
        "default": {
            "expiry": "168h"
        },
        "profiles": {
            "www": {
                "expiry": "8760h",
                "usages": [
                    "signing",
                    "key encipherment",
                    "server auth"
                ]
            },
            "client": {
                "expiry": "8760h",
                "usages": [
                    "signing",
                    "key encipherment",
                    "client auth"
                ]
            }
        }
    }
}
`,
  csr: `{
    "CN": "example.net",
    "hosts": [
        "example.net",
        "www.example.net"
    ],
    "key": {
        "algo": "ecdsa",
        "size": 256
    },
    "names": [
        {
            "C": "US",
            "ST": "CA",
            "L": "San Francisco"
        }
    ]
}
`,
};

export const printDefaultsCommand = flagCommand("portcullis pki", {
  name: "print-defaults",
  summary: "Print a default signing config or CSR JSON to start from",
  synopsis: "config | csr | list",
  flags: {},
  async run(_flags, args) {
    const [what] = args;
    if (args.length !== 1 || what === undefined) throw new UsageError("expected one of: config, csr, list");
    if (what === "list") {
      process.stdout.write(
        `Default configurations are available for:\n${Object.keys(DEFAULTS)
          .map((k) => `\t${k}\n`)
          .join("")}`,
      );
      return 0;
    }
    const text = DEFAULTS[what];
    if (!text)
      throw new UsageError(
        `unknown default "${what}" (available: ${Object.keys(DEFAULTS).join(", ")}, list)`,
      );
    process.stdout.write(text);
    return 0;
  },
});
