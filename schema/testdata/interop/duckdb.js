// Parquet interoperability with DuckDB, an independent Parquet implementation.
// Run by schema's TestDuckDB* tests (install: bash install.sh).
//
//   node duckdb.js write <dir>   DuckDB writes feature files vindex must read:
//                                flat.parquet (crema FLOAT[]), nested.parquet
//                                (crema DOUBLE[][], integer work_id),
//                                ints.parquet (crema UTINYINT[], unsigned hop),
//                                bad.parquet (one good row, a frame of 11 values,
//                                a NULL element).
//   node duckdb.js read <file>   DuckDB reads a file vindex wrote and prints
//                                JSON: columns, key-value metadata, rows.
//
// Song i has T = 3 + i frames; value (frame t, pitch class p) is
// ((7*i + 12*t + p) % 101) / 100, as schema/interop_test.go expects.
'use strict';
const path = require('path');
const modDir = process.env.VINDEX_INTEROP_MODULES ||
  path.join(__dirname, '..', '..', '..', '.cache', 'interop', 'node_modules');
const { DuckDBInstance } = require(path.join(modDir, '@duckdb', 'node-api'));

function sqlString(s) { return "'" + s.replace(/'/g, "''") + "'"; }

const value = (i, t, p) => `((7*${i} + 12*${t} + ${p}) % 101) / 100.0`;

async function write(conn, dir) {
  const songs = 'range(4) AS r(i)';
  const flat = `list_transform(range((3+i)*12), x -> ((7*i + x) % 101) / 100.0)`;
  const nested = `list_transform(range(3+i), t -> list_transform(range(12), p -> ${value('i', 't', 'p')}))`;
  await conn.run(`COPY (SELECT 'flat-' || i AS song_id, 'w' || (i % 2) AS work_id,
      CAST(${flat} AS FLOAT[]) AS crema, 'Title ' || i AS title, CAST(1990 + i AS SMALLINT) AS year,
      'label' || i AS label, i * 1.5 AS bpm, i % 2 = 0 AS live
    FROM ${songs}) TO ${sqlString(path.join(dir, 'flat.parquet'))} (FORMAT parquet, ROW_GROUP_SIZE 2)`);
  await conn.run(`COPY (SELECT 'nested-' || i AS song_id, CAST(100 + i AS INTEGER) AS work_id,
      CAST(${nested} AS DOUBLE[][]) AS crema, CAST(512 AS BIGINT) AS hop
    FROM ${songs}) TO ${sqlString(path.join(dir, 'nested.parquet'))} (FORMAT parquet)`);
  await conn.run(`COPY (SELECT 'ints-' || i AS song_id,
      CAST(list_transform(range((3+i)*12), x -> (x + i) % 2) AS UTINYINT[]) AS crema,
      CAST(4096 AS USMALLINT) AS hop, CAST(200 + i AS UBIGINT) AS duration_s
    FROM ${songs}) TO ${sqlString(path.join(dir, 'ints.parquet'))} (FORMAT parquet)`);
  await conn.run(`COPY (
      SELECT 'bad-0' AS song_id, CAST([[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]] AS FLOAT[][]) AS crema
      UNION ALL SELECT 'bad-short', CAST([[0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5,0.5]] AS FLOAT[][])
      UNION ALL SELECT 'bad-null', CAST([[0.5,0.5,0.5,0.5,0.5,NULL,0.5,0.5,0.5,0.5,0.5,0.5]] AS FLOAT[][])
    ) TO ${sqlString(path.join(dir, 'bad.parquet'))} (FORMAT parquet)`);
}

async function read(conn, file) {
  const f = sqlString(file);
  const cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${f})`)).getRowObjectsJson()
    .map(r => ({ name: r.column_name, type: r.column_type }));
  const kv = (await conn.runAndReadAll(
    `SELECT decode(key) AS key, decode(value) AS value FROM parquet_kv_metadata(${f})`)).getRowObjectsJson();
  const hasExtra = cols.some(c => c.name === 'extra');
  const vec = cols.some(c => c.name === 'crema') ? 'crema' : 'embedding';
  const rows = (await conn.runAndReadAll(`SELECT song_id, CAST(len(${vec}) AS INTEGER) AS n,
      CAST(list_sum(CAST(${vec} AS DOUBLE[])) AS DOUBLE) AS sum, ${vec}[1] AS first,
      ${hasExtra ? "CAST(to_json(extra) AS VARCHAR)" : "NULL"} AS extra
    FROM read_parquet(${f}) ORDER BY song_id`)).getRowObjectsJson();
  process.stdout.write(JSON.stringify({ columns: cols, kv, rows }) + '\n');
}

// count prints the row count and columns DuckDB sees in read_parquet(glob).
async function count(conn, glob) {
  const g = `'${glob.replace(/'/g, "''")}'`;
  const cols = (await conn.runAndReadAll(`SELECT column_name FROM (DESCRIBE SELECT * FROM read_parquet(${g}))`))
    .getRowObjectsJson().map(r => r.column_name);
  const n = (await conn.runAndReadAll(`SELECT CAST(count(*) AS INTEGER) AS n FROM read_parquet(${g})`)).getRowObjectsJson()[0].n;
  process.stdout.write(JSON.stringify({ columns: cols, n }) + '\n');
}

async function main() {
  const [cmd, arg] = process.argv.slice(2);
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  if (cmd === 'write') await write(conn, arg);
  else if (cmd === 'read') await read(conn, arg);
  else if (cmd === 'count') await count(conn, arg);
  else throw new Error('usage: node duckdb.js write <dir> | read <file> | count <glob>');
}

main().catch(e => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
