import type { Mappings } from '../engine/mapping.ts';
import { timeValueMs } from '../engine/time-value.ts';

/** Index metadata as the cluster state holds it (Elasticsearch's names where they exist). */
export interface IndexSettings {
  number_of_shards: number;
  number_of_replicas: number;
  /** Refresh interval in ms; -1 = explicit refresh only. */
  refresh_interval_ms: number;
  /** How long a replica whose node left waits for that node before it is rebuilt elsewhere. */
  delayed_timeout_ms: number;
  analysis?: { analyzer?: Record<string, unknown>; filter?: Record<string, unknown> };
  /** `index.blocks.*`: a write block refuses writes; read_only refuses mapping changes too. */
  blocks?: { write?: boolean; read_only?: boolean };
  /** `index.max_ngram_diff` / `index.max_shingle_diff`, when given: limits analysis definitions are checked against. */
  max_ngram_diff?: number;
  max_shingle_diff?: number;
}

/** What the engine's analysis needs of an index's settings. */
export function analysisSettingsOf(settings: IndexSettings): { analysis?: IndexSettings['analysis']; max_ngram_diff?: number; max_shingle_diff?: number } {
  return { analysis: settings.analysis, max_ngram_diff: settings.max_ngram_diff, max_shingle_diff: settings.max_shingle_diff };
}

export interface IndexMeta {
  name: string;
  /** Identifies this incarnation of the name: data directories are keyed by it. */
  uuid: string;
  settings: IndexSettings;
  mappings: Mappings;
  /**
   * The cluster state version that last changed `mappings` (absent: none since the index was
   * created). A write carries it, so a copy that has not merged those mappings yet waits for them.
   */
  mappingVersion?: number;
  state: 'open' | 'close';
}

export type CopyState = 'INITIALIZING' | 'STARTED' | 'RELOCATING';

/** One copy of a shard on one node. */
export interface ShardCopy {
  allocationId: string;
  node: string;
  primary: boolean;
  state: CopyState;
  /** A RELOCATING copy: the allocation id of the copy replacing it. */
  relocatingTo?: string;
  /** An INITIALIZING copy that replaces this (RELOCATING) allocation id once it has started. */
  relocatingFrom?: string;
}

/** The routing table of one shard. */
export interface ShardTable {
  /** Bumped on every primary change: a write of an older term is fenced. */
  primaryTerm: number;
  copies: ShardCopy[];
  /** Allocation ids of the copies that have every acknowledged write. */
  inSync: string[];
  /** Replicas whose node left wait until this time (ms) before they are rebuilt elsewhere. */
  delayedUntil?: number;
  /** The node the delayed replica was on: if it comes back, the replica goes back there. */
  delayedNode?: string;
  /** All copies were lost: only a node that held an in-sync copy may bring the primary back. */
  lostInSyncNodes?: string[];
}

export const DEFAULT_DELAYED_TIMEOUT_MS = 60_000;
export const MAX_SHARDS = 1024;
export const MAX_REPLICAS = 16;

export class SettingsError extends Error {
  constructor(
    readonly type: string,
    reason: string,
  ) {
    super(reason);
  }
}

const INDEX_NAME = /^[a-z0-9][a-z0-9_.+-]{0,254}$/;

export function validateIndexName(name: unknown): string {
  if (typeof name !== 'string' || !INDEX_NAME.test(name) || name === '.' || name === '..') {
    throw new SettingsError(
      'invalid_index_name_exception',
      `Invalid index name [${String(name)}], must be lowercase, start with a letter or digit, and contain only [a-z0-9_.+-]`,
    );
  }
  return name;
}

/** Accepts `{number_of_shards}` or `{index: {number_of_shards}}`, numbers or numeric strings. */
export function parseIndexSettings(raw: unknown): IndexSettings {
  if (raw !== undefined && (typeof raw !== 'object' || raw === null || Array.isArray(raw))) {
    throw new SettingsError('illegal_argument_exception', 'settings must be an object');
  }
  const top = (raw ?? {}) as Record<string, unknown>;
  const s = (typeof top.index === 'object' && top.index !== null ? { ...top, ...(top.index as object) } : top) as Record<string, unknown>;
  const known = new Set(['index', 'number_of_shards', 'number_of_replicas', 'refresh_interval', 'refresh_interval_ms', 'analysis', 'unassigned', 'delayed_timeout_ms', 'blocks', 'max_ngram_diff', 'max_shingle_diff']);
  for (const key of Object.keys(s)) {
    if (!known.has(key)) throw new SettingsError('illegal_argument_exception', `unknown setting [index.${key}]`);
  }
  const shards = intSetting(s.number_of_shards, 'number_of_shards', 1, 1, MAX_SHARDS);
  const replicas = intSetting(s.number_of_replicas, 'number_of_replicas', 1, 0, MAX_REPLICAS);
  const refresh = s.refresh_interval_ms !== undefined ? intSetting(s.refresh_interval_ms, 'refresh_interval_ms', 1000, -1, 3_600_000) : parseDuration(s.refresh_interval, 1000);
  const unassigned = (s.unassigned ?? {}) as Record<string, unknown>;
  const delayRaw = s.delayed_timeout_ms ?? (unassigned.node_left as Record<string, unknown> | undefined)?.delayed_timeout;
  const delay = typeof delayRaw === 'number' ? intSetting(delayRaw, 'delayed_timeout_ms', DEFAULT_DELAYED_TIMEOUT_MS, 0, 86_400_000) : parseDuration(delayRaw, DEFAULT_DELAYED_TIMEOUT_MS);
  const settings: IndexSettings = { number_of_shards: shards, number_of_replicas: replicas, refresh_interval_ms: refresh, delayed_timeout_ms: delay };
  if (s.blocks !== undefined) {
    const b = s.blocks as Record<string, unknown>;
    if (typeof b !== 'object' || b === null || Object.keys(b).some((k) => k !== 'write' && k !== 'read_only') || Object.values(b).some((v) => typeof v !== 'boolean')) {
      throw new SettingsError('illegal_argument_exception', '[index.blocks] takes write and read_only, as booleans');
    }
    const blocks = Object.fromEntries(Object.entries(b).filter(([, v]) => v === true));
    if (Object.keys(blocks).length > 0) settings.blocks = blocks;
  }
  if (s.max_ngram_diff !== undefined) settings.max_ngram_diff = intSetting(s.max_ngram_diff, 'max_ngram_diff', 1, 0, 1_000_000);
  if (s.max_shingle_diff !== undefined) settings.max_shingle_diff = intSetting(s.max_shingle_diff, 'max_shingle_diff', 3, 0, 1_000_000);
  if (s.analysis !== undefined) {
    if (typeof s.analysis !== 'object' || s.analysis === null) throw new SettingsError('illegal_argument_exception', 'analysis must be an object');
    settings.analysis = s.analysis as IndexSettings['analysis'];
  }
  return settings;
}

function intSetting(v: unknown, name: string, dflt: number, min: number, max: number): number {
  if (v === undefined) return dflt;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    throw new SettingsError('illegal_argument_exception', `Failed to parse value [${String(v)}] for setting [index.${name}], must be an integer in [${min}, ${max}]`);
  }
  return n;
}

/** "1s", "500ms", "2m" (Elasticsearch's time units), a number of ms, -1 → milliseconds. */
export function parseDuration(v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  if (v === -1 || v === '-1') return -1;
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return Math.round(v);
  const ms = typeof v === 'string' ? timeValueMs(v) : undefined;
  if (ms === undefined) throw new SettingsError('illegal_argument_exception', `failed to parse time value [${String(v)}]`);
  return Math.round(ms);
}
