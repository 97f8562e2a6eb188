// Rewrites a vindex features dataset as ONE Parquet file written by DuckDB
// with DuckDB's defaults (row groups of 122,880 rows: one row group for a
// catalog of that size or less), as a user's own export would be.
//
//   node bench/scale/onegroup.js <dataset folder> <out.parquet>
//
// DuckDB's Node client is installed by schema/testdata/interop/install.sh.
'use strict';
const path = require('path');
const modDir = process.env.VINDEX_INTEROP_MODULES ||
  path.join(__dirname, '..', '..', '.cache', 'interop', 'node_modules');
const { DuckDBInstance } = require(path.join(modDir, '@duckdb', 'node-api'));

const q = s => "'" + s.replace(/'/g, "''") + "'";

async function main() {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) throw new Error('usage: node onegroup.js <dataset folder> <out.parquet>');
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(`COPY (SELECT song_id, work_id, hop, crema, title, artist, year, instrumental, duration_s
      FROM read_parquet(${q(path.join(src, '*.parquet'))}) ORDER BY song_id)
    TO ${q(out)} (FORMAT parquet)`);
  const rg = await conn.runAndReadAll(`SELECT count(DISTINCT row_group_id) AS groups, max(row_group_num_rows) AS rows
    FROM parquet_metadata(${q(out)})`);
  console.log(JSON.stringify(rg.getRowObjectsJson()[0]));
}

main().catch(e => { console.error(e.message); process.exit(1); });
