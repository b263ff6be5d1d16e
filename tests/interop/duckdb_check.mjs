// DuckDB interop check (run by tests/interop/duckdb.test.sh).
//
//   node duckdb_check.mjs PEERS_DIR WORK_DIR CAT_COMMAND...
//
// 1. strata -> DuckDB: every file of WORK_DIR/manifest.json (written by
//    interop_gen) is read with read_parquet(); each value is rendered in the
//    canonical JSON form and compared with the generator's expected rows, and the
//    footer statistics DuckDB reports (parquet_metadata) with the generator's own
//    min/max/null counts per row group and column.
// 2. DuckDB -> strata: DuckDB writes the same rows with every codec (and its v2
//    pages); CAT_COMMAND FILE (strata parquet cat --format jsonl, or
//    interop_gen cat) must print exactly what DuckDB reads from that file.
//
// Prints what was checked; exits 1 on any mismatch.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const [peers, dir, ...catCmd] = process.argv.slice(2);
if (!catCmd.length) {
  console.error('usage: node duckdb_check.mjs PEERS_DIR WORK_DIR CAT_COMMAND...');
  process.exit(2);
}
const require = createRequire(path.join(path.resolve(peers), 'package.json'));
const { DuckDBInstance } = require('@duckdb/node-api');
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
const rows = async (sql) => (await con.runAndReadAll(sql)).getRows();
const lit = (s) => "'" + s.replaceAll("'", "''") + "'";
const ident = (s) => '"' + s.replaceAll('"', '""') + '"';

let failures = 0;
const MAX_REPORTS = 30;
function fail(msg) {
  failures++;
  if (failures <= MAX_REPORTS) console.error('MISMATCH ' + msg);
}

// ---- canonical text (shared/parquet-corpus/README.md) ----

const pad = (n, w = 2) => String(n).padStart(w, '0');
function civil(z) {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  let y = yoe + era * 400;
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) y += 1;
  return [y, m, d];
}
const year = (y) => (y < 0 ? '-' + pad(-y, 4) : pad(y, 4));
function fmtDate(days) {
  const [y, m, d] = civil(days);
  return `${year(y)}-${pad(m)}-${pad(d)}`;
}
function splitUnits(v, digits) { // BigInt -> [whole seconds, fraction] with floor division
  const per = 10n ** BigInt(digits);
  let s = v / per, f = v % per;
  if (f < 0n) { f += per; s -= 1n; }
  return [s, f.toString().padStart(digits, '0')];
}
function fmtTime(v, digits, utc) {
  const [s, f] = splitUnits(v, digits);
  const n = Number(s);
  return `${pad(Math.floor(n / 3600))}:${pad(Math.floor(n / 60) % 60)}:${pad(n % 60)}.${f}${utc ? 'Z' : ''}`;
}
function fmtTs(v, digits, utc) {
  const [s, f] = splitUnits(v, digits);
  let days = s / 86400n, sod = s % 86400n;
  if (sod < 0n) { sod += 86400n; days -= 1n; }
  return `${fmtDate(Number(days))}T${fmtTime(sod * 10n ** BigInt(digits), digits, false).slice(0, 8)}.${f}${utc ? 'Z' : ''}`;
}
function fmtNumber(x, single) {
  if (Number.isNaN(x)) return '"NaN"';
  if (x === Infinity) return '"Infinity"';
  if (x === -Infinity) return '"-Infinity"';
  if (Object.is(x, -0)) return '-0';
  if (!single) return String(x);
  for (let p = 1; p <= 9; p++) {
    const c = roundEven(x, p);
    if (Math.fround(c) === x) return String(c);
  }
  return String(x);
}
// x rounded to p significant digits, ties to even, from its exact decimal
// expansion (toPrecision breaks ties upwards, printf to even).
function roundEven(x, p) {
  const [m, e] = Math.abs(x).toExponential(100).split('e');
  const digits = m.replace('.', '');
  let head = digits.slice(0, p), exp = Number(e);
  const rest = digits.slice(p);
  const up = rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || Number(head[p - 1]) % 2 === 1));
  if (up) {
    const n = (BigInt(head) + 1n).toString();
    if (n.length > p) { exp += 1; head = n.slice(0, p); } else head = n;
  }
  return Number(`${x < 0 ? '-' : ''}${head[0]}.${head.slice(1) || '0'}e${exp}`);
}
function parseNumber(s, single) { // DuckDB's text of a FLOAT/DOUBLE
  let x;
  if (/^-?inf/i.test(s)) x = s.startsWith('-') ? -Infinity : Infinity;
  else if (/^-?nan/i.test(s)) x = NaN;
  else x = Number(s);
  return single ? Math.fround(x) : x;
}

