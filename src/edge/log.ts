import pino, { type Logger } from "pino";

let stdout: ReturnType<typeof pino.destination> | undefined;

/**
 * JSON lines on stdout, written asynchronously and in batches: one write per 4 KiB of lines, and at least
 * every 50 ms, instead of a write per line (at thousands of requests a second the per-line writes cost
 * more than the rest of the logging). Buffered lines are written out when the process exits. Every logger
 * of the process shares the one stdout destination, so lines never interleave.
 */
export function createLogger(level: string): Logger {
  stdout ??= pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 50 });
  return pino({ level, base: { pid: process.pid } }, stdout);
}

/** What `withCertificate` puts on a certificate's log lines. */
interface LoggedCertificate {
  fingerprintSha256: string;
  serial: string;
  subjectDn: string;
  issuerDn: string;
}

const certificateLoggers = new WeakMap<Logger, WeakMap<LoggedCertificate, Logger>>();

/**
 * A child of `logger` whose lines carry the certificate's fingerprint, serial, subject and issuer,
 * serialized once per certificate (its fields are cached per chain) instead of on every request's line.
 */
export function withCertificate(logger: Logger, cert: LoggedCertificate): Logger {
  let children = certificateLoggers.get(logger);
  if (!children) {
    children = new WeakMap();
    certificateLoggers.set(logger, children);
  }
  let child = children.get(cert);
  if (!child) {
    child = logger.child({
      fingerprint: cert.fingerprintSha256,
      serial: cert.serial,
      subject: cert.subjectDn,
      issuer: cert.issuerDn,
    });
    children.set(cert, child);
  }
  return child;
}
