/**
 * Opens `count` mTLS connections (a full handshake and one HTTP/1.1 request each, 64 at a time), then
 * keeps them open and idle until it is stopped. Prints {"opened":N,"failed":M} once all are up.
 *   node bench/tools/idle.ts '{"port":8443,"host":"ec.bench.test","cert":"c.pem","key":"k.pem","count":10000}'
 */
import { readFileSync } from "node:fs";
import tls from "node:tls";

interface Options {
  port: number;
  host: string;
  cert: string;
  key: string;
  count: number;
}

const options = JSON.parse(process.argv[2] ?? "{}") as Options;
const cert = readFileSync(options.cert);
const key = readFileSync(options.key);
const context = tls.createSecureContext({ cert, key });
const sockets: tls.TLSSocket[] = [];
let opened = 0;
let failed = 0;

function openOne(): Promise<void> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      port: options.port,
      host: "127.0.0.1",
      servername: options.host,
      secureContext: context,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    let settled = false;
    const settle = (ok: boolean) => {
      if (settled) return;
      settled = true;
      if (ok) {
        opened++;
        sockets.push(socket);
      } else {
        failed++;
        socket.destroy();
      }
      resolve();
    };
    socket.once("secureConnect", () => {
      socket.write(`GET / HTTP/1.1\r\nHost: ${options.host}\r\n\r\n`);
    });
    socket.once("data", (chunk: Buffer) => settle(chunk.toString("latin1").startsWith("HTTP/1.1 200")));
    socket.on("data", () => {});
    socket.on("error", () => settle(false));
    socket.setTimeout(30_000, () => settle(false));
  });
}

let next = 0;
async function worker(): Promise<void> {
  while (next < options.count) {
    next++;
    await openOne();
  }
}
await Promise.all(Array.from({ length: 64 }, worker));
for (const socket of sockets) socket.setTimeout(0);
process.stdout.write(`${JSON.stringify({ opened, failed })}\n`);
// Hold the connections until stopped.
setInterval(() => {}, 60_000);
process.on("SIGTERM", () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
