/**
 * `portcullis mtls-certificate upload | list | delete`: wrangler's commands, with wrangler's exact
 * wording, errors and confirmation (see ../shared/reference/cloudflare-api.md), plus `--ca` uploads
 * and `list --all` for the CA certificates hostname associations trust.
 */
import { UsageError } from "../../errors.ts";
import { readInput } from "../../io.ts";
import { notFoundError } from "../errors.ts";
import { CliError, command, group } from "../framework.ts";
import { formatFields } from "../output.ts";
import { isId, type MtlsCertificate, resolveAccount } from "../resolve.ts";

const date = (value: string) => new Date(value).toLocaleDateString();

const upload = command({
  name: "upload",
  summary: "Upload an mTLS certificate (or, with --ca, a CA certificate chain)",
  description:
    "Uploads a certificate chain (PEM, leaf first) with its private key, as `wrangler mtls-certificate upload`.\n" +
    "With --ca, uploads a CA certificate (chain) without a key: what hostname associations and origin CAs use.\n" +
    "The API checks the PEM, the chain order, the CA flag, that the key matches, and that it has not expired.",
  flags: {
    cert: {
      type: "string",
      placeholder: "FILE",
      required: true,
      description: "The path to a certificate file (.pem) containing a chain of certificates to upload",
    },
    key: {
      type: "string",
      placeholder: "FILE",
      description:
        "The path to a file containing the private key for your leaf certificate (required unless --ca)",
    },
    name: { type: "string", placeholder: "NAME", description: "The name for the certificate" },
    ca: { type: "boolean", description: "upload a CA certificate (no key) instead of a leaf" },
  },
  examples: [
    "portcullis mtls-certificate upload --cert cert.pem --key key.pem --name my-origin-cert",
    "portcullis mtls-certificate upload --ca --cert ca.pem --name partners-ca",
  ],
  async run({ flags, out, api }) {
    if (!flags.ca && flags.key === undefined) throw new UsageError("missing required flag --key");
    if (flags.ca && flags.key !== undefined)
      throw new UsageError("--key is not allowed with --ca (a CA is uploaded without its key)");
    const certificates = (await readInput(flags.cert, "certificate")).toString("utf8");
    const privateKey =
      flags.key === undefined ? undefined : (await readInput(flags.key, "private key")).toString("utf8");
    const client = await api();
    const account = await resolveAccount(client);
    const kind = flags.ca ? "CA Certificate" : "mTLS Certificate";
    const name = flags.name;
    out.say(name ? `Uploading ${kind} ${name}...` : `Uploading ${kind}...`);
    const result = await client.post<MtlsCertificate>(`/accounts/${account.id}/mtls_certificates`, {
      ...(name !== undefined ? { name } : {}),
      certificates,
      ...(privateKey !== undefined ? { private_key: privateKey } : {}),
      ca: flags.ca,
    });
    out.result(result, () => {
      out.say(name ? `Success! Uploaded ${kind} ${name}` : `Success! Uploaded ${kind}`);
      out.say(`ID: ${result.id}`);
      out.say(`Issuer: ${result.issuer}`);
      out.say(`Expires on ${date(result.expires_on)}`);
    });
  },
});

