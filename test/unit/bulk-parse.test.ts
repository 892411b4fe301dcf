import { describe, expect, it } from 'vitest';
import { parseBulk } from '../../src/data/api.ts';

const rejection = (operations: unknown, index: unknown = 'books') => {
  try {
    parseBulk(operations, index);
    return undefined;
  } catch (err) {
    return { type: (err as { type?: string }).type, status: (err as { status?: number }).status, reason: (err as Error).message };
  }
};

describe('bulk request parsing', () => {
  it('reads action lines and their documents', () => {
    const items = parseBulk(
      [{ index: { _id: 1, routing: 'r' } }, { a: 1 }, { create: { _index: 'other' } }, { b: 2 }, { update: { _id: 'u', if_seq_no: 3, if_primary_term: 1 } }, { doc: { c: 3 }, doc_as_upsert: true }, { delete: { _id: 'd' } }],
      'books',
    );
    expect(items).toEqual([
      { action: 'index', index: 'books', id: '1', routing: 'r', source: { a: 1 } },
      { action: 'create', index: 'other', source: { b: 2 } },
      { action: 'update', index: 'books', id: 'u', if_seq_no: 3, if_primary_term: 1, doc: { c: 3 }, upsert: undefined, doc_as_upsert: true },
      { action: 'delete', index: 'books', id: 'd' },
    ]);
  });

  it('reads scripted updates: script and scripted_upsert go on with the upsert document', () => {
    const script = { source: 'ctx._source.n += params.k', params: { k: 1 } };
    expect(parseBulk([{ update: { _id: 'u' } }, { script, upsert: { n: 0 }, scripted_upsert: true }], 'books')).toEqual([
      { action: 'update', index: 'books', id: 'u', doc: undefined, upsert: { n: 0 }, doc_as_upsert: false, script, scripted_upsert: true },
    ]);
    expect(parseBulk([{ update: { _id: 'u' } }, { script: 'ctx.op = "noop"' }], 'books')[0]).toMatchObject({ script: 'ctx.op = "noop"', scripted_upsert: false });
  });

  it.each([
    ['a misspelt header key', [{ index: { _idx: 'a' } }, {}], 'unknown key [_idx]'],
    ['retry_on_conflict (not supported)', [{ update: { _id: 'a', retry_on_conflict: 3 } }, { doc: {} }], 'unknown key [retry_on_conflict]'],
    ['an if_seq_no that is a string', [{ index: { _id: 'a', if_seq_no: '3' } }, {}], 'if_seq_no'],
    ['an if_primary_term of 0', [{ delete: { _id: 'a', if_primary_term: 0 } }], 'if_primary_term'],
    ['an _id that is an object', [{ index: { _id: {} } }, {}], '[_id]'],
    ['an empty routing', [{ index: { routing: '' } }, {}], '[routing]'],
    ['a misspelt update key', [{ update: { _id: 'a' } }, { dco: {} }], 'unknown key [dco]'],
    ['an update without doc, script or upsert', [{ update: { _id: 'a' } }, { doc_as_upsert: true }], 'needs [doc], [script] or [upsert]'],
    ['an update with both doc and script', [{ update: { _id: 'a' } }, { doc: {}, script: 'ctx._source.a = 1' }], "can't provide both script and doc"],
    ['a script with doc_as_upsert', [{ update: { _id: 'a' } }, { script: 'ctx._source.a = 1', doc_as_upsert: true }], 'doc must be specified if doc_as_upsert is enabled'],
    ['a scripted_upsert that is a string', [{ update: { _id: 'a' } }, { script: 'ctx._source.a = 1', scripted_upsert: 'yes' }], 'scripted_upsert'],
    ['a script that does not compile', [{ update: { _id: 'a' } }, { script: 'ctx._source.a = doc' }], 'compile error: cannot resolve symbol [doc]'],
    ['a script with an unknown key', [{ update: { _id: 'a' } }, { script: { source: '1', parms: {} } }], 'unknown field [parms]'],
    ['an update doc that is an array', [{ update: { _id: 'a' } }, { doc: [1] }], '[doc] of the update of bulk line 1 must be a JSON object'],
    ['a doc_as_upsert that is a string', [{ update: { _id: 'a' } }, { doc: {}, doc_as_upsert: 'yes' }], 'doc_as_upsert'],
    ['a missing document line', [{ index: { _id: 'a' } }], 'document object'],
    ['an unknown action', [{ upsert: { _id: 'a' } }, {}], 'expected one of'],
    ['a delete without an id', [{ delete: {} }], 'needs an [_id]'],
  ])('rejects %s as a whole with a 400 that names it', (_name, operations, reason) => {
    const err = rejection(operations);
    expect(err).toMatchObject({ status: 400 });
    expect(err!.reason).toContain(reason);
  });
});
