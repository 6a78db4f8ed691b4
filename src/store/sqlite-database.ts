import type { DatabaseSync, SQLInputValue } from "node:sqlite";
import type { SqliteDatabase } from "kysely";

/**
 * node:sqlite's DatabaseSync seen as the better-sqlite3 subset kysely's SqliteDialect drives. A statement
 * that returns columns (SELECT, or anything with RETURNING) is a reader.
 */
export function kyselyDatabase(db: DatabaseSync): SqliteDatabase {
  return {
    close: () => {
      if (db.isOpen) db.close();
    },
    prepare(sql) {
      const statement = db.prepare(sql);
      const args = (parameters: ReadonlyArray<unknown>) => parameters as SQLInputValue[];
      return {
        reader: statement.columns().length > 0,
        all: (parameters) => statement.all(...args(parameters)),
        run: (parameters) => {
          const { changes, lastInsertRowid } = statement.run(...args(parameters));
          return { changes, lastInsertRowid };
        },
        iterate: (parameters) => statement.iterate(...args(parameters)),
      };
    },
  };
}
