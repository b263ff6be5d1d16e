// DuckDB as the oracle for strata's dataset filters.
//   node duckdb_oracle.mjs gen PEERS_DIR OUT_DIR SEED
//       writes OUT_DIR/schema.json, OUT_DIR/schema_noremark.json and CSV files
//       OUT_DIR/csv/<project>/<status>/<n>.csv (the shell turns them into Parquet)
//   node duckdb_oracle.mjs check PEERS_DIR STRATA DATA_DIR SEED COUNT URL...
//       for COUNT seeded random predicates, compares `strata read URL --where P
//       --format jsonl` for every URL with DuckDB's rows for the same predicate
//       over DATA_DIR/**/*.parquet (hive partitioning), both sorted in one
//       canonical rendering. Prints the number checked; exits 1 on a mismatch.
import { createRequire } from 'node:module';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const [mode, peers, ...rest] = process.argv.slice(2);

// Deterministic PRNG (mulberry32).
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PROJECTS = ['alpha', 'bravo', 'charlie-2', 'delta x'];
const STATUSES = ['approved', 'draft', 'rejected'];
const NAMES = ['BH-1', 'BH-2', 'BH-3', 'TP-7', 'Ω-ünïcode', "o'brien", ''];
const T0 = Date.UTC(2024, 0, 1) * 1000; // microseconds
const SPAN = 90 * 86400 * 1e6;

