// DuckDB side of bench/dataset.sh: the same files and the same predicate as
// bench_dataset, with threads=1 and with DuckDB's default thread count.
//   node dataset_duckdb.mjs PEERS_DIR DIR FROM TO
// The selective query aggregates every column of the matching rows, the full
// scan every row of time, depth and value (aggregates that footer statistics
// cannot answer). Best of 10 runs (selective) and 3 (full scan). Prints one JSON line of seconds.
import { createRequire } from 'node:module';
import path from 'node:path';

const [peers, dir, from, to] = process.argv.slice(2);
const require = createRequire(path.join(path.resolve(peers), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const q = (s) => "'" + s.replaceAll("'", "''") + "'";
const src = `read_parquet(${q(dir + '/ds/**/*.parquet')}, hive_partitioning = true)`;
const tsl = (t) => `TIMESTAMPTZ ${q(t.replace('T', ' ').replace('Z', '+00'))}`;
const sel = `SELECT count(*), sum(value), sum(depth), bit_xor(epoch_us(time)), count(remark),
                    sum(length(borehole)) + sum(length(status))
             FROM ${src} WHERE project = 'p07' AND time >= ${tsl(from)} AND time < ${tsl(to)}`;
const full = `SELECT count(*), sum(value), sum(depth), bit_xor(epoch_us(time)) FROM ${src}`;

const out = {};
for (const threads of [1, 0]) {
  const inst = await DuckDBInstance.create(':memory:');
  const con = await inst.connect();
  await con.run("SET TimeZone = 'UTC'");
  if (threads) await con.run(`SET threads = ${threads}`);
  const tag = threads ? 't1' : 'tdefault';
  for (const [name, sql] of [['sel', sel], ['full', full]]) {
    let best = Infinity, rows;
    // Best of 10 for the selective query (milliseconds: noise dominates one
    // run), of 3 for the full scan, as bench_dataset does.
    for (let i = 0; i < (name === 'sel' ? 10 : 3); i++) {
      const t0 = process.hrtime.bigint();
      const r = await con.runAndReadAll(sql);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
      rows = r.getRowsJS()[0].map(String);
    }
    out[`${name}_${tag}_s`] = best;
    out[`${name}_result`] = rows;
  }
  if (!threads) out.default_threads = String((await (await con.runAndReadAll("SELECT current_setting('threads')")).getRowsJS())[0][0]);
}
console.log(JSON.stringify(out));
