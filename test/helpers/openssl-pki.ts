/**
 * Test PKIs made by openssl, the independent peer: CAs (self-signed or intermediate), client and server
 * certificates, each as `NAME.pem` and `NAME-key.pem` in a directory. One path makes them all:
 * genpkey, req -new, x509 -req with an extension file.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RunOptions, type RunResult, run } from "./run.ts";

export type KeyType = "rsa" | "rsa3072" | "p256" | "p384" | "p521" | "ed25519";

const GENPKEY: Record<KeyType, string[]> = {
  rsa: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
  rsa3072: ["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"],
  p256: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
  p384: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"],
  p521: ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-521"],
  ed25519: ["-algorithm", "ED25519"],
};

const EXTENSIONS = {
  ca: "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n",
  client: "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
  server:
    "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n" +
    "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
};

export interface CertOptions {
  /** A new key of this type (default p256), or the key of the certificate named `sameKeyAs`. */
  key?: KeyType | { sameKeyAs: string };
  /** An openssl -subj name, default `/CN=NAME`; `+` makes a multi-valued RDN. */
  subject?: string;
  /** The CA, by name, that signs the certificate; self-signed without one. */
  issuer?: string;
  /** Default: a random 64-bit serial. */
  serial?: bigint;
  /** Extension lines added to the profile's, e.g. `subjectAltName=DNS:a.test` or `subjectKeyIdentifier=none`. */
  extensions?: string;
  /** The subject is UTF-8 (openssl req -utf8), for non-ASCII names. */
  utf8?: boolean;
}

export interface OpensslCert {
  certPath: string;
  keyPath: string;
}

/** A CA (keyCertSign, cRLSign): a root, or an intermediate when `issuer` is given. */
export function makeCa(dir: string, name: string, options: CertOptions = {}): Promise<OpensslCert> {
  return issue(dir, name, EXTENSIONS.ca, options);
}

/** A client certificate (extendedKeyUsage clientAuth). */
export function makeClientCert(dir: string, name: string, options: CertOptions): Promise<OpensslCert> {
  return issue(dir, name, EXTENSIONS.client, options);
}

/** A server certificate (extendedKeyUsage serverAuth) for localhost and 127.0.0.1, or for `san` (`DNS:a.test,DNS:b.test`). */
export function makeServerCert(
  dir: string,
  name: string,
  options: CertOptions & { san?: string },
): Promise<OpensslCert> {
  const extensions = options.san
    ? EXTENSIONS.server.replace(/subjectAltName=.*\n/, `subjectAltName=${options.san}\n`)
    : EXTENSIONS.server;
  return issue(dir, name, extensions, options);
}

/** A new P-256 key and a CSR for `subject` (openssl -subj form) made by openssl: DIR/NAME-key.pem, DIR/NAME.csr; returns the CSR PEM. */
export async function makeCsr(dir: string, name: string, subject: string): Promise<string> {
  const csrPath = join(dir, `${name}.csr`);
  await openssl(
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"].concat([
      "-keyout",
      join(dir, `${name}-key.pem`),
      "-subj",
      subject,
      "-out",
      csrPath,
    ]),
  );
  return readFile(csrPath, "utf8");
}

/** Runs openssl and asserts that it succeeded. */
export async function openssl(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const result = await run("openssl", args, options);
  assert.equal(result.code, 0, `openssl ${args.join(" ")} failed:\n${result.stderr}`);
  return result;
}

/** The certificate's subjectKeyIdentifier as OpenSSL prints it (`6A:30:…`). */
export async function opensslSki(certPath: string): Promise<string> {
  const { stdout } = await openssl(["x509", "-in", certPath, "-noout", "-ext", "subjectKeyIdentifier"]);
  return (stdout.split("\n")[1] ?? "").trim();
}

/** `openssl crl -CAfile`: the CRL's signature checks out against the CA. */
export async function assertOpensslVerifiesCrl(
  crlPath: string,
  form: "PEM" | "DER",
  caPath: string,
  options: RunOptions = {},
): Promise<void> {
  const result = await run(
    "openssl",
    ["crl", "-in", crlPath, "-inform", form, "-CAfile", caPath, "-noout"],
    options,
  );
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stderr, /verify OK/);
}

async function issue(
  dir: string,
  name: string,
  extensions: string,
  options: CertOptions,
): Promise<OpensslCert> {
  const cwd = { cwd: dir };
  const key = options.key ?? "p256";
  const keyFile = `${name}-key.pem`;
  if (typeof key === "string") await openssl(["genpkey", ...GENPKEY[key], "-out", keyFile], cwd);
  else await copyFile(join(dir, `${key.sameKeyAs}-key.pem`), join(dir, keyFile));
  const subject = options.subject ?? `/CN=${name}`;
  await openssl(
    ["req", "-new", "-key", keyFile, "-subj", subject, "-multivalue-rdn", "-out", `${name}.csr`].concat(
      options.utf8 ? ["-utf8"] : [],
    ),
    cwd,
  );
  await writeFile(join(dir, `${name}.ext`), extensions + (options.extensions ?? ""));
  const signer = options.issuer
    ? ["-CA", `${options.issuer}.pem`, "-CAkey", `${options.issuer}-key.pem`]
    : ["-signkey", keyFile];
  const serial = options.serial?.toString() ?? `0x${randomBytes(8).toString("hex")}`;
  await openssl(
    ["x509", "-req", "-in", `${name}.csr`, ...signer, "-set_serial", serial, "-days", "30"].concat([
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.pem`,
    ]),
    cwd,
  );
  return { certPath: join(dir, `${name}.pem`), keyPath: join(dir, keyFile) };
}
