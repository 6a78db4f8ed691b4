/**
 * Edge functions' cost (issue 8, speed): `portcullis up` with one mTLS hostname whose `/plain` goes to an
 * nginx origin answering a fixed body and whose `/fn*` runs a trivial function (a fixed body from workerd).
 * 1. throughput: `ab -k` with a client certificate, `/plain` and `/fn` alternating rounds (req/s);
 *    target: function ≥ 0.5 × plain.
 * 2. latency: one keep-alive connection, sequential requests alternating `/plain` and `/fn`; p50 of each
 *    and the difference (target: ≤ 1 ms added).
 *   node_modules/.bin/node bench/functions.ts [--seconds 5] [--rounds 3] [--concurrency 16] [--requests 2000] [--workers 1]
 */
import { spawn } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Pool } from "undici";
import { makeEdgePki } from "../test/helpers/edge.ts";
import { freePort } from "../test/helpers/openssl-server.ts";
import { run, tempDir } from "../test/helpers/run.ts";
import { apiClient, listen, startUp, waitFor } from "../test/helpers/up.ts";

const HOST = "bench.example.test";

export interface FunctionsBenchOptions {
  seconds: number;
  rounds: number;
  concurrency: number;
  requests: number;
  workers: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

export interface FunctionsBenchResult {
  /** Medians over the rounds, req/s. */
  plainRps: number;
  fnRps: number;
  plainP50Ms: number;
  fnP50Ms: number;
  addedP50Ms: number;
  rounds: { plain: number[]; fn: number[] };
}

/** Starts nginx and `portcullis up` in a temporary directory, measures, stops everything. */
export async function runFunctionsBench(o: FunctionsBenchOptions): Promise<FunctionsBenchResult> {
  const values = {
    seconds: String(o.seconds),
    rounds: String(o.rounds),
    concurrency: String(o.concurrency),
    requests: String(o.requests),
    workers: String(o.workers),
  };
  const { path: dir, cleanup } = await tempDir("portcullis-bench-fn-");
  const nginxPort = await freePort();
  await writeFile(
    join(dir, "nginx.conf"),
    `worker_processes 1;
error_log ${dir}/nginx-error.log;
pid ${dir}/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/nb; proxy_temp_path ${dir}/np; fastcgi_temp_path ${dir}/nf; uwsgi_temp_path ${dir}/nu; scgi_temp_path ${dir}/ns;
  server { listen 127.0.0.1:${nginxPort}; location / { default_type text/plain; return 200 "hello\\n"; } }
}
`,
  );
  const nginx = spawn("nginx", ["-p", dir, "-c", join(dir, "nginx.conf"), "-g", "daemon off;"], {
    stdio: "ignore",
  });
  const pki = await makeEdgePki(dir, [HOST]);
  await writeFile(
    join(dir, "client-combined.pem"),
    (await readFile(pki.client.cert, "utf8")) + (await readFile(pki.client.key, "utf8")),
  );
  const edgePort = await freePort();
  const apiPort = await freePort();
  const up = await startUp([
    "--data",
    join(dir, "data"),
    "--workers",
    values.workers,
    ...listen(edgePort, apiPort),
  ]);
  try {
    const api = apiClient(apiPort);
    const account = (await api("POST", "/accounts", { name: "bench" })).result.id as string;
    const zone = (await api("POST", "/zones", { name: "example.test", account: { id: account } })).result.id;
    const upload = async (name: string, key: boolean, ca: boolean) =>
      (
        await api("POST", `/accounts/${account}/mtls_certificates`, {
          certificates: await readFile(join(dir, `${name}.pem`), "utf8"),
          ...(key ? { private_key: await readFile(join(dir, `${name}-key.pem`), "utf8") } : {}),
          ca,
        })
      ).result.id as string;
    const server = await upload("server", true, false);
    const clientCa = await upload("client-ca", false, true);
    await api("POST", `/zones/${zone}/hostnames`, {
      hostname: HOST,
      server_certificate_id: server,
      mtls: { mode: "enforce" },
      origin: { url: `http://127.0.0.1:${nginxPort}` },
    });
    await api("PUT", `/zones/${zone}/certificate_authorities/hostname_associations`, {
      hostnames: [HOST],
      mtls_certificate_id: clientCa,
    });
    const deployed = await api("PUT", `/accounts/${account}/workers/scripts/trivial`, {
      main_module: "worker.js",
      script: 'export default { fetch() { return new Response("hello\\n"); } };',
      routes: [`${HOST}/fn*`],
    });
    if (deployed.status !== 200) throw new Error(JSON.stringify(deployed));

    const pool = new Pool(`https://127.0.0.1:${edgePort}`, {
      connections: 1,
      connect: {
        cert: await readFile(pki.client.cert),
        key: await readFile(pki.client.key),
        servername: HOST,
        rejectUnauthorized: false,
      },
    });
    const get = async (path: string) => {
      const res = await pool.request({ path, method: "GET", headers: { host: HOST } });
      const body = await res.body.text();
      return { status: res.statusCode, body };
    };
    await waitFor(
      async () => (await get("/fn")).body === "hello\n" && (await get("/plain")).body === "hello\n",
      20_000,
    );

    const ab = async (path: string) => {
      const result = await run(
        "ab",
        [
          "-q",
          "-k",
          "-r",
          "-t",
          values.seconds,
          "-n",
          "100000000",
          "-c",
          values.concurrency,
          "-E",
          join(dir, "client-combined.pem"),
          "-H",
          `Host: ${HOST}`,
          `https://127.0.0.1:${edgePort}${path}`,
        ],
        { timeoutMs: 120_000 },
      );
      const rps = Number(/Requests per second:\s+([\d.]+)/.exec(result.stdout)?.[1] ?? 0);
      const non2xx = Number(/Non-2xx responses:\s+(\d+)/.exec(result.stdout)?.[1] ?? 0);
      if (rps === 0 || non2xx > 0) throw new Error(`ab ${path}: ${result.stdout}${result.stderr}`);
      return rps;
    };
    const plain: number[] = [];
    const fn: number[] = [];
    for (let round = 0; round < Number(values.rounds); round++) {
      plain.push(await ab("/plain"));
      fn.push(await ab("/fn"));
      o.log?.(
        `round ${round + 1}: plain ${plain.at(-1)?.toFixed(0)} req/s, function ${fn.at(-1)?.toFixed(0)} req/s`,
      );
    }

    const latencies: Record<string, number[]> = { "/plain": [], "/fn": [] };
    for (let i = 0; i < Number(values.requests); i++) {
      for (const path of ["/plain", "/fn"]) {
        const started = performance.now();
        await get(path);
        latencies[path]?.push(performance.now() - started);
      }
    }
    const p50 = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? 0;
    const median = (list: number[]) => p50(list);
    const plainRps = median(plain);
    const fnRps = median(fn);
    const plainP50 = p50(latencies["/plain"] ?? []);
    const fnP50 = p50(latencies["/fn"] ?? []);
    await pool.close();
    return {
      plainRps,
      fnRps,
      plainP50Ms: plainP50,
      fnP50Ms: fnP50,
      addedP50Ms: fnP50 - plainP50,
      rounds: { plain, fn },
    };
  } finally {
    await up.stop();
    nginx.kill("SIGTERM");
    await cleanup();
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "5" },
      rounds: { type: "string", default: "3" },
      concurrency: { type: "string", default: "16" },
      requests: { type: "string", default: "2000" },
      workers: { type: "string", default: "1" },
    },
  });
  const r = await runFunctionsBench({
    seconds: Number(values.seconds),
    rounds: Number(values.rounds),
    concurrency: Number(values.concurrency),
    requests: Number(values.requests),
    workers: Number(values.workers),
    log: (line) => console.log(line),
  });
  const { plainRps, fnRps, plainP50Ms: plainP50, fnP50Ms: fnP50 } = r;
  console.log(
    [
      `throughput (median of ${values.rounds} rounds, ab -k -c ${values.concurrency}, ${values.seconds} s each):`,
      `  plain proxy  ${plainRps.toFixed(0)} req/s`,
      `  function     ${fnRps.toFixed(0)} req/s  = ${(fnRps / plainRps).toFixed(2)} × plain (target ≥ 0.5)`,
      `latency (one keep-alive connection, ${values.requests} sequential requests each):`,
      `  plain p50 ${plainP50.toFixed(3)} ms, function p50 ${fnP50.toFixed(3)} ms, added ${(fnP50 - plainP50).toFixed(3)} ms (target ≤ 1)`,
    ].join("\n"),
  );
}
