/**
 * `portcullis client-certificate create | list | get | revoke | reactivate | crl`: client certificates
 * from the zone's managed CA. Without --csr, `create` makes the key and the CSR here: the key is written
 * to a local file (0600) and never sent; only the CSR goes to the API.
 */
import { access } from "node:fs/promises";
import type { clientCertificateJson } from "../../../control/present.ts";
import { UsageError } from "../../errors.ts";
import { readInput, writeFilesAtomically } from "../../io.ts";
import type { ApiClient } from "../client.ts";
import { CliError } from "../errors.ts";
import { command, group } from "../framework.ts";
import { formatFields } from "../output.ts";
import { type Zone, zoneFor } from "../resolve.ts";

export type ClientCertificateJson = ReturnType<typeof clientCertificateJson>;

const STATUSES = ["all", "active", "pending_revocation", "revoked", "pending_reactivation"] as const;

const zoneFlag = { type: "string", placeholder: "ID|NAME", required: true, description: "the zone" } as const;

async function absent(path: string): Promise<void> {
  try {
    await access(path);
  } catch {
    return;
  }
  throw new CliError(`${path} already exists; choose another --out or move it away`);
}

/** A local key and its CSR (the key stays here). */
async function localKeyAndCsr(cn: string, o: string | undefined, ou: string | undefined, keyType: string) {
  const { generatePrivateKey, exportPrivateKeyPem } = await import("../../../pki/keys.ts");
  const { csrToPem, generateCsr } = await import("../../../pki/csr.ts");
  const keyRequest =
    keyType === "rsa" ? { algo: "rsa" as const, size: 2048 } : { algo: "ecdsa" as const, size: 256 };
  const key = await generatePrivateKey(keyRequest);
  const names =
    o !== undefined || ou !== undefined ? [{ ...(o ? { O: o } : {}), ...(ou ? { OU: ou } : {}) }] : [];
  const csr = csrToPem(await generateCsr({ CN: cn, hosts: [], key: keyRequest, names }, key));
  return { keyPem: exportPrivateKeyPem(key), csr };
}

