/**
 * `npm run test:api-postgres`: every API test again, on PostgreSQL instead of SQLite. Without a reachable
 * PostgreSQL it says why and skips (in CI it fails, as every missing peer does).
 */
import { spawnSync } from "node:child_process";
import { missingPostgres } from "../helpers/postgres.ts";

const missing = await missingPostgres();
if (missing) {
  process.stdout.write(`skipped the API tests on PostgreSQL: ${missing}\n`);
} else {
  const run = spawnSync(process.execPath, ["--test", "--test-reporter=spec", "test/control/"], {
    stdio: "inherit",
    env: { ...process.env, PORTCULLIS_TEST_API_STORE: "postgres" },
  });
  process.exitCode = run.status ?? 1;
}
