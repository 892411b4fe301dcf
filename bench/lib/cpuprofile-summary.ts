/**
 * Summarise a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function,
 * largest first.
 *
 *   npx tsx bench/lib/cpuprofile-summary.ts <file.cpuprofile> [--top 30] [--filter src/]
 *
 * `--filter` keeps functions whose url contains the string (e.g. `src/` for the runtime).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface FnStat {
  key: string;
  selfMs: number;
  totalMs: number;
}

function shortUrl(url: string): string {
  const i = url.indexOf('/node_modules/');
  if (i >= 0) return url.slice(i + '/node_modules/'.length);
  const m = /\/(src|bench|protocols)\/.*$/.exec(url);
  if (m) return m[0].slice(1);
  return url.replace(/^file:\/\//, '') || '(native)';
}

export function summarise(profile: Profile): { stats: FnStat[]; totalMs: number; idleMs: number } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n: ProfileNode) =>
    `${n.callFrame.functionName || '(anonymous)'} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber + 1}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let totalMs = 0;
  let idleMs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    let node = byId.get(profile.samples[i]!);
    if (!node) continue;
    if (node.callFrame.functionName === '(idle)') idleMs += ms;
    const k = keyOf(node);
    self.set(k, (self.get(k) ?? 0) + ms);
    const seen = new Set<string>();
    for (; node; node = byId.get(parent.get(node.id) ?? -1)) {
      const key = keyOf(node);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + ms);
    }
  }
  const stats = [...total.entries()].map(([key, t]) => ({ key, selfMs: self.get(key) ?? 0, totalMs: t }));
  return { stats, totalMs, idleMs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({
    options: { top: { type: 'string', default: '30' }, filter: { type: 'string' }, by: { type: 'string', default: 'self' } },
    allowPositionals: true,
  });
  for (const file of positionals) {
    const { stats, totalMs, idleMs } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile);
    const top = Number(values.top);
    const filtered = values.filter ? stats.filter((s) => s.key.includes(values.filter!)) : stats;
    const sorted = filtered.sort((a, b) => (values.by === 'total' ? b.totalMs - a.totalMs : b.selfMs - a.selfMs));
    console.log(`${file}: ${totalMs.toFixed(0)} ms sampled, idle ${idleMs.toFixed(0)} ms (${((100 * idleMs) / totalMs).toFixed(1)}%)`);
    console.log('   self ms  incl ms   self%  function');
    for (const s of sorted.slice(0, top)) {
      console.log(
        `${s.selfMs.toFixed(1).padStart(10)} ${s.totalMs.toFixed(1).padStart(8)} ${((100 * s.selfMs) / totalMs).toFixed(1).padStart(6)}%  ${s.key}`,
      );
    }
  }
}
