import { PkiError } from "./errors.ts";
import { x509 } from "./x509.ts";

/** One entry of cfssl's `names` array. */
export interface NameEntry {
  C?: string;
  ST?: string;
  L?: string;
  O?: string;
  OU?: string;
  /** emailAddress attribute (cfssl `E`). */
  E?: string;
  SerialNumber?: string;
  street?: string;
  postalCode?: string;
}

export const OID = {
  C: "2.5.4.6",
  ST: "2.5.4.8",
  L: "2.5.4.7",
  street: "2.5.4.9",
  postalCode: "2.5.4.17",
  O: "2.5.4.10",
  OU: "2.5.4.11",
  CN: "2.5.4.3",
  SerialNumber: "2.5.4.5",
  E: "1.2.840.113549.1.9.1",
} as const;

const NAME_KEYS = ["C", "ST", "L", "O", "OU", "E", "SerialNumber", "street", "postalCode"] as const;

/** Validates cfssl's `names` array: objects of string fields. */
export function parseNameEntries(value: unknown, field = "names"): NameEntry[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new PkiError("E_FIELD", "must be an array of objects", { field });
  return value.map((entry, i) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new PkiError("E_FIELD", 'must be an object like {"C": "US", "O": "Example"}', {
        field: `${field}[${i}]`,
      });
    }
    const out: NameEntry = {};
    for (const [key, v] of Object.entries(entry)) {
      if (!(NAME_KEYS as readonly string[]).includes(key)) {
        throw new PkiError("E_FIELD", `unknown name attribute (use ${NAME_KEYS.join(", ")})`, {
          field: `${field}[${i}].${key}`,
        });
      }
      if (typeof v !== "string") {
        throw new PkiError("E_FIELD", "must be a string", { field: `${field}[${i}].${key}` });
      }
      out[key as keyof NameEntry] = v;
    }
    return out;
  });
}

/**
 * The subject a cfssl CSR request describes, with attributes in the order Go's pkix.Name writes them
 * (C, ST, L, street, postalCode, O, OU, CN, serialNumber, then emailAddress), so our subjects read
 * like cfssl's.
 */
export function buildSubject(cn: string, names: NameEntry[], serialNumber?: string): x509.Name {
  const rdns: x509.JsonName = [];
  const add = (oid: string, values: (string | undefined)[]) => {
    for (const value of values) if (value) rdns.push({ [oid]: [value] });
  };
  for (const key of ["C", "ST", "L", "street", "postalCode", "O", "OU"] as const) {
    add(
      OID[key],
      names.map((n) => n[key]),
    );
  }
  add(OID.CN, [cn]);
  add(OID.SerialNumber, [serialNumber, ...names.map((n) => n.SerialNumber)]);
  add(
    OID.E,
    names.map((n) => n.E),
  );
  return new x509.Name(rdns);
}
