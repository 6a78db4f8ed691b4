/**
 * Edge functions (Cloudflare's `accounts/{id}/workers/scripts`) and their routes (`zones/{id}/workers/routes`):
 * the records, their rows, the migration and the queries. reader.ts and writer.ts only call in.
 */
import type { Kysely, Selectable } from "kysely";
import { type ErrorNames, toStoreError } from "./errors.ts";
import type { Database } from "./schema.ts";
import { type Id, StoreError, type Timestamp } from "./types.ts";

/** A binding in the function's `env`, in Cloudflare's metadata vocabulary. */
export type FunctionBinding =
  | { type: "mtls_certificate"; name: string; certificateId: Id }
  | { type: "plain_text"; name: string; text: string }
  | { type: "json"; name: string; json: unknown };

/** One deployed function: a single ES module worker, its bindings and limits. */
export interface EdgeFunction {
  id: Id;
  accountId: Id;
  /** Unique per account, as a Workers script name (`^[a-z0-9_][a-z0-9_-]*$`). */
  name: string;
  /** The module's file name, e.g. `worker.js` (Cloudflare's `main_module`). */
  mainModule: string;
  /** The module source, as uploaded. */
  script: string;
  bindings: FunctionBinding[];
  compatibilityDate: string;
  compatibilityFlags: string[];
  /** Most CPU time of one request (wrangler `limits.cpu_ms`); null = the runtime's default. */
  cpuMs: number | null;
  createdOn: Timestamp;
  modifiedOn: Timestamp;
}

/** A route: requests whose host and path match `pattern` run the function instead of going to the origin. */
export interface FunctionRoute {
  id: Id;
  zoneId: Id;
  /** `host/path`, `*` allowed at the start of the host and at the end of the path (Cloudflare's form). */
  pattern: string;
  functionId: Id;
  /** The function's name (read from the function; ignored on insert). */
  script: string;
}

export interface FunctionsTable {
  id: string;
  account_id: string;
  name: string;
  main_module: string;
  script: string;
  /** FunctionBinding[] as JSON. */
  bindings: string;
  compatibility_date: string;
  /** string[] as JSON. */
  compatibility_flags: string;
  cpu_ms: number | null;
  created_on: string;
  modified_on: string;
}

export interface FunctionRoutesTable {
  id: string;
  zone_id: string;
  pattern: string;
  function_id: string;
}

/** Migration 0004_functions: functions unique by (account, name); routes unique by (zone, pattern). */
export async function createFunctionTables(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("functions")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("account_id", "text", (c) => c.notNull().references("accounts.id"))
    .addColumn("name", "text", (c) => c.notNull())
    .addColumn("main_module", "text", (c) => c.notNull())
    .addColumn("script", "text", (c) => c.notNull())
    .addColumn("bindings", "text", (c) => c.notNull())
    .addColumn("compatibility_date", "text", (c) => c.notNull())
    .addColumn("compatibility_flags", "text", (c) => c.notNull())
    .addColumn("cpu_ms", "integer")
    .addColumn("created_on", "text", (c) => c.notNull())
    .addColumn("modified_on", "text", (c) => c.notNull())
    .addUniqueConstraint("functions_account_name", ["account_id", "name"])
    .execute();
  await db.schema
    .createTable("function_routes")
    .addColumn("id", "text", (c) => c.primaryKey())
    .addColumn("zone_id", "text", (c) => c.notNull().references("zones.id").onDelete("cascade"))
    .addColumn("pattern", "text", (c) => c.notNull())
    .addColumn("function_id", "text", (c) => c.notNull().references("functions.id").onDelete("cascade"))
    .addUniqueConstraint("function_routes_zone_pattern", ["zone_id", "pattern"])
    .execute();
}

const functionRecord = (r: Selectable<FunctionsTable>): EdgeFunction => ({
  id: r.id,
  accountId: r.account_id,
  name: r.name,
  mainModule: r.main_module,
  script: r.script,
  bindings: JSON.parse(r.bindings) as FunctionBinding[],
  compatibilityDate: r.compatibility_date,
  compatibilityFlags: JSON.parse(r.compatibility_flags) as string[],
  cpuMs: r.cpu_ms === null ? null : Number(r.cpu_ms),
  createdOn: r.created_on,
  modifiedOn: r.modified_on,
});

const functionRow = (f: EdgeFunction): FunctionsTable => ({
  id: f.id,
  account_id: f.accountId,
  name: f.name,
  main_module: f.mainModule,
  script: f.script,
  bindings: JSON.stringify(f.bindings),
  compatibility_date: f.compatibilityDate,
  compatibility_flags: JSON.stringify(f.compatibilityFlags),
  cpu_ms: f.cpuMs,
  created_on: f.createdOn,
  modified_on: f.modifiedOn,
});

export async function readFunction(
  db: Kysely<Database>,
  accountId: Id,
  name: string,
): Promise<EdgeFunction | undefined> {
  const row = await db
    .selectFrom("functions")
    .selectAll()
    .where("account_id", "=", accountId)
    .where("name", "=", name)
    .executeTakeFirst();
  return row && functionRecord(row);
}

export async function readFunctions(
  db: Kysely<Database>,
  filter: { accountId?: Id },
): Promise<EdgeFunction[]> {
  let query = db.selectFrom("functions").selectAll();
  if (filter.accountId !== undefined) query = query.where("account_id", "=", filter.accountId);
  return (await query.orderBy("account_id").orderBy("name").execute()).map(functionRecord);
}