// A column's kind: how its canonical text is made, from a strata type or from
// the Parquet schema of a file someone else wrote.
const UNIT_DIGITS = { ms: 3, us: 6, ns: 9, MILLIS: 3, MICROS: 6, NANOS: 9 };
function kindFromStrata(t) {
  let m;
  if (t === 'bool') return { k: 'bool' };
  if (/^u?int\d+$/.test(t)) return { k: 'int' };
  if (t === 'float' || t === 'double') return { k: t };
  if (t === 'string' || t === 'json') return { k: 'string' };
  if (t === 'binary' || t.startsWith('fixed')) return { k: 'hex' };
  if (t === 'uuid') return { k: 'uuid' };
  if (t === 'date') return { k: 'date' };
  if ((m = /^time\((ms|us|ns)\)$/.exec(t))) return { k: 'time', d: UNIT_DIGITS[m[1]], utc: true };
  if ((m = /^timestamp\((ms|us|ns)(, UTC)?\)$/.exec(t))) return { k: 'ts', d: UNIT_DIGITS[m[1]], utc: !!m[2] };
  if ((m = /^decimal\((\d+),(\d+)\)$/.exec(t))) return { k: 'decimal' };
  throw new Error('unknown strata type ' + t);
}
function kindFromParquet(e) { // a parquet_schema() row
  const phys = e.type, ct = e.converted_type || '', lt = e.logical_type || '';
  const unit = () => UNIT_DIGITS[(/(MILLIS|MICROS|NANOS)=(?!<null>)/.exec(lt) || [])[1]] ||
    (ct.endsWith('MILLIS') ? 3 : 6);
  const utc = () => (lt ? /isAdjustedToUTC=(1|true)/.test(lt) : true);
  if (phys === 'BOOLEAN') return { k: 'bool' };
  if (ct === 'DECIMAL' || lt.startsWith('DecimalType')) return { k: 'decimal' };
  if (ct === 'DATE' || lt.startsWith('DateType')) return { k: 'date' };
  if (lt.startsWith('TimeType') || ct.startsWith('TIME_')) return { k: 'time', d: unit(), utc: utc() };
  if (lt.startsWith('TimestampType') || ct.startsWith('TIMESTAMP_')) return { k: 'ts', d: unit(), utc: utc() };
  if (phys === 'INT96') return { k: 'ts', d: 9, utc: false };
  if (phys === 'INT32' || phys === 'INT64') return { k: 'int' };
  if (phys === 'FLOAT') return { k: 'float' };
  if (phys === 'DOUBLE') return { k: 'double' };
  if (lt.startsWith('UUIDType')) return { k: 'uuid' };
  if (['UTF8', 'JSON', 'ENUM'].includes(ct) || /^(StringType|JsonType|EnumType)/.test(lt)) return { k: 'string' };
  return { k: 'hex' };
}
// Digits of DuckDB's in-memory type for temporal columns (it may hold less
// precision than the file: TIME WITH TIME ZONE and TIMESTAMP WITH TIME ZONE
// are microseconds even for nanosecond columns).
function duckDigits(duckType) {
  if (/_NS\b|TIME_NS/.test(duckType)) return 9;
  if (/TIMESTAMP_MS/.test(duckType)) return 3;
  if (/TIMESTAMP_S\b/.test(duckType)) return 0;
  return 6;
}
// SQL giving a VARCHAR (or, for floats read as values, the number itself).
function sqlOf(kind, duckType, x, forStats) {
  switch (kind.k) {
    case 'float': case 'double': return forStats ? `${x}::VARCHAR` : x;
    case 'hex': return `lower(hex(${x}))`;
    case 'date': return `(${x} - DATE '1970-01-01')::VARCHAR`;
    case 'time': {
      const d = duckDigits(duckType);
      return d === 9 ? `epoch_ns(${x})::VARCHAR` : `epoch_us(${x}::TIME)::VARCHAR`;
    }
    case 'ts': {
      const d = duckDigits(duckType);
      const f = d === 9 ? 'epoch_ns' : d === 3 ? 'epoch_ms' : 'epoch_us';
      return `${f}(${x})::VARCHAR`;
    }
    default: return `${x}::VARCHAR`;
  }
}
// Canonical text from what sqlOf produced. Returns {text, lossy} where lossy
// holds the tolerance in file units when DuckDB kept fewer digits.
function canon(kind, duckType, v) {
  if (v === null || v === undefined) return { text: 'null' };
  switch (kind.k) {
    case 'bool': case 'int': return { text: String(v) };
    case 'float': return { text: fmtNumber(typeof v === 'number' ? v : parseNumber(v, true), true) };
    case 'double': return { text: fmtNumber(typeof v === 'number' ? v : parseNumber(v, false), false) };
    case 'string': return { text: JSON.stringify(v) };
    case 'hex': case 'uuid': case 'decimal': return { text: JSON.stringify(String(v)) };
    case 'date': return { text: JSON.stringify(fmtDate(Number(v))) };
    case 'time': case 'ts': {
      const have = duckDigits(duckType);
      let x = BigInt(v);
      let lossy = 0n;
      if (have < kind.d) { x *= 10n ** BigInt(kind.d - have); lossy = 10n ** BigInt(kind.d - have); }
      else if (have > kind.d) x /= 10n ** BigInt(have - kind.d);
      const t = kind.k === 'time' ? fmtTime(x, kind.d, kind.utc) : fmtTs(x, kind.d, kind.utc);
      return { text: JSON.stringify(t), lossy };
    }
  }
  throw new Error('kind ' + kind.k);
}
// Parses a canonical time/timestamp text back to units (for lossy columns).
function unitsOf(text, kind) {
  const s = JSON.parse(text);
  const m = /^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)\.(\d+)/.exec(s) ||
    /^()()()(\d\d):(\d\d):(\d\d)\.(\d+)/.exec(s);
  let days = 0n;
  if (m[1]) {
    let y = Number(m[1]), mo = Number(m[2]);
    const d = Number(m[3]);
    y -= mo <= 2 ? 1 : 0;
    const era = Math.floor(y / 400), yoe = y - era * 400;
    const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
    const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
    days = BigInt(era * 146097 + doe - 719468);
  }
  const secs = days * 86400n + BigInt(Number(m[4]) * 3600 + Number(m[5]) * 60 + Number(m[6]));
  return secs * 10n ** BigInt(kind.d) + BigInt(m[7]);
}
function same(exp, got, kind) {
  if (exp === got.text) return true;
  if (!got.lossy || exp === 'null' || got.text === 'null') return false;
  const diff = unitsOf(exp, kind) - unitsOf(got.text, kind);
  return (diff < 0n ? -diff : diff) < got.lossy;
}
// Raw member texts of one canonical JSON line (values are scalars), so large
// integers and exact float spellings are compared as text.
function members(line) {
  const out = [];
  let i = 1;
  const str = () => {
    const start = i++;
    while (line[i] !== '"') i += line[i] === '\\' ? 2 : 1;
    i++;
    return line.slice(start, i);
  };
  while (i < line.length - 1) {
    str();
    i++; // ':'
    const start = i;
    if (line[i] === '"') str();
    else while (line[i] !== ',' && line[i] !== '}') i++;
    out.push(line.slice(start, i));
    i++; // ',' or '}'
  }
  return out;
}

