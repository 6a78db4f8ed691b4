/**
 * `portcullis functions deploy | list | delete | tail`: edge functions over the API (docs/functions.md).
 * `deploy` reads a wrangler.toml / wrangler.json as wrangler would (name, main, vars, routes,
 * mtls_certificates, compatibility date and flags, limits.cpu_ms) and uploads the module with its
 * bindings and routes in one call.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { readWranglerConfig, WranglerConfigError, type WranglerProject } from "../functions/wrangler.ts";
import { CliError, command, EXIT, group } from "./api/framework.ts";
import { isId, resolveAccount, resolveMtlsCertificate } from "./api/resolve.ts";

interface ScriptJson {
  id: string;
  main_module: string;
  size: number;
  compatibility_date: string;
  bindings: { type: string; name: string; certificate_id?: string; text?: string; json?: unknown }[];
  limits: { cpu_ms?: number };
  modified_on: string;
  routes?: { id: string; pattern: string; zone_id: string }[];
}

interface LogEntry {
  time: string;
  script: string;
  level: string;
  message: string;
}

async function loadProject(path: string | undefined): Promise<WranglerProject | undefined> {
  const file =
    path ?? ["wrangler.toml", "wrangler.json", "wrangler.jsonc"].find((candidate) => existsSync(candidate));
  if (!file) return undefined;
  try {
    return await readWranglerConfig(file);
  } catch (err) {
    if (err instanceof WranglerConfigError) throw new CliError(err.message);
    throw err;
  }
}

const deploy = command({
  name: "deploy",
  summary: "Deploy a module worker as an edge function, with its bindings and routes",
  description:
    "Uploads SCRIPT (or the config's main) with the config's vars, mtls_certificates and routes. " +
    "Routes from --route are added to the config's; the function's routes become exactly these. " +
    "A certificate_id may also be an uploaded certificate's name.",
  args: [{ name: "SCRIPT", description: "the worker's ES module (default: main of the config)" }],
  flags: {
    config: {
      type: "string",
      short: "c",
      placeholder: "FILE",
      description: "wrangler.toml or wrangler.json(c)",
      defaultText: "./wrangler.toml, ./wrangler.json or ./wrangler.jsonc if present",
    },
    name: {
      type: "string",
      placeholder: "NAME",
      description: "the function's name (default: the config's name)",
    },
    route: {
      type: "string",
      placeholder: "PATTERN",
      multiple: true,
      description: 'a route such as "api.example.test/*" (its zone is the account\'s zone it falls in)',
    },
    "compatibility-date": {
      type: "string",
      placeholder: "YYYY-MM-DD",
      description: "overrides the config's",
    },
  },
  examples: [
    'portcullis functions deploy ./worker.js --config wrangler.toml --route "api.example.test/*"',
    "portcullis functions deploy            # main, name and routes from ./wrangler.toml",
  ],
  async run({ args, flags, out, api }) {
    const project = await loadProject(flags.config);
    const scriptPath = args.SCRIPT ?? project?.main;
    if (!scriptPath) throw new CliError("which script? pass SCRIPT or set main in wrangler.toml", EXIT.usage);
    const name = flags.name ?? project?.name;
    if (!name) throw new CliError("which name? pass --name or set name in wrangler.toml", EXIT.usage);
    let source: string;
    try {
      source = await readFile(scriptPath, "utf8");
    } catch (err) {
      throw new CliError(`${scriptPath}: cannot read (${(err as NodeJS.ErrnoException).code ?? "error"})`);
    }
    const client = await api();
    const account = await resolveAccount(client);
    const bindings: Record<string, unknown>[] = [];
    for (const [binding, value] of Object.entries(project?.vars ?? {})) {
      bindings.push(
        typeof value === "string"
          ? { type: "plain_text", name: binding, text: value }
          : { type: "json", name: binding, json: value },
      );
    }
    for (const { binding, certificateId } of project?.mtlsCertificates ?? []) {
      const id = isId(certificateId)
        ? certificateId
        : (await resolveMtlsCertificate(client, certificateId)).id;
      bindings.push({ type: "mtls_certificate", name: binding, certificate_id: id });
    }
    const routes = [
      ...(project?.routes ?? []).map((route) => ({
        pattern: route.pattern,
        ...(route.zoneId ? { zone_id: route.zoneId } : {}),
        ...(route.zoneName ? { zone_name: route.zoneName } : {}),
      })),
      ...flags.route.map((pattern) => ({ pattern })),
    ];
    for (const key of project?.ignored ?? []) out.warn(`${project?.file}: ${key} is not used by Portcullis`);
    const started = performance.now();
    const compatibilityDate = flags["compatibility-date"] ?? project?.compatibilityDate;
    const result = await client.put<ScriptJson>(`/accounts/${account.id}/workers/scripts/${name}`, {
      main_module: basename(scriptPath),
      script: source,
      bindings,
      ...(compatibilityDate ? { compatibility_date: compatibilityDate } : {}),
      ...(project?.compatibilityFlags.length ? { compatibility_flags: project.compatibilityFlags } : {}),
      ...(project?.cpuMs ? { limits: { cpu_ms: project.cpuMs } } : {}),
      routes,
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(2);
    out.result(result, () => {
      out.say(`Total Upload: ${(result.size / 1024).toFixed(2)} KiB`);
      if (result.bindings.length > 0) {
        out.say("Your function has access to the following bindings:");
        for (const b of result.bindings) {
          const value =
            b.type === "mtls_certificate"
              ? b.certificate_id
              : b.type === "plain_text"
                ? `"${b.text}"`
                : JSON.stringify(b.json);
          out.say(`- ${b.name} (${b.type}): ${value}`);
        }
      }
      out.say(`Uploaded ${result.id} (${seconds} sec)`);
      out.say(`Deployed ${result.id} routes:`);
      for (const route of result.routes ?? []) out.say(`  ${route.pattern}`);
      if ((result.routes ?? []).length === 0) out.say("  (none: the function runs for no request yet)");
    });
  },
});

const list = command({
  name: "list",
  summary: "List the account's edge functions",
  async run({ out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const scripts = await client.get<ScriptJson[]>(`/accounts/${account.id}/workers/scripts`);
    out.table(
      scripts,
      [
        { header: "name", value: (s) => s.id },
        { header: "routes", value: (s) => (s.routes ?? []).map((r) => r.pattern).join(", ") },
        { header: "bindings", value: (s) => s.bindings.map((b) => b.name).join(", ") },
        { header: "modified", value: (s) => s.modified_on },
      ],
      "No functions.",
    );
  },
});

const remove = command({
  name: "delete",
  summary: "Delete an edge function and its routes",
  args: [{ name: "NAME", description: "the function's name", required: true }],
  flags: { yes: { type: "boolean", short: "y", description: "do not ask for confirmation" } },
  async run({ args, flags, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const name = args.NAME as string;
    if (
      !(await out.confirm(`Are you sure you want to delete the function ${name} and its routes?`, flags.yes))
    ) {
      out.say("Not deleting");
      return;
    }
    const result = await client.delete(`/accounts/${account.id}/workers/scripts/${encodeURIComponent(name)}`);
    out.result(result, () => out.say(`Deleted function ${name}`));
  },
});

const tail = command({
  name: "tail",
  summary: "Show a function's console output and uncaught exceptions",
  description:
    "Prints the function's recent log lines; with --follow, keeps printing new ones until interrupted.",
  args: [{ name: "NAME", description: "the function's name", required: true }],
  flags: {
    follow: { type: "boolean", short: "f", description: "keep streaming new lines" },
    lines: {
      type: "integer",
      short: "n",
      placeholder: "N",
      description: "recent lines to show first",
      defaultText: "100",
    },
  },
  async run({ args, flags, out, api }) {
    const client = await api();
    const account = await resolveAccount(client);
    const name = encodeURIComponent(args.NAME as string);
    const query = `follow=${flags.follow}&limit=${Math.min(flags.lines ?? 100, 999)}`;
    const response = await client.fetch(
      `/client/v4/accounts/${account.id}/workers/scripts/${name}/tail?${query}`,
      {
        timeoutMs: flags.follow ? 0 : 30_000,
      },
    );
    if (!response.ok) {
      // The API's envelope, with its code.
      await client.get(`/accounts/${account.id}/workers/scripts/${name}/tail`, { limit: 0 });
      throw new CliError(`the API answered HTTP ${response.status}`);
    }
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of response.body ?? []) {
      buffered += decoder.decode(chunk as Uint8Array, { stream: true });
      let newline = buffered.indexOf("\n");
      while (newline !== -1) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf("\n");
        if (!line) continue;
        const entry = JSON.parse(line) as LogEntry;
        if (out.json) process.stdout.write(`${line}\n`);
        else process.stdout.write(`${entry.time} ${entry.level.padEnd(9)} ${entry.message}\n`);
      }
    }
  },
});

export const functionsGroup = group({
  name: "functions",
  summary: "Edge functions: Workers-compatible modules run in workerd for matching routes",
  description:
    "Edge functions run a Cloudflare Workers module (export default { fetch }) in workerd for requests whose " +
    "host and path match one of its routes, instead of proxying them to the origin. See docs/functions.md.",
  commands: [deploy, list, remove, tail],
});
