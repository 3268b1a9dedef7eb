// One small SQL interface over the two databases the registry runs on:
// SQLite through better-sqlite3 (the zero-set-up default: a file) and
// PostgreSQL through pg (`postgres://...`). Queries are written once, with `?`
// placeholders, in the SQL both engines share (ON CONFLICT upserts, RETURNING,
// aggregate FILTER); the PostgreSQL side renumbers the placeholders.
import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import Database from "better-sqlite3";
import pg from "pg";

export type Dialect = "sqlite" | "postgres";

const BUSY_TIMEOUT_MS = 5000;
export type Param = string | number | null;
export type Row = Record<string, unknown>;

export interface Queryable {
  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]>;
  get<T = Row>(sql: string, params?: readonly Param[]): Promise<T | undefined>;
  /** A statement without result rows; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly Param[]): Promise<number>;
  /** Several statements, no parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly dialect: Dialect;
  /**
   * Appended to a SELECT inside a transaction to lock the rows it reads until
   * the commit (PostgreSQL: FOR UPDATE; SQLite: "", BEGIN IMMEDIATE already
   * holds the only write lock). Servers sharing one PostgreSQL serialise on it.
   */
  readonly forUpdate: string;
  /** For banners and logs: the file, or the PostgreSQL URL without its password. */
  readonly description: string;
  /**
   * Runs `fn` in one transaction (SQLite: BEGIN IMMEDIATE, so concurrent
   * writers queue rather than fail). Inside, use only `tx`.
   */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export function isPostgresUrl(spec: string): boolean {
  return /^postgres(ql)?:\/\//i.test(spec);
}

/** `postgres://...` opens PostgreSQL; anything else is a SQLite file (`:memory:` for a throwaway). */
export async function openDb(spec: string): Promise<Db> {
  return isPostgresUrl(spec) ? PostgresDb.open(spec) : SqliteDb.open(spec.replace(/^sqlite:/i, ""));
}

class SqliteDb implements Db {
  readonly dialect = "sqlite" as const;
  readonly forUpdate = "";
  private readonly statements = new Map<string, Database.Statement>();
  // better-sqlite3 is synchronous; a transaction awaits between its
  // statements, so everything goes through one queue to keep others out.
  private tail: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: Database.Database,
    readonly description: string,
  ) {}

  static open(file: string): SqliteDb {
    const memory = file === ":memory:";
    const path = memory ? file : resolve(file);
    if (!memory) mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma("foreign_keys = ON");
    return new SqliteDb(db, `sqlite ${path}`);
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  private queued<T>(fn: () => T | Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }

  private readonly direct: Queryable = {
    all: async <T>(sql: string, params: readonly Param[] = []) => this.statement(sql).all(...params) as T[],
    get: async <T>(sql: string, params: readonly Param[] = []) => this.statement(sql).get(...params) as T | undefined,
    run: async (sql: string, params: readonly Param[] = []) => {
      const s = this.statement(sql);
      if (s.reader) return s.all(...params).length;
      return s.run(...params).changes;
    },
    exec: async (sql: string) => void this.db.exec(sql),
  };

  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.queued(() => this.direct.all<T>(sql, params));
  }
  get<T = Row>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.queued(() => this.direct.get<T>(sql, params));
  }
  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.queued(() => this.direct.run(sql, params));
  }
  exec(sql: string): Promise<void> {
    return this.queued(() => this.direct.exec(sql));
  }

  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.queued(async () => {
      await this.begin();
      try {
        const result = await fn(this.direct);
        this.db.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.db.inTransaction) this.db.exec("ROLLBACK");
        throw error;
      }
    });
  }

  /**
   * BEGIN IMMEDIATE, waiting for another writer without blocking the event
   * loop: better-sqlite3's busy timeout waits synchronously, which would also
   * stall a writer of this same process that holds the lock.
   */
  private async begin(): Promise<void> {
    const deadline = Date.now() + BUSY_TIMEOUT_MS;
    this.db.pragma("busy_timeout = 0");
    try {
      for (;;) {
        try {
          this.db.exec("BEGIN IMMEDIATE");
          return;
        } catch (error) {
          if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
        }
      }
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
  }

  async close(): Promise<void> {
    await this.tail;
    if (this.db.open) this.db.close();
  }
}

