/**
 * The servers under test, started from one description of the sites so their configs stay equivalent:
 * Portcullis (`portcullis edge --config`, one worker) and nginx (one worker), both terminating TLS with
 * the same certificates, verifying client certificates against the same CAs (and CRLs), logging one line
 * per request, forwarding the same identity headers, and proxying over keep-alive connections to the
 * same origin (an nginx answering `return 200` with a 1 KiB body).
 */
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  cpuSeconds,
  freePort,
  memoryMiB,
  processTree,
  type Spawned,
  sleep,
  spawnPinned,
  stopProcess,
  waitForPort,
} from "./procs.ts";

export const PORTCULLIS_BIN = resolve(import.meta.dirname, "../../bin/portcullis");

export interface Site {
  hostname: string;
  cert: string;
  key: string;
  /** Client CA file: certificates required (nginx `ssl_verify_client on`, Portcullis `mode: enforce`). */
  clientCa?: string;
  /** A PEM CRL file for clientCa. */
  crl?: string;
  default?: boolean;
  /** Portcullis only: firewall rule expressions (action block) under the host's `firewall:` key. */
  firewall?: readonly string[];
}

export type ServerName = "nginx" | "portcullis";
export const SERVERS: readonly ServerName[] = ["nginx", "portcullis"];

export interface Server {
  name: ServerName;
  port: number;
  /** Root pid (nginx master; Portcullis' single process). */
  pid: number;
  /** The config file (YAML or nginx.conf). */
  configFile: string;
  pids(): number[];
  cpuSeconds(): number;
  memory(): { rss: number; pss: number };
  /** nginx: re-read the config (SIGHUP). Portcullis watches its files itself. */
  reload(): void;
  stop(): Promise<void>;
}

/** Identity headers both servers send to the origin (nginx variables; Portcullis `forward` entries). */
const FORWARD: readonly (readonly [string, string])[] = [
  ["X-SSL-Client-Verify", "ssl_client_verify"],
  ["X-SSL-Client-S-DN", "ssl_client_s_dn"],
  ["X-SSL-Client-Serial", "ssl_client_serial"],
  ["X-SSL-Client-Fingerprint", "ssl_client_fingerprint"],
];

const BODY_1K = "x".repeat(1023);

/** A keep-alive nginx answering 200 with 1 KiB (1023 × "x" and a newline) to everything. */
export async function startOrigin(dir: string, cpus: string): Promise<Server> {
  const port = await freePort();
  const conf = `
worker_processes 1;
error_log ${dir}/origin-error.log warn;
pid ${dir}/origin.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  keepalive_timeout 120s;
${tempPaths(dir, "origin")}
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location / { default_type text/plain; return 200 "${BODY_1K}\\n"; }
  }
}
`;
  return startNginxProcess(dir, "origin", conf, port, cpus);
}

function tempPaths(dir: string, name: string): string {
  return ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
    .map((kind) => `  ${kind}_temp_path ${dir}/${name}-${kind};`)
    .join("\n");
}

export interface ServerSetup {
  dir: string;
  /** Distinguishes several instances in one directory. */
  name: string;
  cpus: string;
  sites: readonly Site[];
  originPort: number;
  /** Open-file limit (10,000 idle connections need more than the default). */
  nofile?: number;
  /** Extra environment for Portcullis (e.g. NODE_OPTIONS=--cpu-prof). */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs?: number;
  /** Another `portcullis` executable (an older checkout, for before/after comparisons). */
  bin?: string;
}

export function nginxConfig(setup: ServerSetup, port: number): string {
  const { dir, name } = setup;
  const servers = setup.sites.map((site, i) => {
    const mtls = site.clientCa
      ? [
          `ssl_client_certificate ${site.clientCa};`,
          "ssl_verify_client on;",
          "ssl_verify_depth 5;",
          ...(site.crl ? [`ssl_crl ${site.crl};`] : []),
        ]
      : [];
    const forward = site.clientCa
      ? FORWARD.map(([header, variable]) => `proxy_set_header ${header} $${variable};`)
      : [];
    return `
  server {
    listen 127.0.0.1:${port} ssl http2${i === 0 ? " default_server backlog=4096" : ""};
    server_name ${site.hostname};
    ssl_certificate ${site.cert};
    ssl_certificate_key ${site.key};
    ${mtls.join("\n    ")}
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-Host $host;
      proxy_set_header Forwarded "for=$remote_addr;proto=https;host=\\"$host\\"";
      ${forward.join("\n      ")}
    }
  }`;
  });
  return `
worker_processes 1;
worker_rlimit_nofile ${setup.nofile ?? 4096};
error_log ${dir}/${name}-error.log warn;
pid ${dir}/${name}.pid;
events { worker_connections ${Math.max(1024, (setup.nofile ?? 4096) - 100)}; }
http {
${tempPaths(dir, name)}
  log_format bench '$remote_addr $host "$request" $status $ssl_client_verify $ssl_client_fingerprint $ssl_client_serial "$ssl_client_s_dn" "$ssl_client_i_dn"';
  access_log ${dir}/${name}-access.log bench buffer=64k flush=1s;
  server_names_hash_max_size 65536;
  server_names_hash_bucket_size 128;
  ssl_protocols TLSv1.2 TLSv1.3;
  # As Portcullis on mTLS hosts: no resumption (it would skip the client-certificate check).
  ssl_session_tickets off;
  ssl_session_cache off;
  keepalive_timeout 60s;
  keepalive_requests 10000000;
  upstream origin {
    server 127.0.0.1:${setup.originPort};
    keepalive 64;
    keepalive_requests 10000000;
  }
${servers.join("\n")}
}
`;
}

