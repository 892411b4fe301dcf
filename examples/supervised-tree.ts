/**
 * A supervised tree across two nodes, each its own OS process with its own NATS connection.
 *
 *   npx tsx examples/supervised-tree.ts
 *
 * - alpha (this process) uses NATS at $NATS_URL, or starts a private nats-server;
 * - it starts beta by re-running this file with `--node beta` (a child process) and waits for
 *   beta's ready line;
 * - beta registers the kind `worker-pool`: a one_for_one supervisor over three xstate workers;
 * - alpha spawns a pool on beta, watches it, sends jobs, crashes worker-2, waits until the
 *   supervisor has restarted it, shows that it answers again with fresh state, and shuts down.
 *
 * Output is plain lines on stdout (beta's are forwarded by alpha). Runtime logs (pino) go to
 * stderr and are off unless SHOAL_LOG_LEVEL is set (e.g. SHOAL_LOG_LEVEL=info).
 * Exit code 0 on success; 1 on any failure or after a 20 s overall deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { assign, setup } from 'xstate';
import { actions, ActorSystem, supervisor, type ActorRef, type ChildInfo } from '../src/index.ts';
import { startNatsServer, type NatsServerHandle } from '../src/testing/nats-server.ts';
import { until } from './connect.ts';

const DEADLINE_MS = 20_000;
const POOL_KIND = 'worker-pool';
const WORKERS = 3;
const VICTIM = 'worker-2';

/** Runtime logs: JSON on stderr, silent unless asked for, so stdout stays readable. */
const logger = pino({ level: process.env.SHOAL_LOG_LEVEL ?? 'silent' }, pino.destination(2));

// ---- the tree that lives on beta -------------------------------------------------------------

interface Job {
  type: 'job';
  id: number;
}
interface JobDone {
  worker: string;
  job: number;
  /** Jobs this incarnation of the worker has done, including this one. */
  jobsDone: number;
}

/** A worker: counts the jobs it has done and answers each job ask via the `reply` action. */
const workerMachine = setup({
  types: {
    context: {} as { name: string; jobsDone: number },
    input: {} as { name: string },
    events: {} as Job | { type: 'crash' },
  },
  actions: {
    crash: ({ context }) => {
      throw new Error(`${context.name} was told to crash`);
    },
  },
}).createMachine({
  id: 'worker',
  context: ({ input }) => ({ name: input.name, jobsDone: 0 }),
  on: {
    job: {
      actions: [
        assign({ jobsDone: ({ context }) => context.jobsDone + 1 }),
        actions.reply(({ context, event }): JobDone => ({ worker: context.name, job: (event as Job).id, jobsDone: context.jobsDone })),
      ],
    },
    // An error thrown in an action fails the actor: its supervisor decides what happens next.
    crash: { actions: 'crash' },
  },
});