const create = command({
  name: "create",
  summary: "Issue a client certificate from the zone's managed CA (key made locally, or from --csr)",
  description:
    "Without --csr: makes a private key (ECDSA P-256, or RSA 2048 with --key-type rsa) and a CSR for --cn on\n" +
    "this machine, sends only the CSR, and writes PREFIX.pem (the certificate) and PREFIX-key.pem (the key,\n" +
    "mode 0600); PREFIX is --out, default the common name. With --csr FILE: sends that CSR and writes the\n" +
    "certificate to PREFIX.pem when --out is given, else prints it on stdout. Existing files are never\n" +
    "overwritten. The zone's managed CA is created on first use.",
  flags: {
    zone: zoneFlag,
    csr: {
      type: "string",
      placeholder: "FILE",
      description: "a PEM CSR to send instead of making a key here",
    },
    cn: {
      type: "string",
      placeholder: "NAME",
      description: "common name of the new key's CSR (without --csr)",
    },
    o: { type: "string", placeholder: "ORG", description: "organization (O) of the CSR (without --csr)" },
    ou: {
      type: "string",
      placeholder: "UNIT",
      description: "organizational unit (OU) of the CSR (without --csr)",
    },
    "key-type": {
      type: "string",
      choices: ["ecdsa", "rsa"],
      defaultText: "ecdsa",
      description: "the new key's type (without --csr)",
    },
    out: { type: "string", placeholder: "PREFIX", description: "write PREFIX.pem (and PREFIX-key.pem)" },
    "validity-days": { type: "integer", placeholder: "DAYS", defaultText: "3650", description: "validity" },
  },
  examples: [
    "portcullis client-certificate create --zone example.test --cn device-42 --out device-42",
    "portcullis client-certificate create --zone example.test --csr client.csr > client.pem",
  ],
  async run({ flags, out, api }) {
    const fromCsr = flags.csr !== undefined;
    if (
      fromCsr &&
      (flags.cn !== undefined ||
        flags.o !== undefined ||
        flags.ou !== undefined ||
        flags["key-type"] !== undefined)
    ) {
      throw new UsageError("--cn, --o, --ou and --key-type make a new key's CSR: not with --csr");
    }
    if (!fromCsr && flags.cn === undefined)
      throw new UsageError("give --cn NAME (a key and CSR are made here) or --csr FILE");
    const prefix =
      flags.out ?? (fromCsr ? undefined : (flags.cn as string).replace(/[^A-Za-z0-9._-]+/g, "_"));
    const certPath = prefix === undefined ? undefined : `${prefix}.pem`;
    const keyPath = prefix === undefined || fromCsr ? undefined : `${prefix}-key.pem`;
    for (const path of [certPath, keyPath]) if (path) await absent(path);
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const local = fromCsr
      ? undefined
      : await localKeyAndCsr(flags.cn as string, flags.o, flags.ou, flags["key-type"] ?? "ecdsa");
    const csr = local?.csr ?? (await readInput(flags.csr as string, "CSR")).toString("utf8");
    const issued = await client.post<ClientCertificateJson>(`/zones/${zone.id}/client_certificates`, {
      csr,
      ...(flags["validity-days"] !== undefined ? { validity_days: flags["validity-days"] } : {}),
    });
    const files = [];
    if (certPath) files.push({ path: certPath, content: issued.certificate, mode: 0o644 });
    if (keyPath && local) files.push({ path: keyPath, content: local.keyPem, mode: 0o600 });
    await writeFilesAtomically(files);
    const summary = `Issued client certificate ${issued.id} for CN=${issued.common_name} (serial ${issued.serial_number}), valid until ${issued.expires_on}`;
    out.result({ ...issued, certificate_file: certPath ?? null, private_key_file: keyPath ?? null }, () => {
      if (!certPath) {
        process.stderr.write(`${summary}\n`);
        process.stdout.write(
          issued.certificate.endsWith("\n") ? issued.certificate : `${issued.certificate}\n`,
        );
        return;
      }
      out.say(summary);
      out.say(`Certificate: ${certPath}`);
      if (keyPath) out.say(`Private key: ${keyPath} (mode 0600; made here, only the CSR was sent)`);
    });
  },
});

async function findCertificate(client: ApiClient, zone: Zone, id: string): Promise<ClientCertificateJson> {
  return client.get<ClientCertificateJson>(`/zones/${zone.id}/client_certificates/${encodeURIComponent(id)}`);
}

