/**
 * Writes every built-in machine's chart: docs/machines/<kind>.mmd|.scxml|.json and docs/MACHINES.md.
 *
 *   npm run viz:export [-- --kind shard --format mermaid --out DIR --stdout]
 *   npm run viz:export -- --module ./examples/my-machine.ts --export myMachine [--kind my]
 *
 * With --module the named export of that module (any xstate machine) is exported instead of the
 * built-in ones; with --stdout the text is printed rather than written.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { runVizExport } from '../src/viz/cli.ts';

const { values } = parseArgs({
  options: {
    kind: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
    module: { type: 'string' },
    export: { type: 'string' },
    stdout: { type: 'boolean', default: false },
  },
});
const code = await runVizExport({ ...values, write: (path, text) => { mkdirSync(dirname(path), { recursive: true }); writeFileSync(path, text); }, importModule: (p) => import(pathToFileURL(resolve(p)).href), root: join(import.meta.dirname, '..') });
process.exitCode = code;
