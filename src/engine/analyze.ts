/**
 * Elasticsearch's `_analyze`: the tokens an analyzer makes of a text, to see what a field indexes
 * or what a custom chain does before an index uses it. The analyzer is named (`analyzer`), a
 * field's (`field`), or built for the request (`tokenizer`, `filter`, `char_filter`), resolved
 * against the index's analysis settings when there is an index, else the built-ins.
 */
import { AnalyzerRegistry, type AnalysisSettings } from './analysis/index.ts';
import type { MappingRegistry } from './mapping.ts';
import { EngineError, isPlainObject, type Analyzer } from './types.ts';

export interface AnalyzedToken {
  token: string;
  start_offset: number;
  end_offset: number;
  position: number;
  /** How many positions a token of a graph spans (a synonym, a joined word part), when more than one. */
  positionLength?: number;
}

/** Elasticsearch's index.analyze.max_token_count default. */
export const MAX_ANALYZED_TOKENS = 10_000;
/** Between the values of an array: text fields' position_increment_gap, and an offset gap of 1. */
const POSITION_GAP = 100;
const OFFSET_GAP = 1;
const KEYS = new Set(['text', 'analyzer', 'field', 'tokenizer', 'filter', 'char_filter', 'explain', 'attributes']);
/** The name the request's own chain gets among the index's analyzers. */
const AD_HOC = '_analyze_request_';

function illegal(reason: string): never {
  throw new EngineError('illegal_argument_exception', reason);
}

/** The tokens of `body.text` (a string or a list of them). `index`: the index's analysis settings and mappings. */
export function analyzeRequest(body: unknown, index?: { settings: AnalysisSettings; mappings: MappingRegistry }): { tokens: AnalyzedToken[] } {
  if (!isPlainObject(body)) illegal('the analyze request must be an object');
  for (const k in body) if (!KEYS.has(k)) illegal(`unknown key [${k}] in the analyze request; known: ${[...KEYS].join(', ')}`);
  if (body.explain === true) illegal('[explain] is not supported by _analyze here');
  if (body.attributes !== undefined) illegal('[attributes] needs [explain], which is not supported');
  const texts = typeof body.text === 'string' ? [body.text] : body.text;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) illegal('[text] must be a string or a non-empty list of strings');
  const analyzer = analyzerOf(body, index);
  const tokens: AnalyzedToken[] = [];
  let positionBase = 0;
  let offsetBase = 0;
  for (const text of texts as string[]) {
    let last = -1;
    for (const t of analyzer.analyze(text)) {
      if (tokens.length >= MAX_ANALYZED_TOKENS) illegal(`The number of tokens produced by calling _analyze has exceeded the allowed maximum of [${MAX_ANALYZED_TOKENS}]. This limit can be set by changing the [index.analyze.max_token_count] index level setting.`);
      const token: AnalyzedToken = { token: t.term, start_offset: offsetBase + t.startOffset, end_offset: offsetBase + t.endOffset, position: positionBase + t.position };
      if (t.positionLength !== undefined && t.positionLength > 1) token.positionLength = t.positionLength;
      tokens.push(token);
      last = Math.max(last, t.position);
    }
    positionBase += last + 1 + POSITION_GAP;
    offsetBase += text.length + OFFSET_GAP;
  }
  return { tokens };
}

function analyzerOf(body: Record<string, unknown>, index: { settings: AnalysisSettings; mappings: MappingRegistry } | undefined): Analyzer {
  const chain = body.tokenizer !== undefined || body.filter !== undefined || body.char_filter !== undefined;
  const ways = [body.analyzer !== undefined, body.field !== undefined, chain].filter(Boolean).length;
  if (ways > 1) illegal('give one of [analyzer], [field], or [tokenizer] with [filter] and [char_filter]');
  if (chain) {
    if (body.tokenizer === undefined) illegal('[filter] and [char_filter] need a [tokenizer]');
    const own = { type: 'custom', tokenizer: body.tokenizer, ...(body.filter !== undefined ? { filter: body.filter } : {}), ...(body.char_filter !== undefined ? { char_filter: body.char_filter } : {}) };
    const analysis = index?.settings.analysis ?? {};
    return new AnalyzerRegistry({ ...index?.settings, analysis: { ...analysis, analyzer: { ...analysis.analyzer, [AD_HOC]: own } } }).get(AD_HOC);
  }
  const registry = new AnalyzerRegistry(index?.settings);
  if (body.field !== undefined) {
    if (typeof body.field !== 'string' || body.field === '') illegal('[field] must be a non-empty string');
    if (!index) illegal('[field] needs an index whose mapping has it');
    const m = index.mappings.field(body.field);
    if (m?.type === 'keyword') return registry.get('keyword');
    // What the field indexes with (an unmapped one: the default analyzer, as Elasticsearch does).
    return registry.get(m?.type === 'text' ? (m.analyzer ?? 'standard') : 'standard');
  }
  if (body.analyzer === undefined) return registry.get('standard');
  if (typeof body.analyzer !== 'string' || body.analyzer === '') illegal('[analyzer] must be a non-empty string');
  return registry.get(body.analyzer);
}