const list = command({
  name: "list",
  summary: "List uploaded mTLS certificates",
  description:
    "Lists the account's mTLS certificates as `wrangler mtls-certificate list` does (leaf certificates);\n" +
    "--all adds the CA certificates, marked `CA: true` as `wrangler cert list` shows them.",
  flags: { all: { type: "boolean", description: "also list CA certificates" } },
  async run({ flags, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const certificates = await client.list<MtlsCertificate>(
      `/accounts/${account.id}/mtls_certificates`,
      flags.all ? {} : { ca: false },
    );
    out.result(certificates, () => {
      for (const certificate of certificates) {
        const lines = [`ID: ${certificate.id}`];
        if (certificate.name) lines.push(`Name: ${certificate.name}`);
        lines.push(
          `Issuer: ${certificate.issuer}`,
          `Created on: ${date(certificate.uploaded_on)}`,
          `Expires on: ${date(certificate.expires_on)}`,
        );
        if (certificate.ca) lines.push(`CA: ${certificate.ca}`);
        // wrangler logs "\n": a blank line and an empty one.
        process.stdout.write(`${lines.join("\n")}\n\n\n`);
      }
    });
  },
});

const show = command({
  name: "get",
  summary: "Show one mTLS certificate and where it is used",
  args: [{ name: "ID|NAME", description: "the certificate's id or name", required: true }],
  async run({ args, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const base = `/accounts/${account.id}/mtls_certificates`;
    const spec = args["ID|NAME"] as string;
    const certificate = isId(spec)
      ? await client.get<MtlsCertificate>(`${base}/${spec}`)
      : await byName(base, spec);
    const uses = await client.get<{ service: string; status: string }[]>(
      `${base}/${certificate.id}/associations`,
    );
    out.result({ ...certificate, associations: uses }, () => {
      process.stdout.write(
        formatFields([
          ["ID", certificate.id],
          ["Name", certificate.name],
          ["CA", certificate.ca],
          ["Issuer", certificate.issuer],
          ["Serial", certificate.serial_number],
          ["Signature", certificate.signature],
          ["Uploaded on", certificate.uploaded_on],
          ["Expires on", certificate.expires_on],
          ["Used by", uses.map((use) => use.service).join(", ")],
        ]),
      );
    });

    async function byName(path: string, name: string): Promise<MtlsCertificate> {
      const found = await client.list<MtlsCertificate>(path, { name });
      if (found.length === 0) throw notFoundError(`certificate not found with name "${name}"`);
      if (found.length > 1) throw new CliError(`multiple certificates found with name "${name}"`);
      return found[0] as MtlsCertificate;
    }
  },
});

const remove = command({
  name: "delete",
  summary: "Delete an mTLS certificate",
  description:
    "Deletes a certificate by --id or --name, after wrangler's confirmation question. On a terminal it asks\n" +
    "(Enter = yes); without one it prints the question and goes on, as wrangler does; -y skips the question.\n" +
    "The API refuses while a hostname or hostname association uses the certificate, and says which. --name\n" +
    "also finds CA certificates (wrangler looks among leaf certificates only).",
  flags: {
    id: { type: "string", placeholder: "ID", description: "The id of the mTLS certificate to delete" },
    name: {
      type: "string",
      placeholder: "NAME",
      description: "The name of the mTLS certificate record to delete",
    },
    yes: { type: "boolean", short: "y", description: "do not ask for confirmation" },
  },
  examples: [
    "portcullis mtls-certificate delete --name my-origin-cert",
    "portcullis mtls-certificate delete --id 0123… -y",
  ],
  async run({ flags, out, api }) {
    if (flags.id !== undefined && flags.name !== undefined)
      throw new UsageError("can't provide both --id and --name.");
    if (flags.id === undefined && flags.name === undefined)
      throw new UsageError("must provide --id or --name.");
    const client = await api();
    const account = await resolveAccount(client);
    const base = `/accounts/${account.id}/mtls_certificates`;
    let certificate: MtlsCertificate;
    if (flags.id !== undefined) {
      certificate = await client.get<MtlsCertificate>(`${base}/${encodeURIComponent(flags.id)}`);
    } else {
      const name = flags.name as string;
      const found = await client.list<MtlsCertificate>(base, { name });
      if (found.length === 0) throw notFoundError(`certificate not found with name "${name}"`);
      if (found.length > 1) throw new CliError(`multiple certificates found with name "${name}"`);
      certificate = found[0] as MtlsCertificate;
    }
    const label = certificate.name ? `${certificate.id} (${certificate.name})` : certificate.id;
    if (!(await out.confirm(`Are you sure you want to delete certificate ${label}?`, flags.yes))) {
      out.say("Not deleting");
      return;
    }
    const deleted = await client.delete<MtlsCertificate>(`${base}/${certificate.id}`);
    out.result(deleted, () => out.say(`Deleted certificate ${label} successfully`));
  },
});

export const mtlsCertificateGroup = group({
  name: "mtls-certificate",
  summary: "Manage certificates used for mTLS connections (as wrangler mtls-certificate)",
  description:
    "The account's mTLS certificates: leaf certificates with keys (for env.MY_CERT.fetch and origin TLS,\n" +
    "and as hostname server certificates) and CA certificates (trusted for client verification).\n" +
    "upload, list and delete print exactly what `wrangler mtls-certificate` prints.",
  commands: [upload, list, show, remove],
});
