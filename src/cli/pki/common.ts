import { type CsrRequest, parseCsrRequest } from "../../pki/csr.ts";
import { inFile, PkiError } from "../../pki/errors.ts";
import { parseHosts, type SubjectAltName } from "../../pki/hosts.ts";
import { type Issuer, loadIssuer } from "../../pki/issuer.ts";
import {
  defaultSigningProfile,
  parseSigningConfig,
  type SigningProfile,
  selectProfile,
} from "../../pki/profile.ts";
import { UsageError } from "../errors.ts";
import { readInput, readJsonFile, sourceName } from "../io.ts";

/** Reads a cfssl CSR JSON file (or stdin); a problem names the file and the field. */
export function readCsrRequest(path: string): Promise<CsrRequest> {
  return inFile(sourceName(path), async () => parseCsrRequest(await readJsonFile(path, "CSR JSON")));
}

/** Loads the CA named by `-ca` and `-ca-key`; a problem with either names that file. */
export async function loadIssuerFiles(
  caPath: string | undefined,
  caKeyPath: string | undefined,
  purpose: "certificates" | "crls" = "certificates",
): Promise<Issuer> {
  if (!caPath || !caKeyPath) throw new UsageError("both -ca and -ca-key are required");
  const [certData, keyData] = await Promise.all([
    readInput(caPath, "CA certificate"),
    readInput(caKeyPath, "CA key"),
  ]);
  try {
    return await loadIssuer(certData, keyData, purpose);
  } catch (err) {
    // The file says which flag was at fault; the field ("ca" or "ca-key") would only repeat it.
    if (err instanceof PkiError) {
      throw new PkiError(err.code, err.detail, { file: err.field === "ca-key" ? caKeyPath : caPath });
    }
    throw err;
  }
}

/** The signing profile from `-config` and `-profile` (cfssl's default policy when there is no config). */
export async function loadProfile(
  configPath: string | undefined,
  profileName: string | undefined,
): Promise<SigningProfile> {
  if (!configPath) {
    if (profileName)
      throw new PkiError("E_PROFILE", `-profile ${profileName} needs a -config that defines it`);
    return defaultSigningProfile();
  }
  const json = await readJsonFile(configPath, "signing config");
  try {
    return selectProfile(parseSigningConfig(json), profileName);
  } catch (err) {
    if (err instanceof PkiError && err.field !== "profile") throw err.inFile(configPath);
    throw err;
  }
}

/** `-hostname a,b,c` as subjectAltNames (undefined when the flag was not given). */
export function hostnameFlag(value: string | undefined): SubjectAltName[] | undefined {
  return value === undefined ? undefined : parseHosts(value.split(","), "hostname");
}

/** Exactly `count` positional arguments, named for the usage error. */
export function expectArgs(args: string[], names: string[]): string[] {
  if (args.length !== names.length) {
    throw new UsageError(
      `expected ${names.join(" ")}, got ${args.length ? args.map((a) => `"${a}"`).join(" ") : "nothing"}`,
    );
  }
  return args;
}

/** Prints one line of output: compact JSON like cfssl's. */
export function printLine(text: string): void {
  process.stdout.write(`${text}\n`);
}
