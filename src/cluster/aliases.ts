/**
 * Index aliases, as Elasticsearch has them: a name that stands for one or more indices. Searches
 * through an alias search all its indices; writes and gets through it go to its only index or,
 * when it has several, to its write index. An `update_aliases` command applies a list of add and
 * remove actions as one change, so swapping an alias from an old index to a new one (the
 * zero-downtime reindex) is atomic: no search sees both or neither.
 */

export interface AliasMeta {
  /** Sorted, without repeats. */
  indices: string[];
  /** Where writes through the alias go when it has more than one index. */
  writeIndex?: string;
}

export type AliasAction = { add: { index: string; alias: string; is_write_index?: boolean } } | { remove: { index: string; alias: string } };

export type Aliases = Record<string, AliasMeta>;

/** Pure: the aliases after the actions, in order (actions naming a missing index are skipped, deterministically). */
export function applyAliasActions(aliases: Aliases, indexExists: (name: string) => boolean, actions: readonly AliasAction[]): Aliases {
  const out: Aliases = { ...aliases };
  for (const action of actions) {
    if ('add' in action) {
      const { index, alias, is_write_index: write } = action.add;
      if (!indexExists(index)) continue;
      const current = out[alias] ?? { indices: [] };
      const indices = current.indices.includes(index) ? current.indices : [...current.indices, index].sort();
      let writeIndex = current.writeIndex;
      if (write === true) writeIndex = index;
      else if (write === false && writeIndex === index) writeIndex = undefined;
      out[alias] = writeIndex === undefined ? { indices } : { indices, writeIndex };
    } else {
      const { index, alias } = action.remove;
      const current = out[alias];
      if (!current?.indices.includes(index)) continue;
      out[alias] = withoutIndex(current, index);
    }
  }
  return prune(out);
}

/** The aliases once `index` is deleted: it leaves every alias, and an alias left empty is gone. */
export function dropIndex(aliases: Aliases, index: string): Aliases {
  let changed = false;
  const out: Aliases = {};
  for (const [alias, meta] of Object.entries(aliases)) {
    if (meta.indices.includes(index)) {
      out[alias] = withoutIndex(meta, index);
      changed = true;
    } else out[alias] = meta;
  }
  return changed ? prune(out) : aliases;
}

function withoutIndex(meta: AliasMeta, index: string): AliasMeta {
  const indices = meta.indices.filter((i) => i !== index);
  return meta.writeIndex === undefined || meta.writeIndex === index ? { indices } : { indices, writeIndex: meta.writeIndex };
}

function prune(aliases: Aliases): Aliases {
  const out: Aliases = {};
  for (const [alias, meta] of Object.entries(aliases)) if (meta.indices.length > 0) out[alias] = meta;
  return out;
}

/** The index a write (or get) through `alias` goes to, or why there is none. */
export function writeIndexOf(meta: AliasMeta): { index: string } | { error: string } {
  if (meta.indices.length === 1) return { index: meta.indices[0]! };
  if (meta.writeIndex !== undefined) return { index: meta.writeIndex };
  return { error: `no write index is defined for an alias with more than one index [${meta.indices.join(', ')}]` };
}

export function isAliasActions(v: unknown): v is AliasAction[] {
  return (
    Array.isArray(v) &&
    v.every((a) => {
      if (typeof a !== 'object' || a === null) return false;
      const body = (a as Record<string, unknown>).add ?? (a as Record<string, unknown>).remove;
      if (typeof body !== 'object' || body === null) return false;
      const b = body as Record<string, unknown>;
      return typeof b.index === 'string' && typeof b.alias === 'string' && (b.is_write_index === undefined || typeof b.is_write_index === 'boolean');
    })
  );
}