/** The `worker-pool` kind: one_for_one supervisor; a crashed worker restarts alone, with fresh state. */
function workerPool(input: unknown) {
  const workers = (input as { workers?: number } | undefined)?.workers ?? WORKERS;
  const starts = new Map<string, number>();
  return supervisor({
    strategy: 'one_for_one',
    maxRestarts: 3,
    periodMs: 5_000,
    children: Array.from({ length: workers }, (_, i) => {
      const id = `worker-${i + 1}`;
      return {
        id,
        restart: 'permanent' as const,
        input: { name: id },
        // Called at every (re)start of the worker.
        start: () => {
          const n = (starts.get(id) ?? 0) + 1;
          starts.set(id, n);
          say('beta', `${id} started${n > 1 ? ` again (start #${n})` : ''}`);
          return workerMachine;
        },
      };
    }),
  });
}

// ---- helpers -------------------------------------------------------------------------------------

function say(node: string, line: string): void {
  process.stdout.write(`${node}: ${line}\n`);
}

function natsUrl(): string | undefined {
  return process.env.NATS_URL || undefined;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

// ---- beta: the node that hosts the tree -------------------------------------------------------------

async function runBeta(): Promise<void> {
  const url = natsUrl();
  if (!url) throw new Error('beta needs NATS_URL');
  const system = await ActorSystem.start({
    nodeId: 'beta',
    nats: { servers: url },
    logger,
    kinds: { [POOL_KIND]: workerPool },
  });
  let stopping = false;
  const stop = async (why: string) => {
    if (stopping) return;
    stopping = true;
    say('beta', `shutting down (${why})`);
    await system.shutdown();
    say('beta', 'stopped');
    // Nothing else holds the event loop: the process exits on its own, with code 0.
    process.stdin.destroy();
  };
  // alpha closes our stdin to ask for a graceful shutdown (and if alpha dies, the pipe closes too).
  process.stdin.on('end', () => void stop('stdin closed'));
  process.stdin.resume();
  for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => void stop(sig));
  say('beta', `ready (pid ${process.pid}, kinds: ${POOL_KIND})`);
}

// ---- alpha: the node that drives the demo ---------------------------------------------------------

interface Beta {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start beta as a separate process: this file again, with `--node beta`. */
async function startBeta(url: string): Promise<Beta> {
  const self = fileURLToPath(import.meta.url);
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), self, '--node', 'beta'], {
    env: { ...process.env, NATS_URL: url },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  let ready!: () => void;
  const readyLine = new Promise<void>((r) => (ready = r));
  // Forward beta's lines to our stdout; its ready line is the go-ahead.
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    if (line.startsWith('beta: ready')) ready();
  });
  const outcome = await Promise.race([
    readyLine.then(() => 'ready' as const),
    exited.then((e) => `exited early (code ${e.code}, signal ${e.signal})`),
    new Promise<string>((r) => setTimeout(() => r('not ready within 10 s'), 10_000).unref()),
  ]);
  if (outcome !== 'ready') {
    child.kill('SIGKILL');
    throw new Error(`beta ${outcome}`);
  }
  return { child, exited };
}

function printTree(pool: ActorRef, children: ChildInfo[]): void {
  say('alpha', `tree on ${pool.node}: ${pool.id} (supervisor, one_for_one)`);
  children.forEach((c, i) => {
    const branch = i === children.length - 1 ? '└─' : '├─';
    say('alpha', `  ${branch} ${c.id}  ${c.status}  restarts=${c.restarts}`);
  });
}

