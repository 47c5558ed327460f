/**
 * `report --parquet out.parquet`: one row per exchange, written through DuckDB (the optional dependency
 * `@duckdb/node-api`, imported only when asked). Rows are buffered by column and handed to DuckDB 2048 at a
 * time with appendDataChunk (per-value appends are ~20× slower), into an in-memory table that close() COPYs
 * to a zstd Parquet file. Columns: PARQUET_COLUMNS below (docs/exporters.md).
 *
 *   add(exchange) ─▶ column buffers ─(2048 rows)─▶ DataChunk ─▶ appender ─▶ table ─(close)─▶ COPY … TO parquet
 */
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ERROR_CODES, TaplineError } from '../../core/errors.js';
import type { Exchange } from '../types.js';

type DuckDB = typeof import('@duckdb/node-api');

export const DUCKDB_PACKAGE = '@duckdb/node-api';
const CHUNK_ROWS = 2048;

/** Column name, DuckDB type, value of one exchange (null = SQL NULL). */
type Column = readonly [
  name: string,
  type: 'VARCHAR' | 'BIGINT' | 'SMALLINT' | 'DOUBLE' | 'BOOLEAN',
  get: (e: Exchange) => string | bigint | number | boolean | null,
];

export const PARQUET_COLUMNS: readonly Column[] = [
  ['id', 'VARCHAR', (e) => e.id],
  ['source', 'VARCHAR', (e) => e.source],
  ['start_ns', 'BIGINT', (e) => e.startNs],
  ['method', 'VARCHAR', (e) => e.method],
  ['host', 'VARCHAR', (e) => e.host],
  ['path', 'VARCHAR', (e) => e.path],
  ['route', 'VARCHAR', (e) => e.route],
  ['client', 'VARCHAR', (e) => e.client],
  ['status', 'SMALLINT', (e) => e.status ?? null],
  ['request_header_bytes', 'BIGINT', (e) => BigInt(e.requestHeaderBytes)],
  ['request_body_bytes', 'BIGINT', (e) => BigInt(e.requestBodyBytes)],
  ['request_body_entity_bytes', 'BIGINT', (e) => BigInt(e.requestBodyEntityBytes)],
  ['response_header_bytes', 'BIGINT', (e) => BigInt(e.responseHeaderBytes)],
  ['response_body_bytes', 'BIGINT', (e) => BigInt(e.responseBodyBytes)],
  ['response_body_entity_bytes', 'BIGINT', (e) => BigInt(e.responseBodyEntityBytes)],
  ['response_body_decoded_bytes', 'BIGINT', (e) => BigInt(e.responseBodyDecodedBytes)],
  [
    'total_bytes',
    'BIGINT',
    (e) => BigInt(e.requestHeaderBytes + e.requestBodyBytes + e.responseHeaderBytes + e.responseBodyBytes),
  ],
  ['content_type', 'VARCHAR', (e) => e.contentType],
  ['content_encoding', 'VARCHAR', (e) => e.contentEncoding],
  ['latency_ms', 'DOUBLE', (e) => (e.latencyNs === undefined ? null : Number(e.latencyNs) / 1e6)],
  // Cut at record time (meta `incomplete=REASON`): the sizes are what was recorded, less than what was sent.
  ['request_incomplete', 'BOOLEAN', (e) => e.requestIncomplete],
  ['response_incomplete', 'BOOLEAN', (e) => e.responseIncomplete],
];

export interface ParquetWriter {
  add(exchange: Exchange): void;
  /** Writes the file; returns the rows written. */
  close(): Promise<{ rows: number }>;
}

/** Loads DuckDB; a clear usage error when the optional dependency is not installed. */
export async function loadDuckDB(load: () => Promise<unknown> = () => import(DUCKDB_PACKAGE)): Promise<DuckDB> {
  try {
    return (await load()) as DuckDB;
  } catch (cause) {
    throw new TaplineError(
      ERROR_CODES.USAGE,
      `writing Parquet needs the optional dependency ${DUCKDB_PACKAGE}, which is not installed (or failed to load); ` +
        `install it with: npm install ${DUCKDB_PACKAGE}@1.5.6-r.1`,
      { where: '--parquet', cause },
    );
  }
}

/**
 * The target can be written: checked when the writer opens, so a path in a missing directory fails before the
 * input is read (DuckDB would only find out at close(), after the whole run).
 */
function checkWritable(file: string): void {
  try {
    if (existsSync(file)) {
      if (statSync(file).isDirectory()) throw new Error('it is a directory');
      accessSync(file, constants.W_OK);
    } else {
      const dir = dirname(resolve(file));
      if (!existsSync(dir)) throw new Error(`the directory ${dir} does not exist`);
      accessSync(dir, constants.W_OK);
    }
  } catch (cause) {
    throw new TaplineError(ERROR_CODES.FILE_IO, `cannot write the Parquet file: ${(cause as Error).message}`, {
      where: file,
      cause,
    });
  }
}

export async function openParquetWriter(
  file: string,
  options: { load?: () => Promise<unknown> } = {},
): Promise<ParquetWriter> {
  checkWritable(file);
  const duckdb = await loadDuckDB(options.load);
  const types = PARQUET_COLUMNS.map(([, type]) => duckdb[type]);
  const instance = await duckdb.DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  await connection.run(`CREATE TABLE exchanges (${PARQUET_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`);
  const appender = await connection.createAppender('exchanges');
  const buffers: (string | bigint | number | boolean | null)[][] = PARQUET_COLUMNS.map(() => []);
  let buffered = 0;
  let rows = 0;

  const flushChunk = () => {
    if (buffered === 0) return;
    const chunk = duckdb.DuckDBDataChunk.create(types, buffered);
    chunk.setColumns(buffers);
    appender.appendDataChunk(chunk);
    for (const b of buffers) b.length = 0;
    rows += buffered;
    buffered = 0;
  };

  return {
    add(exchange) {
      for (let i = 0; i < PARQUET_COLUMNS.length; i++) buffers[i]!.push(PARQUET_COLUMNS[i]![2](exchange));
      if (++buffered === CHUNK_ROWS) flushChunk();
    },
    async close() {
      try {
        flushChunk();
        appender.closeSync();
        const target = file.replace(/'/g, "''");
        await connection.run(`COPY exchanges TO '${target}' (FORMAT parquet, COMPRESSION zstd)`);
        return { rows };
      } catch (cause) {
        throw new TaplineError(ERROR_CODES.FILE_IO, `cannot write the Parquet file: ${(cause as Error).message}`, {
          where: file,
          cause,
        });
      } finally {
        connection.closeSync();
        instance.closeSync();
      }
    },
  };
}

/** Writes `exchanges` to `file` in one go. */
export async function writeParquet(exchanges: Iterable<Exchange>, file: string): Promise<{ rows: number }> {
  const writer = await openParquetWriter(file);
  for (const e of exchanges) writer.add(e);
  return writer.close();
}
