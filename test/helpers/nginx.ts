/** nginx as a real TLS origin that requires a client certificate (`ssl_verify_client on`). */
import { type ChildProcess, spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import tls from "node:tls";

/**
 * Starts nginx on 127.0.0.1:`port` serving `dir/origin.pem` (+ `origin-key.pem`), trusting client
 * certificates of `dir/<clientCa>.pem`; every request is answered with what nginx saw:
 * `verify=$ssl_client_verify dn=$ssl_client_s_dn`. Resolves once it accepts TLS connections.
 */
export async function startClientCertNginx(
  dir: string,
  port: number,
  clientCa: string,
): Promise<ChildProcess> {
  const conf = `
worker_processes 1;
error_log ${dir}/nginx-error.log;
pid ${dir}/nginx.pid;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/nginx-body;
  proxy_temp_path ${dir}/nginx-proxy;
  fastcgi_temp_path ${dir}/nginx-fastcgi;
  uwsgi_temp_path ${dir}/nginx-uwsgi;
  scgi_temp_path ${dir}/nginx-scgi;
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${dir}/origin.pem;
    ssl_certificate_key ${dir}/origin-key.pem;
    ssl_client_certificate ${dir}/${clientCa}.pem;
    ssl_verify_client on;
    location / {
      default_type text/plain;
      return 200 "verify=$ssl_client_verify dn=$ssl_client_s_dn\\n";
    }
  }
}
`;
  await writeFile(join(dir, "nginx.conf"), conf);
  const child = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: "ignore",
  });
  const started = Date.now();
  while (Date.now() - started < 10_000) {
    if (await acceptsTls(port)) return child;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill("SIGKILL");
  const log = await readFile(join(dir, "nginx-error.log"), "utf8").catch(() => "");
  throw new Error(`nginx did not start: ${log}`);
}

function acceptsTls(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: "127.0.0.1", rejectUnauthorized: false }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on("error", () => resolve(false));
  });
}