async function runAlpha(): Promise<void> {
  let nats: NatsServerHandle | undefined;
  let beta: Beta | undefined;
  let alpha: ActorSystem | undefined;
  let finished = false;

  const fail = (err: unknown) => {
    if (finished) return;
    finished = true;
    process.stderr.write(`supervised-tree: FAILED: ${describeError(err)}\n`);
    beta?.child.kill('SIGKILL');
    alpha?.halt();
    // The nats harness kills its server on exit.
    process.exit(1);
  };
  const deadline = setTimeout(() => fail(new Error(`overall deadline of ${DEADLINE_MS / 1000} s exceeded`)), DEADLINE_MS);
  deadline.unref();

  try {
    let url = natsUrl();
    if (url) {
      say('alpha', `using NATS at ${url}`);
    } else {
      nats = await startNatsServer();
      url = nats.url;
      say('alpha', `started nats-server at ${url} (set NATS_URL to use your own)`);
    }

    beta = await startBeta(url);
    say('alpha', `beta runs as a separate process (pid ${beta.child.pid}); alpha is pid ${process.pid}`);
    let stoppingBeta = false;
    const betaGone = beta.exited.then((e) => {
      if (!stoppingBeta) fail(new Error(`beta exited unexpectedly (code ${e.code}, signal ${e.signal})`));
    });

    alpha = await ActorSystem.start({ nodeId: 'alpha', nats: { servers: url }, logger });
    say('alpha', 'node alpha is up');

    // Spawn the tree on beta; the reply comes once the supervisor and its workers have started.
    const pool = await alpha.spawnRemote('beta', POOL_KIND, { name: 'pool', input: { workers: WORKERS } });
    say('alpha', `spawned ${POOL_KIND} on beta: ${pool.id}`);

    let poolTerminated: string | undefined;
    alpha.watch(pool, (_ref, reason) => {
      poolTerminated = reason;
      say('alpha', `watch: ${pool.name} on beta terminated (${reason})`);
    });

    const whichChildren = () => pool.ask<ChildInfo[]>({ type: 'which_children' });
    const children = await whichChildren();
    printTree(pool, children);
    const workerRef = (id: string) => {
      const info = children.find((c) => c.id === id);
      if (!info) throw new Error(`no ${id} in the tree`);
      return alpha!.ref(info.ref);
    };

    // Some jobs, round-robin, by ask: each worker answers from its xstate machine.
    const jobsBefore: Record<string, number> = {};
    for (let job = 1; job <= 6; job++) {
      const id = `worker-${((job - 1) % WORKERS) + 1}`;
      const done = await workerRef(id).ask<JobDone>({ type: 'job', id: job } satisfies Job);
      jobsBefore[id] = done.jobsDone;
      say('alpha', `job ${job} -> ${done.worker}: done (${done.worker} has done ${done.jobsDone})`);
    }

    // Crash one worker: its machine throws in an action, a failure for its supervisor.
    say('alpha', `killing ${VICTIM}: tell {type: 'crash'} (its machine throws)`);
    workerRef(VICTIM).tell({ type: 'crash' });

    const restarted = await until(async () => {
      const info = (await whichChildren()).find((c) => c.id === VICTIM);
      return info && info.restarts >= 1 && info.status === 'running' ? info : undefined;
    }, `the supervisor to restart ${VICTIM}`, 5_000);
    say('alpha', `restarted: ${restarted.id} (restarts=${restarted.restarts})`);

    // Same ref, new incarnation: the job count starts from zero.
    const again = await workerRef(VICTIM).ask<JobDone>({ type: 'job', id: 7 } satisfies Job);
    say('alpha', `job 7 -> ${again.worker}: done (${again.worker} has done ${again.jobsDone}; before the crash: ${jobsBefore[VICTIM]})`);
    if (again.jobsDone !== 1) throw new Error(`${VICTIM} should answer with fresh state (jobsDone=1), got ${again.jobsDone}`);
    say('alpha', `${VICTIM} answers again with fresh state: jobsDone=${again.jobsDone}`);

    // one_for_one: the siblings kept running and kept their state.
    const sibling = await workerRef('worker-1').ask<JobDone>({ type: 'job', id: 8 } satisfies Job);
    if (sibling.jobsDone !== jobsBefore['worker-1']! + 1) throw new Error(`worker-1 lost its state: ${JSON.stringify(sibling)}`);
    say('alpha', `job 8 -> worker-1: done (worker-1 has done ${sibling.jobsDone}: one_for_one left it alone)`);

    printTree(pool, await whichChildren());
    if (poolTerminated !== undefined) throw new Error(`the pool itself terminated (${poolTerminated})`);
    say('alpha', 'the pool itself never stopped: the watch has not fired');

    // Graceful shutdown: beta first (the watch reports the pool's end), then alpha, then NATS.
    say('alpha', 'asking beta to shut down');
    stoppingBeta = true;
    beta.child.stdin!.end();
    await until(() => poolTerminated, 'the watch on the pool to fire', 5_000);
    const exit = await beta.exited;
    await betaGone;
    if (exit.code !== 0) throw new Error(`beta exited with code ${exit.code} (signal ${exit.signal})`);
    say('alpha', 'beta exited with code 0');

    await alpha.shutdown();
    say('alpha', 'node alpha stopped');
    if (nats) {
      await nats.stop();
      say('alpha', 'nats-server stopped');
    }
    finished = true;
    clearTimeout(deadline);
    say('alpha', 'done');
  } catch (err) {
    fail(err);
  }
}

// ---- entry point -----------------------------------------------------------------------------------

const nodeArg = process.argv.indexOf('--node');
const role = nodeArg >= 0 ? process.argv[nodeArg + 1] : 'alpha';
if (role === 'beta') {
  runBeta().catch((err: unknown) => {
    process.stderr.write(`supervised-tree (beta): FAILED: ${describeError(err)}\n`);
    process.exit(1);
  });
} else if (role === 'alpha') {
  void runAlpha();
} else {
  process.stderr.write(`unknown --node ${role}; use alpha (default) or beta\n`);
  process.exit(2);
}
