import { connect } from "node:tls";
import { parseCertificate } from "../../pki/certificate.ts";
import { certinfo, csrInfo, goJson, goJsonWithBigInts } from "../../pki/certinfo.ts";
import { parseCsr } from "../../pki/csr.ts";
import { PkiError } from "../../pki/errors.ts";
import { x509 } from "../../pki/x509.ts";
import { flagCommand } from "../command.ts";
import { UsageError } from "../errors.ts";
import { parseInputFile } from "../io.ts";
import { printLine } from "./common.ts";

export const certinfoCommand = flagCommand("portcullis pki", {
  name: "certinfo",
  summary: "Show a certificate's, CSR's or remote server's certificate details as JSON",
  synopsis: "-cert file | -csr file | -domain host[:port]",
  description: "Prints the certificate information in cfssl certinfo's JSON shape.",
  flags: {
    cert: { type: "string", arg: "file", usage: "certificate file (PEM or DER; - for stdin)" },
    csr: { type: "string", arg: "file", usage: "certificate request file" },
    domain: {
      type: "string",
      arg: "host[:port]",
      usage: "fetch the certificate a TLS server presents (port 443 by default)",
    },
    loglevel: { type: "int", arg: "level", usage: "accepted for cfssl compatibility" },
  },
  async run(flags, args) {
    const chosen = [flags.cert, flags.csr, flags.domain].filter((v) => v !== undefined).length;
    if (chosen !== 1 || args.length > 0) throw new UsageError("give exactly one of -cert, -csr or -domain");
    if (flags.cert !== undefined) {
      const path = flags.cert;
      const cert = await parseInputFile(path, "certificate", (data) => parseCertificate(data));
      printLine(goJson(certinfo(cert), true));
    } else if (flags.csr !== undefined) {
      const path = flags.csr;
      const csr = await parseInputFile(path, "CSR", (data) => parseCsr(data));
      printLine(goJsonWithBigInts(csrInfo(csr), true));
    } else {
      const cert = await fetchServerCertificate(flags.domain as string);
      printLine(goJson(certinfo(cert), true));
    }
    return 0;
  },
});

/** Connects to a TLS server (without verifying it: we only want to look) and returns its leaf certificate. */
function fetchServerCertificate(domain: string): Promise<x509.X509Certificate> {
  const match = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(domain);
  if (!match)
    return Promise.reject(
      new PkiError("E_INPUT", `"${domain}" is not host or host:port`, { field: "domain" }),
    );
  const host = (match[1] as string).replace(/^\[|\]$/g, "");
  const port = Number(match[2] ?? 443);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      servername: /^[\d.:]+$/.test(host) ? "" : host,
      rejectUnauthorized: false,
    });
    socket.setTimeout(10_000, () => {
      socket.destroy();
      reject(new PkiError("E_INPUT", `${host}:${port}: timed out`, { field: "domain" }));
    });
    socket.once("secureConnect", () => {
      const peer = socket.getPeerX509Certificate();
      socket.end();
      if (!peer)
        reject(new PkiError("E_CERT", `${host}:${port} presented no certificate`, { field: "domain" }));
      else resolve(new x509.X509Certificate(new Uint8Array(peer.raw)));
    });
    socket.once("error", (err) =>
      reject(new PkiError("E_INPUT", `${host}:${port}: ${err.message}`, { field: "domain" })),
    );
  });
}
