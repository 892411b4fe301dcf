import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { terminateProcess } from '../../src/testing/terminate.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/node-process.ts', import.meta.url));

export interface NodeProcess {
  readonly nodeId: string;
  readonly child: ChildProcess;
  /** Everything the process wrote to stderr so far (for failure messages). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): void;
  /** SIGTERM and wait for exit (SIGKILL after the deadline). */
  stop(timeoutMs?: number): Promise<number | null>;
  exited: Promise<number | null>;
}

/** Start test/fixtures/node-process.ts as its own OS process and wait for its ready line. */
export async function startNodeProcess(natsUrl: string, nodeId: string, timeoutMs = 20_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...process.env, NATS_URL: natsUrl, NODE_ID: nodeId },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-20_000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`node ${nodeId} not ready within ${timeoutMs} ms; stderr:\n${err}`));
    }, timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('"ready":true')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`node ${nodeId} exited with ${code} before it was ready; stderr:\n${err}`));
    });
  });
  return {
    nodeId,
    child,
    exited,
    stderr: () => err,
    kill: (signal = 'SIGKILL') => void child.kill(signal),
    async stop(deadlineMs = 5_000) {
      await terminateProcess(child, exited, deadlineMs);
      return exited;
    },
  };
}
