/** report --parquet: one row per exchange through DuckDB, read back by DuckDB with the right count and sums. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { openParquetWriter, PARQUET_COLUMNS, writeParquet } from '../../src/analytics/export/parquet.js';
import type { Exchange } from '../../src/analytics/types.js';
import { exchange } from './fixed-feed.js';

const dir = mkdtempSync(join(tmpdir(), 'tapline-parquet-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const rows = (await connection.runAndReadAll(sql)).getRowObjectsJS() as Record<string, unknown>[];
    // Counts and sums come back as BIGINT: compare small ones as numbers.
    const small = (v: unknown) =>
      typeof v === 'bigint' && v <= BigInt(Number.MAX_SAFE_INTEGER) && v >= -BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(v)
        : v;
    return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, small(v)])));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('Parquet through DuckDB', () => {
  it('writes one row per exchange across several chunks; counts, sums and NULLs read back', async () => {
    const exchanges: Exchange[] = [];
    for (let i = 0; i < 5000; i++) {
      const answered = i % 10 !== 0;
      exchanges.push(
        exchange({
          route: i % 3 === 0 ? '/users/:id' : "/o'clock",
          path: `/users/${i}`,
          requestHeaderBytes: 100 + (i % 7),
          requestBodyBytes: i % 5,
          responseBodyBytes: answered ? 1000 + i : 0,
          status: answered ? (i % 50 === 1 ? 500 : 200) : undefined,
          latencyNs: answered ? BigInt(i) * 1_000_000n : undefined,
          startNs: 1_700_000_000_000_000_000n + BigInt(i),
        }),
      );
    }
    const file = join(dir, 'exchanges.parquet');
    assert.deepEqual(await writeParquet(exchanges, file), { rows: 5000 });

    const sum = (f: (e: Exchange) => number) => exchanges.reduce((a, e) => a + f(e), 0);
    const [row] = await query(
      `SELECT count(*) AS n, sum(request_header_bytes) AS rh, sum(response_body_bytes) AS rb, sum(total_bytes) AS total,
              count(status) AS answered, count(*) FILTER (WHERE status = 500) AS errors,
              count(latency_ms) AS timed, max(start_ns) AS last_start
       FROM read_parquet('${file}')`,
    );
    assert.deepEqual(row, {
      n: 5000,
      rh: sum((e) => e.requestHeaderBytes),
      rb: sum((e) => e.responseBodyBytes),
      total: sum((e) => e.requestHeaderBytes + e.requestBodyBytes + e.responseHeaderBytes + e.responseBodyBytes),
      answered: 4500,
      errors: exchanges.filter((e) => e.status === 500).length,
      timed: 4500,
      last_start: 1_700_000_000_000_004_999n,
    });
    const routes = await query(
      `SELECT route, count(*) AS n FROM read_parquet('${file}') GROUP BY route ORDER BY route`,
    );
    assert.deepEqual(routes, [
      { route: "/o'clock", n: exchanges.filter((e) => e.route === "/o'clock").length },
      { route: '/users/:id', n: exchanges.filter((e) => e.route === '/users/:id').length },
    ]);
    const schema = await query(`SELECT name FROM parquet_schema('${file}') WHERE name <> 'duckdb_schema'`);
    assert.deepEqual(
      schema.map((r) => r.name),
      PARQUET_COLUMNS.map(([name]) => name),
    );
  });

  it('an empty run writes an empty file with the schema', async () => {
    const file = join(dir, "it's empty.parquet");
    assert.deepEqual(await writeParquet([], file), { rows: 0 });
    assert.deepEqual(await query(`SELECT count(*) AS n FROM read_parquet('${file.replace(/'/g, "''")}')`), [{ n: 0 }]);
  });

  it('a missing DuckDB is a clear usage error naming the package and the install command', async () => {
    await assert.rejects(
      openParquetWriter(join(dir, 'x.parquet'), { load: () => import('@duckdb/not-a-package' as string) }),
      (err: Error & { code?: string }) =>
        err.code === 'TAPLINE_ERR_USAGE' &&
        /optional dependency @duckdb\/node-api.*npm install @duckdb\/node-api@1\.5\.6-r\.1/.test(err.message),
    );
  });

  it('an unwritable path is a file error naming the path, when the writer opens (before any input is read)', async () => {
    const file = join(dir, 'no', 'such', 'dir', 'x.parquet');
    await assert.rejects(openParquetWriter(file), (err: Error & { code?: string; where?: string }) => {
      return (
        err.code === 'TAPLINE_ERR_FILE_IO' && err.where === file && /directory .* does not exist/.test(err.message)
      );
    });
    await assert.rejects(openParquetWriter(dir), (err: Error & { code?: string; where?: string }) => {
      return err.code === 'TAPLINE_ERR_FILE_IO' && err.where === dir && /it is a directory/.test(err.message);
    });
  });
});