/** int8 (counts, millisecond times) as numbers: every value we store fits in 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === 20 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** A statement as pg sends it; `name` makes PostgreSQL parse and plan it once per connection. */
type Statement = { text: string; name?: string };

/**
 * Named (prepared) statements, except those whose result columns could change
 * under a running server (`SELECT *`: another server's migration adding a
 * column would make a prepared one fail until reconnect).
 */
function statement(sql: string, n: number): Statement {
  const text = numbered(sql);
  return /\bSELECT\s+\*|\.\*/i.test(sql) ? { text } : { text, name: `ota_${n}` };
}

function queryable(client: pg.Pool | pg.PoolClient, statements: Map<string, Statement>): Queryable {
  const config = (sql: string, params: readonly Param[]) => {
    let st = statements.get(sql);
    if (st === undefined) {
      st = statement(sql, statements.size + 1);
      statements.set(sql, st);
    }
    return { ...st, values: params as Param[] };
  };
  return {
    all: async <T>(sql: string, params: readonly Param[] = []) => (await client.query(config(sql, params))).rows as T[],
    get: async <T>(sql: string, params: readonly Param[] = []) => (await client.query(config(sql, params))).rows[0] as T | undefined,
    run: async (sql: string, params: readonly Param[] = []) => (await client.query(config(sql, params))).rowCount ?? 0,
    exec: async (sql: string) => void (await client.query(sql)),
  };
}

class PostgresDb implements Db {
  readonly dialect = "postgres" as const;
  readonly forUpdate = " FOR UPDATE";
  private readonly texts = new Map<string, Statement>();
  private readonly pooled: Queryable;

  private constructor(
    private readonly pool: pg.Pool,
    readonly description: string,
  ) {
    this.pooled = queryable(pool, this.texts);
  }

  static async open(url: string): Promise<PostgresDb> {
    // Single statements (a check-in's rows, repeated by the board at its next
    // check-in anyway) commit without waiting for the WAL flush: a crash of
    // PostgreSQL may lose the last fraction of a second of them, never
    // corrupt anything. Transactions (rollout decisions) wait for it.
    const pool = new pg.Pool({ connectionString: url, max: 10, types, connectionTimeoutMillis: 10_000, options: "-c synchronous_commit=off" });
    // An idle client losing its server must not crash the process; the next query reports it.
    pool.on("error", () => undefined);
    const shown = new URL(url);
    shown.password = "";
    try {
      await pool.query("SELECT 1");
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw new Error(`cannot reach PostgreSQL at ${shown.host}${shown.pathname}: ${(error as Error).message}`, { cause: error });
    }
    return new PostgresDb(pool, `postgres ${shown.toString()}`);
  }

  all<T = Row>(sql: string, params?: readonly Param[]): Promise<T[]> {
    return this.pooled.all<T>(sql, params);
  }
  get<T = Row>(sql: string, params?: readonly Param[]): Promise<T | undefined> {
    return this.pooled.get<T>(sql, params);
  }
  run(sql: string, params?: readonly Param[]): Promise<number> {
    return this.pooled.run(sql, params);
  }
  exec(sql: string): Promise<void> {
    return this.pooled.exec(sql);
  }

  async transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // pg-pool listens for errors only on idle clients: a checked-out one whose
    // server goes away (restart, kill) would emit an unhandled 'error' and end
    // the process. The failing query reports it instead.
    const ignore = () => undefined;
    client.on("error", ignore);
    let broken: Error | undefined;
    try {
      await client.query("BEGIN; SET LOCAL synchronous_commit = on");
      const result = await fn(queryable(client, this.texts));
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch((e: Error) => (broken = e));
      throw error;
    } finally {
      client.removeListener("error", ignore);
      // A client that cannot even roll back is dropped, not handed to the next caller.
      client.release(broken);
    }
  }

  private closing: Promise<void> | undefined;

  close(): Promise<void> {
    this.closing ??= this.pool.end();
    return this.closing;
  }
}