async function describe(file) {
  const r = await rows(`DESCRIBE SELECT * FROM read_parquet(${lit(file)})`);
  return r.map((x) => ({ name: x[0], type: x[1] }));
}

// Reads `file` with DuckDB and returns canonical members per row.
async function duckRows(file, kinds, desc) {
  const exprs = desc.map((c, i) => sqlOf(kinds[i], c.type, ident(c.name), false));
  const r = await rows(`SELECT ${exprs.join(', ')} FROM read_parquet(${lit(file)})`);
  return r.map((row) => row.map((v, i) => canon(kinds[i], desc[i].type, v)));
}

// ---- 1. strata -> DuckDB ----

const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const colKinds = new Map(manifest.columns.map((c) => [c.name, kindFromStrata(c.type)]));
const expected = {};
let values = 0, lossyValues = 0, statsChecked = 0, infHidden = 0;
for (const f of manifest.files) {
  const file = path.join(dir, f.file);
  if (!expected[f.expected]) {
    expected[f.expected] = {
      rows: readFileSync(path.join(dir, f.expected + '.jsonl'), 'utf8').split('\n').filter(Boolean).map(members),
      stats: readFileSync(path.join(dir, f.expected + '.stats.tsv'), 'utf8').split('\n').filter(Boolean)
        .map((l) => l.split('\t')),
    };
  }
  const exp = expected[f.expected];
  const desc = await describe(file);
  const kinds = desc.map((c) => colKinds.get(c.name));
  const got = await duckRows(file, kinds, desc);
  if (got.length !== exp.rows.length) fail(`${f.file}: DuckDB read ${got.length} rows, expected ${exp.rows.length}`);
  for (let r = 0; r < Math.min(got.length, exp.rows.length); r++) {
    if (exp.rows[r].length !== desc.length) { fail(`${f.file}: row ${r}: ${desc.length} columns, expected ${exp.rows[r].length}`); continue; }
    for (let c = 0; c < desc.length; c++) {
      values++;
      if (got[r][c].lossy) lossyValues++;
      if (!same(exp.rows[r][c], got[r][c], kinds[c]))
        fail(`${f.file} row ${r} ${desc[c].name}: DuckDB ${got[r][c].text}, expected ${exp.rows[r][c]}`);
    }
  }
  // Statistics of every row group and column, as DuckDB reads them.
  const caseOf = (field) => 'CASE column_id ' + desc.map((c, i) =>
    `WHEN ${i} THEN ${sqlOf(kinds[i], c.type, `TRY_CAST(${field} AS ${c.type})`, true)}`).join(' ') + ' END';
  const meta = await rows(`SELECT row_group_id, column_id, ${caseOf('stats_min_value')}, ${caseOf('stats_max_value')},
      stats_null_count, stats_min_value, stats_max_value FROM parquet_metadata(${lit(file)}) ORDER BY row_group_id, column_id`);
  const byKey = new Map(meta.map((m) => [`${m[0]}\t${desc[Number(m[1])].name}`, m]));
  for (const [rg, name, emin, emax, enulls] of exp.stats) {
    const m = byKey.get(`${rg}\t${name}`);
    if (!m) { fail(`${f.file}: no metadata for row group ${rg} column ${name}`); continue; }
    const c = desc.findIndex((d) => d.name === name);
    statsChecked++;
    if (String(m[4]) !== enulls) fail(`${f.file} rg ${rg} ${name}: null_count ${m[4]}, expected ${enulls}`);
    for (const [which, e, v, raw] of [['min', emin, m[2], m[5]], ['max', emax, m[3], m[6]]]) {
      const g = canon(kinds[c], desc[c].type, v);
      // DuckDB shows no min/max for a float bound that is infinite.
      if (g.text === 'null' && raw === null && /Infinity/.test(e)) { infHidden++; continue; }
      if (!same(e, g, kinds[c])) fail(`${f.file} rg ${rg} ${name}: ${which} ${g.text} (DuckDB: ${raw}), expected ${e}`);
    }
  }
}
console.log(`strata -> DuckDB: ${manifest.files.length} files, ${values} values compared` +
  ` (${lossyValues} at DuckDB's microsecond precision: TIME/TIMESTAMP(ns) read as WITH TIME ZONE),` +
  ` ${statsChecked} row-group column statistics (${infHidden} infinite bounds DuckDB does not show)`);

