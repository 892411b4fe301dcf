import { flattenSettings } from './cluster-settings.ts';
import { parseDuration, parseIndexSettings, SettingsError, type IndexSettings } from './metadata.ts';

/**
 * Elasticsearch's update-index-settings, for the settings that may change on a live index:
 * replicas, refresh interval, the delay before a lost replica is rebuilt, and the write blocks.
 * Static ones (shards, analysis) are refused as Elasticsearch refuses them on an open index.
 */
const DYNAMIC = new Set(['number_of_replicas', 'refresh_interval', 'unassigned.node_left.delayed_timeout', 'blocks.write', 'blocks.read_only']);
const STATIC = /^(number_of_shards|analysis(\..*)?|max_ngram_diff|max_shingle_diff)$/;

function illegal(reason: string): never {
  throw new SettingsError('illegal_argument_exception', reason);
}

/** The index's settings after `update` (flat names or nested, with or without the `index.` prefix; null resets). */
export function updateIndexSettings(index: string, current: IndexSettings, update: unknown): IndexSettings {
  const flat = flattenSettings(update);
  const next: IndexSettings = { ...current, ...(current.blocks ? { blocks: { ...current.blocks } } : {}) };
  const defaults = parseIndexSettings({});
  for (const [raw, value] of Object.entries(flat)) {
    const key = raw.startsWith('index.') ? raw.slice('index.'.length) : raw;
    if (STATIC.test(key)) illegal(`Can't update non dynamic settings [[index.${key}]] for open indices [[${index}]]`);
    if (!DYNAMIC.has(key)) illegal(`unknown setting [index.${key}]: the settings that can change are ${[...DYNAMIC].map((k) => `index.${k}`).join(', ')}`);
    switch (key) {
      case 'number_of_replicas':
        next.number_of_replicas = value === null ? defaults.number_of_replicas : parseIndexSettings({ number_of_replicas: value }).number_of_replicas;
        break;
      case 'refresh_interval':
        next.refresh_interval_ms = value === null ? defaults.refresh_interval_ms : parseDuration(value, defaults.refresh_interval_ms);
        break;
      case 'unassigned.node_left.delayed_timeout':
        next.delayed_timeout_ms = value === null ? defaults.delayed_timeout_ms : parseDuration(value, defaults.delayed_timeout_ms);
        break;
      case 'blocks.write':
      case 'blocks.read_only': {
        const name = key === 'blocks.write' ? 'write' : 'read_only';
        const on = value === null ? false : booleanSetting(value, `index.${key}`);
        const blocks = { ...next.blocks, [name]: on };
        if (!on) delete blocks[name];
        if (Object.keys(blocks).length > 0) next.blocks = blocks;
        else delete next.blocks;
        break;
      }
    }
  }
  return next;
}

function booleanSetting(v: unknown, name: string): boolean {
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return illegal(`Failed to parse value [${String(v)}] for setting [${name}]: only [true] or [false] are allowed`);
}

/** The settings as Elasticsearch's get-settings shows them: under `index`, values as strings. */
export function indexSettingsView(uuid: string, s: IndexSettings): Record<string, unknown> {
  const view: Record<string, unknown> = {
    uuid,
    number_of_shards: String(s.number_of_shards),
    number_of_replicas: String(s.number_of_replicas),
    refresh_interval: s.refresh_interval_ms < 0 ? '-1' : `${s.refresh_interval_ms}ms`,
    unassigned: { node_left: { delayed_timeout: `${s.delayed_timeout_ms}ms` } },
  };
  if (s.blocks) view.blocks = Object.fromEntries(Object.entries(s.blocks).map(([k, v]) => [k, String(v)]));
  if (s.analysis) view.analysis = s.analysis;
  return { index: view };
}

/** Why a change to the index's mappings or settings is refused (its read-only block), or undefined. */
export function readOnlyBlock(index: string, s: IndexSettings): string | undefined {
  return s.blocks?.read_only ? `index [${index}] blocked by: [FORBIDDEN/5/index read-only (api)];` : undefined;
}

/** Why a write to the index is refused (a block), or undefined. */
export function writeBlock(index: string, s: IndexSettings): string | undefined {
  return readOnlyBlock(index, s) ?? (s.blocks?.write ? `index [${index}] blocked by: [FORBIDDEN/8/index write (api)];` : undefined);
}
