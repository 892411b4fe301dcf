import type { ChildProcess } from 'node:child_process';

/**
 * Stop a child process: SIGTERM, then SIGKILL if it has not exited within `graceMs`.
 * Resolves once it has exited. `exited` must be a promise that settles on the child's 'exit'.
 */
export async function terminateProcess(child: ChildProcess, exited: Promise<unknown>, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  signal(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      signal(child, 'SIGKILL');
      resolve();
    }, graceMs);
  });
  await Promise.race([exited, grace]);
  clearTimeout(timer);
  await exited;
}

function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    child.kill(sig);
  } catch {
    // already gone
  }
}
