import { FILTER_KINDS, FILTER_PREFIX, settingName, type AllocationFilters, type FilterKind } from './allocation-filters.ts';
import type { ClusterState } from './cluster-state.ts';
import { SettingsError } from './metadata.ts';

/**
 * The cluster settings API's side of the allocation settings: Elasticsearch's setting names
 * (flat `a.b.c` keys or nested objects) to and from the cluster state's `settings`. Unknown
 * names and bad values are refused with a reason, and nothing changes.
 */
export const AWARENESS_SETTING = `${FILTER_PREFIX}awareness.attributes`;
const FILTER_SETTING = /^cluster\.routing\.allocation\.(require|include|exclude)\.([^.]+)$/;

type Settings = ClusterState['settings'];

/** `{cluster: {routing: {...}}}` and `{"cluster.routing....": v}` alike, as flat keys. */
export function flattenSettings(v: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new SettingsError('illegal_argument_exception', 'settings must be an object');
  for (const [k, x] of Object.entries(v)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof x === 'object' && x !== null && !Array.isArray(x)) flattenSettings(x, key, out);
    else out[key] = x;
  }
  return out;
}

/** The settings after an update of flat keys (null removes a setting). */
export function updateSettings(current: Settings, update: Record<string, unknown>): Settings {
  let awareness = current.awareness;
  const filters: AllocationFilters = structuredClone(current.allocation ?? {});
  for (const [key, value] of Object.entries(update)) {
    if (key === AWARENESS_SETTING) {
      if (value !== null && typeof value !== 'string') throw new SettingsError('illegal_argument_exception', `[${key}] must be a string or null`);
      const attrs = value === null ? [] : splitValues(value);
      if (attrs.length > 1) throw new SettingsError('illegal_argument_exception', `[${key}]: one awareness attribute is supported, got [${value}]`);
      awareness = attrs[0];
      continue;
    }
    const m = FILTER_SETTING.exec(key);
    if (!m) throw new SettingsError('illegal_argument_exception', `persistent setting [${key}], not recognized (supported: ${AWARENESS_SETTING}, ${FILTER_PREFIX}{require,include,exclude}.{_name,_id,<attribute>})`);
    const kind = m[1] as FilterKind;
    const attr = m[2]!;
    if (value !== null && typeof value !== 'string' && !(Array.isArray(value) && value.every((x) => typeof x === 'string'))) {
      throw new SettingsError('illegal_argument_exception', `[${key}] must be a comma-separated string, a list of strings, or null`);
    }
    const values = value === null ? [] : Array.isArray(value) ? value.flatMap(splitValues) : splitValues(value);
    const attrs = { ...(filters[kind] ?? {}) };
    if (values.length === 0) delete attrs[attr];
    else attrs[attr] = values;
    filters[kind] = attrs;
  }
  return { ...(awareness ? { awareness } : {}), allocation: filters };
}

/** The settings as flat keys with string values (what the get-settings API answers). */
export function settingsAsFlat(settings: Settings): Record<string, string> {
  const out: Record<string, string> = {};
  if (settings.awareness) out[AWARENESS_SETTING] = settings.awareness;
  for (const kind of FILTER_KINDS) {
    for (const [attr, values] of Object.entries(settings.allocation?.[kind] ?? {})) out[settingName(kind, attr)] = values.join(',');
  }
  return out;
}

function splitValues(s: string): string[] {
  return s
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