export function portcullisConfig(setup: ServerSetup, port: number): string {
  const forward = FORWARD.map(([header, variable]) => `{ header: ${header}, variable: ${variable} }`);
  const hosts = setup.sites.map((site) => {
    const mtls = site.clientCa
      ? `{ mode: enforce, max_chain_depth: 4, trusted_cas: [${JSON.stringify(site.clientCa)}]${
          site.crl ? `, crls: [${JSON.stringify(site.crl)}]` : ""
        } }`
      : "{ mode: off }";
    return [
      `  - hostname: ${JSON.stringify(site.hostname)}`,
      ...(site.default ? ["    default: true"] : []),
      `    tls: { cert: ${JSON.stringify(site.cert)}, key: ${JSON.stringify(site.key)} }`,
      `    mtls: ${mtls}`,
      `    origin: { url: "http://127.0.0.1:${setup.originPort}" }`,
      ...(site.clientCa ? [`    forward: [${forward.join(", ")}]`] : []),
      ...(site.firewall?.length ? ["    firewall:"] : []),
      ...(site.firewall ?? []).map(
        (expression, i) =>
          `      - { id: bench-${i}, action: block, expression: ${JSON.stringify(expression)} }`,
      ),
    ].join("\n");
  });
  return `listen: { https: "127.0.0.1:${port}" }
data_dir: ${JSON.stringify(join(setup.dir, `${setup.name}-data`))}
log: { level: info }
limits: { keep_alive_timeout: 60s }
hostnames:
${hosts.join("\n")}
`;
}

export async function startServer(kind: ServerName, setup: ServerSetup): Promise<Server> {
  const port = await freePort();
  if (kind === "nginx" && !setup.bin) {
    return startNginxProcess(setup.dir, setup.name, nginxConfig(setup, port), port, setup.cpus, setup);
  }
  return startPortcullis(setup, port);
}

async function startNginxProcess(
  dir: string,
  name: string,
  conf: string,
  port: number,
  cpus: string,
  setup?: ServerSetup,
): Promise<Server> {
  for (const kind of ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]) {
    await mkdir(join(dir, `${name}-${kind}`), { recursive: true });
  }
  const configFile = join(dir, `${name}.conf`);
  await writeFile(configFile, conf);
  const spawned = spawnPinned(cpus, "nginx", ["-p", dir, "-c", configFile, "-g", "daemon off;"], {
    nofile: setup?.nofile,
  });
  let stderr = "";
  spawned.child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  try {
    await waitForPort(port, setup?.startTimeoutMs ?? 60_000, () => spawned.child.exitCode === null);
  } catch (err) {
    await stopProcess(spawned);
    const log = safeRead(join(dir, `${name}-error.log`));
    throw new Error(`nginx (${name}) did not start: ${(err as Error).message} ${stderr} ${log}`.trim());
  }
  return serverHandle("nginx", port, spawned, configFile, () => spawned.child.kill("SIGHUP"));
}

async function startPortcullis(setup: ServerSetup, port: number): Promise<Server> {
  const configFile = join(setup.dir, `${setup.name}.yaml`);
  await writeFile(configFile, portcullisConfig(setup, port));
  const logFile = join(setup.dir, `${setup.name}-portcullis.log`);
  const logFd = openSync(logFile, "w");
  const spawned = spawnPinned(
    setup.cpus,
    setup.bin ?? PORTCULLIS_BIN,
    ["edge", "--config", configFile, "--workers", "1"],
    {
      cwd: setup.dir,
      stdio: ["ignore", logFd, "pipe"],
      nofile: setup.nofile,
      env: { ...process.env, ...setup.env },
    },
  );
  closeSync(logFd);
  let stderr = "";
  spawned.child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const deadline = Date.now() + (setup.startTimeoutMs ?? 60_000);
  while (!safeRead(logFile).includes('"edge_started"')) {
    if (spawned.child.exitCode !== null || Date.now() > deadline) {
      await stopProcess(spawned);
      throw new Error(`portcullis (${setup.name}) did not start: ${stderr.trim() || safeRead(logFile)}`);
    }
    await sleep(50);
  }
  return serverHandle("portcullis", port, spawned, configFile, () => {});
}

function serverHandle(
  name: ServerName,
  port: number,
  spawned: Spawned,
  configFile: string,
  reload: () => void,
): Server {
  const pids = () => processTree(spawned.pid);
  return {
    name,
    port,
    pid: spawned.pid,
    configFile,
    pids,
    cpuSeconds: () => cpuSeconds(pids()),
    memory: () => memoryMiB(pids()),
    reload,
    stop: () => stopProcess(spawned, 15_000),
  };
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, "utf8").slice(0, 100_000);
  } catch {
    return "";
  }
}
