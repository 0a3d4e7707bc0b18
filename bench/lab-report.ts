// The lab's printed tables and its SVG chart (hand-written: ours vs raw DuckDB vs EAV, p50 per
// question and state, on a log scale since EAV is one to three orders of magnitude slower).
import type { Timing } from './support.js';
import type { EavResult } from './lab-eav.js';
import type { LevelResult } from './lab-load.js';

export interface QuestionRow {
  key: string;
  label: string;
  /** As a first ask: nothing kept (AGGREGATE_CACHE_ENTRIES=0). */
  ours: Timing;
  /** Asked again with kept partials on (the same question, nothing written between): what they answer. */
  ours_again: Timing;
  raw: Timing;
  /** Measured once (state A): the EAV store has no lake state. */
  eav: EavResult | null;
  ours_over_raw: number;
  eav_over_ours: number | null;
  answers: string;
}

export interface StateResult {
  state: string;
  lake: string[];
  /** The large lake files held as DuckDB tables while measured (src/query/file-tables.ts). */
  file_tables: { files: number; mb: number };
  questions: QuestionRow[];
}

const t = (x: Timing | null | undefined) => (x && Number.isFinite(x.p50) ? `${x.p50.toFixed(1)} / ${x.p95.toFixed(1)}` : 'n/a');
const r = (x: number | null | undefined, digits: number) => (x == null || !Number.isFinite(x) ? 'n/a' : `${x.toFixed(digits)}x`);

export function questionTable(states: readonly StateResult[]): string {
  const lines = [
    '| state | question | ours (GraphQL), first ask, ms p50 / p95 | raw DuckDB, compacted | EAV Postgres, fastest form | ours / raw | EAV / ours | ours asked again | again / raw |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of states) {
    for (const q of s.questions) {
      const again = q.ours_again ? q.ours_again.p50 / q.raw.p50 : null;
      lines.push(`| ${s.state} | ${q.label} | ${t(q.ours)} | ${t(q.raw)} | ${q.eav ? `${t(q.eav)} (${q.eav.fastest})` : 'n/a'} | ${r(q.ours_over_raw, 2)} | ${r(q.eav_over_ours, 1)} | ${t(q.ours_again)} | ${r(again, 2)} |`);
    }
  }
  return lines.join('\n');
}

export function loadTable(levels: readonly LevelResult[]): string {
  const lines = [
    '| clients | requests/s | p50 ms | p95 ms | p99 ms | errors | by_pk p50 / p99 ms | question p50 / p99 ms | write p50 / p99 ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  const k = (x: { p50_ms: number; p99_ms: number }) => `${x.p50_ms.toFixed(1)} / ${x.p99_ms.toFixed(1)}`;
  for (const l of levels) {
    lines.push(
      `| ${l.clients} | ${l.throughput_rps.toFixed(1)} | ${l.p50_ms.toFixed(1)} | ${l.p95_ms.toFixed(1)} | ${l.p99_ms.toFixed(1)} | ${l.errors} | ${k(l.by_kind.by_pk)} | ${k(l.by_kind.question)} | ${k(l.by_kind.write)} |`,
    );
  }
  return lines.join('\n');
}

const COLORS = { ours: '#2b6cb0', raw: '#718096', eav: '#c05621' };
const escape = (s: string) => s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** Grouped bars (log scale) of p50 per question, one panel per state. */
export function chartSvg(title: string, states: readonly StateResult[]): string {
  const width = 960;
  const panelHeight = 300;
  const top = 60;
  const left = 70;
  const plotWidth = width - left - 20;
  const values = states.flatMap((s) => s.questions.flatMap((q) => [q.ours.p50, q.raw.p50, q.eav?.p50 ?? Number.NaN])).filter((v) => Number.isFinite(v) && v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values, 1)));
  const hi = Math.ceil(Math.log10(Math.max(...values, 10)));
  const height = top + states.length * (panelHeight + 40) + 30;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="24" font-size="15" font-weight="bold">${escape(title)}</text>`,
  ];
  const legend: [string, string][] = [
    ['ours (GraphQL, merge-on-read)', COLORS.ours],
    ['raw DuckDB, one compacted file', COLORS.raw],
    ['EAV Postgres, fastest form', COLORS.eav],
  ];
  legend.forEach(([name, color], i) => {
    out.push(`<rect x="${left + i * 260}" y="36" width="12" height="12" fill="${color}"/><text x="${left + i * 260 + 18}" y="46">${escape(name)}</text>`);
  });
  states.forEach((s, p) => {
    const y0 = top + p * (panelHeight + 40) + 20;
    const plotHeight = panelHeight - 60;
    const y = (v: number) => y0 + plotHeight - ((Math.log10(v) - lo) / (hi - lo)) * plotHeight;
    out.push(`<text x="${left}" y="${y0 - 6}" font-weight="bold">${escape(s.state)} (p50, ms, log scale)</text>`);
    for (let e = lo; e <= hi; e++) {
      out.push(`<line x1="${left}" x2="${left + plotWidth}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#e2e8f0"/><text x="${left - 8}" y="${y(10 ** e) + 4}" text-anchor="end">${10 ** e >= 1 ? 10 ** e : (10 ** e).toFixed(-e)}</text>`);
    }
    const group = plotWidth / s.questions.length;
    const bar = Math.min(36, (group - 20) / 3);
    s.questions.forEach((q, i) => {
      const x0 = left + i * group + (group - 3 * bar) / 2;
      [q.ours.p50, q.raw.p50, q.eav?.p50 ?? Number.NaN].forEach((v, k) => {
        if (!Number.isFinite(v) || v <= 0) return;
        const color = [COLORS.ours, COLORS.raw, COLORS.eav][k]!;
        const yv = y(Math.max(v, 10 ** lo));
        out.push(`<rect x="${x0 + k * bar}" y="${yv}" width="${bar - 2}" height="${y0 + plotHeight - yv}" fill="${color}"><title>${v.toFixed(1)} ms</title></rect>`);
        out.push(`<text x="${x0 + k * bar + bar / 2 - 1}" y="${yv - 3}" text-anchor="middle" font-size="9">${v < 10 ? v.toFixed(1) : Math.round(v)}</text>`);
      });
      const words = q.label.split(' ');
      const lines: string[] = [''];
      for (const w of words) {
        if ((lines[lines.length - 1]! + ' ' + w).length > Math.max(12, group / 6.5)) lines.push(w);
        else lines[lines.length - 1] = `${lines[lines.length - 1]} ${w}`.trim();
      }
      lines.slice(0, 3).forEach((line, n) => out.push(`<text x="${left + i * group + group / 2}" y="${y0 + plotHeight + 16 + n * 13}" text-anchor="middle" font-size="10">${escape(line)}</text>`));
      out.push(`<text x="${left + i * group + group / 2}" y="${y0 + plotHeight + 58}" text-anchor="middle" font-size="10" fill="${COLORS.ours}">${q.ours_over_raw.toFixed(2)}x raw</text>`);
    });
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