// ---- 2. DuckDB -> strata ----

const source = manifest.files.find((f) => f.nullable && f.codec === 'uncompressed');
await con.run(`CREATE TABLE t AS SELECT * FROM read_parquet(${lit(path.join(dir, source.file))})`);
const outputs = [];
for (const codec of ['uncompressed', 'snappy', 'gzip', 'zstd', 'lz4_raw', 'brotli']) {
  outputs.push([`duckdb_${codec}.parquet`, `COMPRESSION ${codec}, ROW_GROUP_SIZE 1000`]);
}
outputs.push(['duckdb_zstd_v2.parquet', "COMPRESSION zstd, ROW_GROUP_SIZE 1000, PARQUET_VERSION 'V2'"]);
let reverseValues = 0;
for (const [name, opts] of outputs) {
  const file = path.join(dir, name);
  await con.run(`COPY t TO ${lit(file)} (FORMAT parquet, ${opts})`);
  const schema = (await con.runAndReadAll(`SELECT * FROM parquet_schema(${lit(file)})`)).getRowObjectsJS()
    .filter((e) => e.type !== null);
  const desc = await describe(file);
  const kinds = desc.map((c) => kindFromParquet(schema.find((e) => e.name === c.name)));
  const duck = await duckRows(file, kinds, desc);
  const run = spawnSync(catCmd[0], [...catCmd.slice(1), file], { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (run.status !== 0) { fail(`${name}: strata cat failed (${run.status}): ${run.stderr}`); continue; }
  const lines = run.stdout.split('\n');
  if (lines.pop() !== '') fail(`${name}: strata output does not end with a newline`);
  if (lines.length !== duck.length) fail(`${name}: strata printed ${lines.length} rows, DuckDB read ${duck.length}`);
  for (let r = 0; r < Math.min(lines.length, duck.length); r++) {
    const want = '{' + desc.map((c, i) => JSON.stringify(c.name) + ':' + duck[r][i].text).join(',') + '}';
    reverseValues += desc.length;
    if (lines[r] !== want) {
      const a = members(lines[r]), b = members(want);
      const i = a.findIndex((x, k) => x !== b[k]);
      fail(`${name} row ${r}: ${i >= 0 ? desc[i].name + ': strata ' + a[i] + ', DuckDB ' + b[i] : lines[r] + ' vs ' + want}`);
    }
  }
}
console.log(`DuckDB -> strata: ${outputs.length} files, ${reverseValues} values compared`);
if (failures) {
  console.error(`FAILED: ${failures} mismatches`);
  process.exit(1);
}
console.log('OK');