export async function readFunctionRoutes(
  db: Kysely<Database>,
  filter: { zoneId?: Id; functionId?: Id },
): Promise<FunctionRoute[]> {
  let query = db
    .selectFrom("function_routes")
    .innerJoin("functions", "functions.id", "function_routes.function_id")
    .select([
      "function_routes.id as id",
      "function_routes.zone_id as zone_id",
      "function_routes.pattern as pattern",
      "function_routes.function_id as function_id",
      "functions.name as script",
    ]);
  if (filter.zoneId !== undefined) query = query.where("function_routes.zone_id", "=", filter.zoneId);
  if (filter.functionId !== undefined)
    query = query.where("function_routes.function_id", "=", filter.functionId);
  const rows = await query.orderBy("function_routes.zone_id").orderBy("function_routes.pattern").execute();
  return rows.map((r) => ({
    id: r.id,
    zoneId: r.zone_id,
    pattern: r.pattern,
    functionId: r.function_id,
    script: r.script,
  }));
}

/** Insert or replace by id. */
export async function writeFunction(db: Kysely<Database>, fn: EdgeFunction): Promise<void> {
  const row = functionRow(fn);
  const { id: _id, created_on: _created, ...change } = row;
  await db
    .insertInto("functions")
    .values(row)
    .onConflict((oc) => oc.column("id").doUpdateSet(change))
    .execute();
}

/** Deletes the function and its routes; false when there was none. */
export async function removeFunction(db: Kysely<Database>, id: Id): Promise<boolean> {
  await db.deleteFrom("function_routes").where("function_id", "=", id).execute();
  const result = await db.deleteFrom("functions").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows !== 0n;
}

export async function writeFunctionRoute(db: Kysely<Database>, route: FunctionRoute): Promise<void> {
  await db
    .insertInto("function_routes")
    .values({ id: route.id, zone_id: route.zoneId, pattern: route.pattern, function_id: route.functionId })
    .execute();
}

/** Deletes one route; false when there was none. */
export async function removeFunctionRoute(db: Kysely<Database>, id: Id): Promise<boolean> {
  const result = await db.deleteFrom("function_routes").where("id", "=", id).executeTakeFirst();
  return result.numDeletedRows !== 0n;
}

export interface FunctionsReader {
  getFunction(accountId: Id, name: string): Promise<EdgeFunction | undefined>;
  listFunctions(filter?: { accountId?: Id }): Promise<EdgeFunction[]>;
  /** Routes with their function's name, by zone and pattern. */
  listRoutes(filter?: { zoneId?: Id; functionId?: Id }): Promise<FunctionRoute[]>;
}

export interface FunctionsWriter extends FunctionsReader {
  /** Insert or replace by id; (account, name) is unique. */
  putFunction(fn: EdgeFunction): Promise<void>;
  /** The function and its routes; not_found when there is none. */
  deleteFunction(id: Id): Promise<void>;
  /** (zone, pattern) is unique: a conflict otherwise. */
  insertRoute(route: FunctionRoute): Promise<void>;
  deleteRoute(id: Id): Promise<void>;
}

export type WriteStep = (names: ErrorNames, operation: () => Promise<void>) => Promise<void>;

export class FunctionReads implements FunctionsReader {
  protected readonly db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.db = db;
  }

  protected async read<T>(what: string, query: () => Promise<T>): Promise<T> {
    try {
      return await query();
    } catch (error) {
      throw toStoreError(error, { what });
    }
  }

  getFunction(accountId: Id, name: string): Promise<EdgeFunction | undefined> {
    return this.read(`get function ${name}`, () => readFunction(this.db, accountId, name));
  }

  listFunctions(filter: { accountId?: Id } = {}): Promise<EdgeFunction[]> {
    return this.read("list functions", () => readFunctions(this.db, filter));
  }

  listRoutes(filter: { zoneId?: Id; functionId?: Id } = {}): Promise<FunctionRoute[]> {
    return this.read("list function routes", () => readFunctionRoutes(this.db, filter));
  }
}

export class FunctionWrites extends FunctionReads implements FunctionsWriter {
  readonly #write: WriteStep;

  constructor(db: Kysely<Database>, write: WriteStep) {
    super(db);
    this.#write = write;
  }

  putFunction(fn: EdgeFunction): Promise<void> {
    return this.#write(
      {
        what: `put function ${fn.name}`,
        unique: `a function named ${fn.name} already exists`,
        reference: ["invalid", `function ${fn.name}: account ${fn.accountId} does not exist`],
      },
      () => writeFunction(this.db, fn),
    );
  }

  deleteFunction(id: Id): Promise<void> {
    return this.#write({ what: `delete function ${id}` }, async () => {
      if (!(await removeFunction(this.db, id)))
        throw new StoreError("not_found", `function ${id} does not exist`);
    });
  }

  insertRoute(route: FunctionRoute): Promise<void> {
    return this.#write(
      {
        what: `insert route ${route.pattern}`,
        unique: `a route with the pattern ${route.pattern} already exists in this zone`,
        reference: ["invalid", `route ${route.pattern}: its zone or function does not exist`],
      },
      () => writeFunctionRoute(this.db, route),
    );
  }

  deleteRoute(id: Id): Promise<void> {
    return this.#write({ what: `delete route ${id}` }, async () => {
      if (!(await removeFunctionRoute(this.db, id)))
        throw new StoreError("not_found", `route ${id} does not exist`);
    });
  }
}
