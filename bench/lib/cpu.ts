/**
 * CPU time of this process and of child processes (Linux /proc), to tell which process a
 * measurement saturates. Elsewhere (no /proc) other processes read as undefined.
 */
import { readFileSync } from 'node:fs';

/** USER_HZ: clock ticks per second in /proc/<pid>/stat; 100 on every mainstream Linux. */
const CLK_TCK = 100;

/** User + system CPU milliseconds of a process, or undefined when it cannot be read. */
export function cpuMs(pid: number | 'self'): number | undefined {
  if (pid === 'self') {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces; fields after its closing ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(rest[11]);
    const stime = Number(rest[12]);
    if (!Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
    return ((utime + stime) * 1000) / CLK_TCK;
  } catch {
    return undefined;
  }
}

export type CpuSnapshot = Record<string, number | undefined>;

export function snapshot(pids: Record<string, number | 'self'>): CpuSnapshot {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, cpuMs(pid)]));
}

/** CPU ms used by each process between two snapshots. */
export function delta(a: CpuSnapshot, b: CpuSnapshot): CpuSnapshot {
  return Object.fromEntries(
    Object.keys(a).map((k) => [k, a[k] !== undefined && b[k] !== undefined ? b[k]! - a[k]! : undefined]),
  );
}
