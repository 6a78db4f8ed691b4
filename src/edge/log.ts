import pino, { type Logger } from "pino";

/** JSON lines on stdout, written asynchronously so logging never blocks a request. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid } }, pino.destination({ dest: 1, sync: false }));
}