function pad(n, w) {
  return String(n).padStart(w, '0');
}
function tsText(us) {
  const d = new Date(Math.floor(us / 1000));
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)}T${pad(d.getUTCHours(), 2)}:${pad(
    d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(us % 1e6, 6)}Z`;
}
function csvCell(v) {
  if (v === null) return '';
  const s = String(v);
  return /[",\n]/.test(s) || s === '' ? '"' + s.replaceAll('"', '""') + '"' : s;
}

if (mode === 'gen') {
  const [out, seedText] = rest;
  const r = rng(Number(seedText));
  const fields = [
    { name: 'id', type: 'int32', nullable: false },
    { name: 'depth', type: 'decimal(8,3)' },
    { name: 'score', type: 'double' },
    { name: 'name', type: 'string' },
    { name: 'ts', type: 'timestamp(us, UTC)' },
    { name: 'remark', type: 'string' },
  ];
  writeFileSync(path.join(out, 'schema.json'), JSON.stringify({ name: 'oracle', fields }));
  writeFileSync(path.join(out, 'schema_noremark.json'),
    JSON.stringify({ name: 'oracle', fields: fields.filter((f) => f.name !== 'remark') }));
  let id = 0, fileNo = 0;
  for (const p of PROJECTS)
    for (const s of STATUSES)
      for (let n = 0; n < 3; n++) {
        const noRemark = fileNo++ % 5 === 1; // a few files lack the column
        const rows = 100 + Math.floor(r() * 200);
        const cols = noRemark ? ['id', 'depth', 'score', 'name', 'ts'] : ['id', 'depth', 'score', 'name', 'ts', 'remark'];
        const lines = [cols.join(',')];
        for (let i = 0; i < rows; i++, id++) {
          const depth = r() < 0.1 ? null : (Math.floor(r() * 5000000) / 1000).toFixed(3);
          const score = r() < 0.1 ? null : Math.round((r() * 200 - 100) * 1000) / 1000;
          const name = r() < 0.1 ? null : NAMES[Math.floor(r() * NAMES.length)];
          const ts = r() < 0.05 ? null : tsText(T0 + Math.floor(r() * SPAN));
          const remark = r() < 0.5 ? null : 'remark ' + Math.floor(r() * 20);
          const row = [id, depth, score, name, ts];
          if (!noRemark) row.push(remark);
          lines.push(row.map(csvCell).join(','));
        }
        const dir = path.join(out, 'csv', p, s);
        mkdirSync(dir, { recursive: true });
        writeFileSync(path.join(dir, `${n}${noRemark ? '-noremark' : ''}.csv`), lines.join('\n') + '\n');
      }
  process.exit(0);
}

// ---- predicates ----

function sqlStr(s) {
  return "'" + s.replaceAll("'", "''") + "'";
}

function genPred(r, depth) {
  const pick = (a) => a[Math.floor(r() * a.length)];
  const x = r();
  if (depth < 2 && x < 0.3) {
    const op = pick(['and', 'or']);
    const a = genPred(r, depth + 1), b = genPred(r, depth + 1);
    return { st: `(${a.st} ${op} ${b.st})`, sql: `(${a.sql} ${op.toUpperCase()} ${b.sql})` };
  }
  if (depth < 2 && x < 0.38) {
    const a = genPred(r, depth + 1);
    return { st: `not (${a.st})`, sql: `NOT (${a.sql})` };
  }
  const col = pick(['id', 'depth', 'score', 'name', 'ts', 'remark', 'project', 'status']);
  const lit = () => {
    switch (col) {
      case 'id': { const v = Math.floor(r() * 7000); return { st: String(v), sql: String(v) }; }
      case 'depth': { const v = (Math.floor(r() * 5000000) / 1000).toFixed(3); return { st: v, sql: v }; }
      case 'score': { const v = Math.round((r() * 200 - 100) * 1000) / 1000; return { st: String(v), sql: `${v}::DOUBLE` }; }
      case 'name': { const v = pick(NAMES.concat(['BH-0', 'ZZ'])); return { st: sqlStr(v), sql: sqlStr(v) }; }
      case 'ts': {
        const t = tsText(T0 + Math.floor(r() * SPAN));
        return { st: sqlStr(t), sql: `TIMESTAMPTZ ${sqlStr(t.replace('T', ' ').replace('Z', '+00'))}` };
      }
      case 'remark': { const v = 'remark ' + Math.floor(r() * 22); return { st: sqlStr(v), sql: sqlStr(v) }; }
      case 'project': { const v = pick(PROJECTS.concat(['zulu'])); return { st: sqlStr(v), sql: sqlStr(v) }; }
      default: { const v = pick(STATUSES.concat(['pending'])); return { st: sqlStr(v), sql: sqlStr(v) }; }
    }
  };
  const y = r();
  if (y < 0.12) {
    const not = r() < 0.5;
    return { st: `${col} is ${not ? 'not ' : ''}null`, sql: `${col} IS ${not ? 'NOT ' : ''}NULL` };
  }
  if (y < 0.32) {
    const n = 1 + Math.floor(r() * 4), ls = [];
    for (let i = 0; i < n; i++) ls.push(lit());
    const not = r() < 0.4;
    return {
      st: `${col} ${not ? 'not ' : ''}in (${ls.map((l) => l.st).join(', ')})`,
      sql: `${col} ${not ? 'NOT ' : ''}IN (${ls.map((l) => l.sql).join(', ')})`,
    };
  }
  const op = pick(['=', '!=', '<', '<=', '>', '>=']);
  const l = lit();
  return { st: `${col} ${op} ${l.st}`, sql: `${col} ${op === '!=' ? '<>' : op} ${l.sql}` };
}

// One canonical line per row: the columns in a fixed order, values as strata's
// canonical JSON renders them.
const COLS = ['id', 'depth', 'score', 'name', 'ts', 'remark', 'project', 'status'];
function canonStrata(line) {
  const o = JSON.parse(line);
  return JSON.stringify(COLS.map((c) => (c in o ? o[c] : 'MISSING')));
}

const [strata, dataDir, seedText, countText, ...urls] = rest;
const require = createRequire(path.join(path.resolve(peers), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run("SET TimeZone = 'UTC'");
const src = `read_parquet(${sqlStr(dataDir + '/**/*.parquet')}, hive_partitioning = true, union_by_name = true,
             hive_types = {'project': VARCHAR, 'status': VARCHAR})`;
async function duck(where) {
  const reader = await con.runAndReadAll(`SELECT id, CAST(depth AS VARCHAR) AS depth, score, name,
      strftime(ts, '%Y-%m-%dT%H:%M:%S.%fZ') AS ts, remark, project, status FROM ${src} WHERE ${where}`);
  return reader.getRowsJS().map((row) => JSON.stringify(row.map((v) => (v === undefined ? null : v))));
}

const r = rng(Number(seedText));
const count = Number(countText);
let checked = 0, failed = 0, nonEmpty = 0;
const all = await duck('true');
for (let i = 0; i < count; i++) {
  const p = genPred(r, 0);
  const want = (await duck(p.sql)).sort();
  if (want.length > 0 && want.length < all.length) nonEmpty++;
  for (const url of urls) {
    let out;
    try {
      out = execFileSync(strata, ['read', url, '--where', p.st, '--format', 'jsonl'], { maxBuffer: 1 << 28 }).toString();
    } catch (e) {
      console.log(`FAIL strata read failed for: ${p.st}\n  ${e.stderr}`);
      failed++;
      continue;
    }
    const got = out.split('\n').filter((l) => l).map(canonStrata).sort();
    const same = got.length === want.length && got.every((g, k) => g === want[k]);
    if (!same) {
      failed++;
      const miss = want.filter((w) => !got.includes(w)).slice(0, 3);
      const extra = got.filter((g) => !want.includes(g)).slice(0, 3);
      console.log(`FAIL ${url.split('?')[0]}: ${p.st}\n  sql: ${p.sql}\n  strata ${got.length} rows, duckdb ${want.length}` +
        `\n  only duckdb: ${miss.join(' ')}\n  only strata: ${extra.join(' ')}`);
    }
  }
  checked++;
}
console.log(`checked ${checked} predicates x ${urls.length} store(s) against DuckDB over ${all.length} rows ` +
  `(${nonEmpty} selective: neither empty nor everything); ${failed} mismatches`);
process.exit(failed ? 1 : 0);
