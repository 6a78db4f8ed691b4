import { PkiError } from "./errors.ts";

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`8760h`, `1h30m`, `90s`, `-5m`), as cfssl's JSON uses, into milliseconds.
 * Go has no day unit; neither does cfssl, so `365d` is an error.
 */
export function parseGoDuration(text: string, field: string): number {
  const match = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!match || text === "0") {
    if (text === "0") return 0;
    throw new PkiError(
      "E_FIELD",
      `"${text}" is not a duration (use Go form like "8760h", "30m" or "1h30m")`,
      {
        field,
      },
    );
  }
  const sign = match[1] === "-" ? -1 : 1;
  let total = 0;
  for (const part of text
    .slice(match[1]?.length ?? 0)
    .matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(part[1]) * (UNIT_MS[part[2] as string] as number);
  }
  return sign * Math.round(total);
}
