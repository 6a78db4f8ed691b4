/**
 * Loads the edge's YAML config into an EdgeConfig: parse, validate the shape, then read and check every
 * file it names. All or nothing: the first problem (in file order) is thrown as one ConfigError.
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { describeFsError } from "../files.ts";
import { ConfigError } from "./errors.ts";
import { type FileContext, readKeyPair, readOriginCa, readTrustedCas, resolveCrls } from "./files.ts";
import { firewallFromConfig, pinpointExpressionError } from "./firewall-rules.ts";
import { firstIssueError } from "./issues.ts";
import { configSchema, type HostEntry } from "./schema.ts";
import { parseConfigSource } from "./source.ts";
import type { EdgeConfig, HostConfig, KeyPairPem } from "./types.ts";

export { ConfigError } from "./errors.ts";

/** Reads `path` (errors name it as given) and returns the complete, checked configuration. */
export async function loadEdgeConfig(path: string): Promise<EdgeConfig> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError({ file: path, detail: `cannot read the config file: ${describeFsError(err)}` });
  }
  const source = parseConfigSource(path, text);
  if (source.value === null || source.value === undefined) {
    throw new ConfigError({
      file: path,
      detail: "the config file is empty (docs/config.md lists what it needs)",
    });
  }
  const result = configSchema.safeParse(source.value, { reportInput: true });
  if (!result.success) {
    throw pinpointExpressionError(firstIssueError(source, result.error.issues), text, source.value);
  }
  const config = result.data;
  const file = resolve(path);
  const context: FileContext = { source, dir: dirname(file) };

  const hosts: HostConfig[] = [];
  for (const [index, host] of config.hostnames.entries()) {
    hosts.push(await loadHost(context, host, ["hostnames", index]));
  }
  const limits = config.limits;
  return {
    file,
    listen: config.listen,
    ...(config.admin ? { admin: config.admin } : {}),
    dataDir: resolve(context.dir, config.data_dir ?? ".portcullis"),
    log: config.log,
    crlRefreshIntervalMs: config.crl_refresh_interval,
    limits: {
      clientHelloMaxBytes: limits.client_hello_max_bytes,
      clientHelloTimeoutMs: limits.client_hello_timeout,
      handshakeTimeoutMs: limits.handshake_timeout,
      headersTimeoutMs: limits.headers_timeout,
      requestTimeoutMs: limits.request_timeout,
      keepAliveTimeoutMs: limits.keep_alive_timeout,
    },
    hosts,
  };
}

async function loadHost(
  context: FileContext,
  host: HostEntry,
  path: readonly PropertyKey[],
): Promise<HostConfig> {
  // `tls` is one pair or a list of pairs; error paths follow what the user wrote.
  const pairs = Array.isArray(host.tls)
    ? host.tls.map((pair, index) => ({ pair, path: [...path, "tls", index] }))
    : [{ pair: host.tls, path: [...path, "tls"] }];
  const tls: KeyPairPem[] = [];
  for (const { pair, path: pairPath } of pairs) tls.push(await readKeyPair(context, pair, pairPath));

  const mtls = host.mtls;
  const mtlsPath = [...path, "mtls"];
  const trustedCasPem = await readTrustedCas(context, mtls.trusted_cas, [...mtlsPath, "trusted_cas"]);
  const crls = await resolveCrls(context, mtls.crls, [...mtlsPath, "crls"]);

  const origin = host.origin;
  const originPath = [...path, "origin"];
  const caPem =
    origin.ca === undefined ? undefined : await readOriginCa(context, origin.ca, [...originPath, "ca"]);
  const clientCert =
    origin.client_cert === undefined
      ? undefined
      : await readKeyPair(context, origin.client_cert, [...originPath, "client_cert"]);

  return {
    hostname: host.hostname,
    isDefault: host.default,
    tls,
    mtls: {
      mode: mtls.mode,
      trustedCasPem,
      crls,
      staleCrl: mtls.stale_crl,
      maxChainDepth: mtls.max_chain_depth,
      paths: mtls.paths,
      ocsp: { enabled: mtls.ocsp.enabled, timeoutMs: mtls.ocsp.timeout },
    },
    origin: {
      url: origin.url,
      ...(caPem === undefined ? {} : { caPem }),
      ...(clientCert === undefined ? {} : { clientCert }),
      ...(origin.servername === undefined ? {} : { servername: origin.servername }),
      connectTimeoutMs: origin.connect_timeout,
      responseTimeoutMs: origin.response_timeout,
      bodyTimeoutMs: origin.body_timeout,
    },
    forward: host.forward,
    firewall: firewallFromConfig(host.firewall),
  };
}
