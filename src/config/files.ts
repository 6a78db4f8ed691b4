/**
 * Reads the files a config names (certificates, keys, CA bundles, CRL files) and checks them, so a
 * running edge never discovers a bad file. Errors name the file as the user wrote it, at its YAML node.
 */
import { open, readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { describeFsError } from "../files.ts";
import { assertCanIssue, type Certificate, parseCertificates } from "../pki/certificate.ts";
import { PkiError } from "../pki/errors.ts";
import { keyMatchesPublicKey, parsePrivateKey } from "../pki/keys.ts";
import { decodePemBlocks, encodePem } from "../pki/pem.ts";
import { formatPath } from "./errors.ts";
import type { KeyPairEntry } from "./schema.ts";
import type { ConfigSource, YamlPath } from "./source.ts";
import type { CrlSource, KeyPairPem } from "./types.ts";

export interface FileContext {
  source: ConfigSource;
  /** The config file's directory: relative paths in the file start here. */
  dir: string;
}

/** Runs a PKI parser; its error becomes a ConfigError at `path`, naming `name`. */
function parsed<T>(context: FileContext, path: YamlPath, name: string, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof PkiError) throw context.source.error(path, `${name}: ${err.detail}`);
    throw err;
  }
}

async function readConfigFile(context: FileContext, path: YamlPath, name: string) {
  const absolute = resolve(context.dir, name);
  try {
    return { absolute, data: await readFile(absolute) };
  } catch (err) {
    throw context.source.error(path, `cannot read ${name}: ${describeFsError(err)}`);
  }
}

function certificatesPem(certificates: readonly Certificate[]): string {
  return certificates.map((cert) => encodePem("CERTIFICATE", cert.rawData)).join("");
}

/** A certificate file (leaf, then its chain) and the leaf's private key, which must match it. */
export async function readKeyPair(
  context: FileContext,
  pair: KeyPairEntry,
  path: YamlPath,
): Promise<KeyPairPem> {
  const certPath = [...path, "cert"];
  const keyPath = [...path, "key"];
  const cert = await readConfigFile(context, certPath, pair.cert);
  const certificates = parsed(context, certPath, pair.cert, () => parseCertificates(cert.data));
  const key = await readConfigFile(context, keyPath, pair.key);
  const privateKey = parsed(context, keyPath, pair.key, () => parsePrivateKey(key.data));
  const leaf = certificates[0] as Certificate;
  if (!keyMatchesPublicKey(privateKey, leaf.publicKey.rawData)) {
    throw context.source.error(keyPath, `key does not match the certificate in ${pair.cert}`);
  }
  return {
    certPem: certificatesPem(certificates),
    // PKCS#8 PEM whatever the input form (DER, PKCS#1, SEC1): one form for every consumer.
    keyPem: privateKey.export({ type: "pkcs8", format: "pem" }) as string,
    certFile: cert.absolute,
    keyFile: key.absolute,
  };
}

/** Trust anchors for client certificates: every certificate of every file, each one a CA. */
export async function readTrustedCas(
  context: FileContext,
  files: readonly string[],
  path: YamlPath,
): Promise<string[]> {
  const pems: string[] = [];
  for (const [index, name] of files.entries()) {
    const filePath = [...path, index];
    const { data } = await readConfigFile(context, filePath, name);
    const certificates = parsed(context, filePath, name, () => parseCertificates(data));
    for (const [position, cert] of certificates.entries()) {
      // A non-CA here is surely the wrong file (a client or server certificate), and verifies nothing.
      parsed(context, filePath, `${name}: certificate #${position + 1}`, () =>
        assertCanIssue(cert, "certificates"),
      );
      pems.push(encodePem("CERTIFICATE", cert.rawData));
    }
  }
  return pems;
}

/** The PEM bundle that verifies the origin: kept as written, once every block is a certificate. */
export async function readOriginCa(context: FileContext, name: string, path: YamlPath): Promise<string> {
  const { data } = await readConfigFile(context, path, name);
  const text = data.toString("utf8");
  const blocks = decodePemBlocks(text);
  const other = blocks.findIndex((block) => block.label !== "CERTIFICATE");
  if (other >= 0) {
    const label = blocks[other]?.label;
    throw context.source.error(path, `${name}: PEM block #${other + 1} is a ${label}, not a CERTIFICATE`);
  }
  if (blocks.length === 0) {
    throw context.source.error(path, `${name}: no certificate found (expected PEM CERTIFICATE blocks)`);
  }
  parsed(context, path, name, () => parseCertificates(text));
  return text;
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Where each CRL comes from. A URL is fetched later; a file must be readable now. Neither is parsed
 * here: the revocation module owns CRLs, and a file may legitimately be replaced while running.
 */
export async function resolveCrls(
  context: FileContext,
  entries: readonly string[],
  path: YamlPath,
): Promise<CrlSource[]> {
  const sources: CrlSource[] = [];
  for (const [index, entry] of entries.entries()) {
    const entryPath = [...path, index];
    const field = formatPath(entryPath);
    if (URL_SCHEME.test(entry)) {
      if (!/^https?:/i.test(entry) || !URL.canParse(entry)) {
        throw context.source.error(entryPath, `expected an http or https URL, got ${JSON.stringify(entry)}`);
      }
      sources.push({ kind: "url", url: entry, field });
      continue;
    }
    sources.push({ kind: "file", path: await checkReadableFile(context, entryPath, entry), field });
  }
  return sources;
}

async function checkReadableFile(context: FileContext, path: YamlPath, name: string): Promise<string> {
  const absolute = resolve(context.dir, name);
  let isFile: boolean;
  try {
    const handle = await open(absolute, "r");
    try {
      isFile = (await handle.stat()).isFile();
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw context.source.error(path, `cannot read ${name}: ${describeFsError(err)}`);
  }
  if (!isFile) throw context.source.error(path, `cannot read ${name}: not a regular file`);
  return absolute;
}
