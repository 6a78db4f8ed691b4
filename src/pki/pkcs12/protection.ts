/** How a PKCS#12 file is protected (password, scheme, iterations), and the bounds on each. */
import { PkiError } from "../errors.ts";

export interface Protection {
  password: string;
  /** pbeWithSHAAnd3-KeyTripleDES-CBC and an HMAC-SHA1 MAC instead of PBES2/AES-256 and HMAC-SHA256. */
  legacy: boolean;
  iterations: number;
}

/** OpenSSL 3's default; the legacy scheme keeps it as old importers expect. */
export const DEFAULT_ITERATIONS = 2048;
const MAX_ITERATIONS = 10_000_000;
/** Salt length for PBKDF2 and the MAC (the legacy scheme's salt is 8 bytes, as OpenSSL writes it). */
export const SALT_BYTES = 16;

/** The caller's protection options, checked; a bad one is an E_FIELD error naming it. */
export function protection(options: {
  password: unknown;
  legacy?: boolean;
  iterations?: number;
}): Protection {
  const { password } = options;
  if (typeof password !== "string") {
    throw new PkiError("E_FIELD", "a password is required (it may be empty)", { field: "password" });
  }
  if (password.includes("\0")) {
    throw new PkiError("E_FIELD", "the password must not contain a NUL character", { field: "password" });
  }
  const iterations = options.iterations ?? DEFAULT_ITERATIONS;
  if (!iterationsInRange(iterations)) {
    throw new PkiError("E_FIELD", `must be a whole number from 1 to ${MAX_ITERATIONS}, got ${iterations}`, {
      field: "iterations",
    });
  }
  return { password, legacy: options.legacy ?? false, iterations };
}

/** Iteration counts read from a file are bounded too, so a hostile file cannot stall the reader. */
export function checkReadIterations(iterations: number): void {
  if (!iterationsInRange(iterations)) {
    throw new PkiError(
      "E_INPUT",
      `PKCS#12 iteration count ${iterations} is out of range (1 to ${MAX_ITERATIONS})`,
    );
  }
}

function iterationsInRange(iterations: number): boolean {
  return Number.isInteger(iterations) && iterations >= 1 && iterations <= MAX_ITERATIONS;
}
