import { spawn, spawnSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { ActorSystem } from '../../src/runtime/actor-system.ts';

it('`shoal up` starts a NATS server and N nodes that answer, and Ctrl-C stops them all', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'up', '--nodes', '2'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SHOAL_LOG_LEVEL: 'warn' },
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  try {
    const deadline = Date.now() + 30_000;
    while (!out.includes('nodes up')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`shoal up did not come up:\n${out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /nats-server at (nats:\/\/\S+)/.exec(out)![1]!;
    const client = await ActorSystem.start({ nodeId: 'client', nats: { servers: url }, logLevel: 'silent' });
    try {
      for (const node of ['n1', 'n2']) {
        const echo = await client.spawnRemote(node, 'echo');
        expect(await echo.ask(`hello ${node}`)).toBe(`hello ${node}`);
      }
    } finally {
      await client.shutdown();
    }
    // The operator's view: master, members and roles.
    const status = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'status', '--nats', url, '--json'], { encoding: 'utf8', timeout: 20_000 });
    expect(status.status, status.stderr).toBe(0);
    const view = JSON.parse(status.stdout.trim().split('\n').pop()!) as { master: { id: string }; nodes: { id: string; roles: string[] }[] };
    expect(view.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2']);
    expect(['n1', 'n2']).toContain(view.master.id);
    expect(view.nodes.every((n) => n.roles.includes('master'))).toBe(true);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(out).toContain('shoal up: stopping');
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}, 60_000);