const list = command({
  name: "list",
  summary: "List the zone's client certificates",
  flags: {
    zone: zoneFlag,
    status: {
      type: "string",
      choices: STATUSES,
      defaultText: "all",
      description: "only those in this state",
    },
  },
  async run({ flags, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const all: ClientCertificateJson[] = [];
    for (let offset = 0; ; offset += 1000) {
      const answer = await client.envelope("GET", `/zones/${zone.id}/client_certificates`, {
        query: { status: flags.status, limit: 1000, offset },
      });
      const page = answer.result as ClientCertificateJson[];
      all.push(...page);
      if (page.length < 1000 || all.length >= (answer.result_info?.total_count ?? 0)) break;
    }
    out.table(
      all,
      [
        { header: "id", value: (c) => c.id },
        { header: "common name", value: (c) => c.common_name },
        { header: "serial", value: (c) => c.serial_number },
        { header: "status", value: (c) => c.status },
        { header: "expires", value: (c) => c.expires_on },
      ],
      `No client certificates in zone ${zone.name}.`,
    );
  },
});

const get = command({
  name: "get",
  summary: "Show one client certificate",
  flags: { zone: zoneFlag },
  args: [{ name: "ID", description: "the certificate's id", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const certificate = await findCertificate(client, await zoneFor(client, flags.zone), args.ID as string);
    out.result(certificate, () =>
      process.stdout.write(
        formatFields([
          ["ID", certificate.id],
          ["Common name", certificate.common_name],
          ["Organization", certificate.organization],
          ["Serial", certificate.serial_number],
          ["SHA-256", certificate.fingerprint_sha256],
          ["SKI", certificate.ski],
          ["Status", certificate.status],
          ["Issued on", certificate.issued_on],
          ["Expires on", certificate.expires_on],
          ["CA", certificate.certificate_authority.name],
        ]),
      ),
    );
  },
});

const revoke = command({
  name: "revoke",
  summary: "Revoke a client certificate (the edge refuses it at once; it joins the zone's CRL)",
  flags: { zone: zoneFlag, yes: { type: "boolean", short: "y", description: "do not ask for confirmation" } },
  args: [{ name: "ID", description: "the certificate's id", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const certificate = await findCertificate(client, zone, args.ID as string);
    const question = `Are you sure you want to revoke client certificate ${certificate.id} (CN=${certificate.common_name}, serial ${certificate.serial_number})?`;
    if (!(await out.confirm(question, flags.yes))) {
      out.say("Not revoking");
      return;
    }
    const result = await client.delete<ClientCertificateJson>(
      `/zones/${zone.id}/client_certificates/${certificate.id}`,
    );
    out.result(result, () =>
      out.say(`Revoked client certificate ${result.id} (serial ${result.serial_number}): ${result.status}`),
    );
  },
});

const reactivate = command({
  name: "reactivate",
  summary: "Undo a revocation",
  flags: { zone: zoneFlag },
  args: [{ name: "ID", description: "the certificate's id", required: true }],
  async run({ flags, args, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const result = await client.patch<ClientCertificateJson>(
      `/zones/${zone.id}/client_certificates/${encodeURIComponent(args.ID as string)}`,
      { reactivate: true },
    );
    out.result(result, () => out.say(`Reactivated client certificate ${result.id}: ${result.status}`));
  },
});

const crl = command({
  name: "crl",
  summary: "Download the zone's CRL (the managed CA's revoked certificates)",
  description:
    "Fetches the managed CA's CRL (GET /crl/ZONE_ID.crl) and prints it as PEM, or writes it to --out (PEM, or\n" +
    "DER with --der). --json prints its revoked serial numbers and dates instead.",
  flags: {
    zone: zoneFlag,
    out: { type: "string", placeholder: "FILE", description: "write the CRL to FILE" },
    der: { type: "boolean", description: "DER instead of PEM" },
  },
  examples: ["portcullis client-certificate crl --zone example.test | openssl crl -noout -text"],
  async run({ flags, out, api }) {
    const client = await api();
    const zone = await zoneFor(client, flags.zone);
    const response = await client.fetch(`/crl/${zone.id}.crl`);
    if (response.status === 404)
      throw new CliError(`zone ${zone.name} has no managed CA yet (issue a client certificate first)`, 3);
    if (!response.ok) throw new CliError(`the CRL download answered HTTP ${response.status}`);
    const der = Buffer.from(await response.arrayBuffer());
    const { parseCrl } = await import("../../../pki/crl.ts");
    const { encodePem } = await import("../../../pki/pem.ts");
    const parsed = parseCrl(der);
    const data = flags.der ? der : encodePem("X509 CRL", der);
    if (flags.out) await writeFilesAtomically([{ path: flags.out, content: data, mode: 0o644 }]);
    const summary = {
      zone_id: zone.id,
      issuer: parsed.issuer,
      this_update: parsed.thisUpdate.toISOString(),
      next_update: parsed.nextUpdate?.toISOString() ?? null,
      revoked: parsed.entries.map((entry) => ({
        serial_number: entry.serial.toString(16).toUpperCase(),
        revoked_on: entry.revokedAt.toISOString(),
      })),
      file: flags.out ?? null,
    };
    out.result(summary, () => {
      if (flags.out)
        out.say(`Wrote the CRL of zone ${zone.name} (${summary.revoked.length} revoked) to ${flags.out}`);
      else process.stdout.write(data);
    });
  },
});

export const clientCertificateGroup = group({
  name: "client-certificate",
  summary: "Client certificates from a zone's managed CA: issue, list, revoke, reactivate, CRL",
  commands: [create, list, get, revoke, reactivate, crl],
});
