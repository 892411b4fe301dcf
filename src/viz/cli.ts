import { join } from 'node:path';
import type { AnyStateMachine } from 'xstate';
import { isMachine } from '../runtime/behavior.ts';
import { BUILTIN_CHARTS, FORMATS, renderChartDocs, type ChartEntry } from './catalog.ts';
import { exportMachine, type ExportFormat } from './export.ts';

/** What `npm run viz:export` and `shoal viz export` do. */
export interface VizExportOptions {
  kind?: string;
  format?: string;
  /** Directory the docs/ tree is written under (default: the repo). */
  out?: string;
  /** Export a user machine: a module path and the name of its export. */
  module?: string;
  export?: string;
  stdout?: boolean;
  root: string;
  write: (path: string, text: string) => void;
  importModule: (path: string) => Promise<Record<string, unknown>>;
  print?: (text: string) => void;
  error?: (text: string) => void;
}

export async function runVizExport(o: VizExportOptions): Promise<number> {
  const print = o.print ?? ((t: string) => process.stdout.write(t));
  const error = o.error ?? ((t: string) => process.stderr.write(`${t}\n`));
  const formats = o.format ? [o.format] : FORMATS;
  for (const f of formats) if (!FORMATS.includes(f as ExportFormat)) return error(`unknown format '${f}' (mermaid, scxml or json)`), 2;
  let entries: readonly ChartEntry[] = BUILTIN_CHARTS;
  if (o.module) {
    const mod = await o.importModule(o.module);
    const name = o.export ?? 'default';
    const m = mod[name];
    if (!isMachine(m)) return error(`${o.module} has no xstate machine export '${name}'`), 2;
    const machine = m as AnyStateMachine;
    entries = [{ kind: o.kind ?? machine.id, machine, source: o.module, summary: `\`${name}\` from \`${o.module}\`.` }];
  } else if (o.kind) {
    entries = BUILTIN_CHARTS.filter((e) => e.kind === o.kind);
    if (entries.length === 0) return error(`unknown kind '${o.kind}' (${BUILTIN_CHARTS.map((e) => e.kind).join(', ')})`), 2;
  }
  if (o.stdout) {
    for (const e of entries) for (const f of formats) print(exportMachine(e.machine, f as ExportFormat));
    return 0;
  }
  // The whole set (with MACHINES.md) only for the full built-in export; otherwise just the files asked for.
  const full = !o.module && !o.kind && !o.format;
  const files = renderChartDocs(entries, formats as ExportFormat[]);
  if (!full) files.delete('docs/MACHINES.md');
  const base = o.out ?? o.root;
  for (const [rel, text] of files) {
    o.write(join(base, rel), text);
    print(`wrote ${rel}\n`);
  }
  return 0;
}
