// DuckDB side of bench/parquet.c: the same rows, threads=1.
//   node parquet_duckdb.mjs <tests/peers dir> <uncompressed strata file> <strata zstd file> <strata snappy file>
// Loads the rows from strata's uncompressed file into an in-memory table (not
// timed), times COPY TO parquet with ZSTD and SNAPPY, and a full read of
// strata's files (the faster of materialising every column into a table and
// aggregates over every value of every column). Each timing is the best of two runs, which
// favours DuckDB. Prints one JSON line of seconds and byte counts.
import { createRequire } from 'node:module';
import { statSync, unlinkSync } from 'node:fs';
import path from 'node:path';

const [peers, plain, strataZstd, strataSnappy] = process.argv.slice(2);
if (!strataSnappy) {
  console.error('usage: node parquet_duckdb.mjs PEERS_DIR PLAIN.parquet ZSTD.parquet SNAPPY.parquet');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(peers), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');

const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run('SET threads = 1');
await con.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${q(plain)})`);

// Best of two runs: wall seconds and CPU seconds (process.cpuUsage covers
// DuckDB's threads too; there is one).
async function best(sql, after) {
  let wall = Infinity, cpu = Infinity;
  for (let i = 0; i < 2; i++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    await con.run(sql);
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    const c = process.cpuUsage(c0);
    if (after) await con.run(after);
    wall = Math.min(wall, s);
    cpu = Math.min(cpu, (c.user + c.system) / 1e6);
  }
  return { wall, cpu };
}

const dir = path.dirname(plain);
const out = {};
function put(key, r) {
  out[key] = r.wall;
  out[key + '_cpu'] = r.cpu;
}
for (const codec of ['zstd', 'snappy']) {
  const file = path.join(dir, `duckdb_${codec}.parquet`);
  put(`write_${codec}`, await best(`COPY t TO ${q(file)} (FORMAT parquet, COMPRESSION ${codec})`));
  out[`${codec}_bytes`] = statSync(file).size;
}
async function fullRead(file) {
  const f = q(file);
  const mat = await best(`CREATE TABLE r AS SELECT * FROM read_parquet(${f})`, 'DROP TABLE r');
  // Aggregates DuckDB cannot answer from footer statistics (max(id) it can,
  // without reading a page).
  const agg = await best(`SELECT bit_xor(id), bit_xor(qty), sum(price), max(length(name)),
                                 max(length(category)), bit_xor(epoch_us(ts)), bool_or(flag)
                          FROM read_parquet(${f})`);
  return mat.wall <= agg.wall ? mat : agg;
}
put('read_strata_zstd', await fullRead(strataZstd));
put('read_strata_snappy', await fullRead(strataSnappy));
put('read_own_zstd', await fullRead(path.join(dir, 'duckdb_zstd.parquet')));
for (const codec of ['zstd', 'snappy']) unlinkSync(path.join(dir, `duckdb_${codec}.parquet`));
console.log(JSON.stringify(out));
