/**
 * Elasticsearch's `_analyze`: the tokens an analyzer makes of a text, to see what a field indexes
 * or what a custom chain does before an index uses it. The analyzer is named (`analyzer`), a
 * field's (`field`), or built for the request (`tokenizer`, `filter`, `char_filter`), resolved
 * against the index's analysis settings when there is an index, else the built-ins.
 */
import { AnalyzerRegistry, ChainAnalyzer, type AnalysisSettings } from './analysis/index.ts';
import type { MappingRegistry } from './mapping.ts';
import { EngineError, isPlainObject, type Analyzer, type Token } from './types.ts';

export interface AnalyzedToken {
  token: string;
  start_offset: number;
  end_offset: number;
  position: number;
  /** How many positions a token of a graph spans (a synonym, a joined word part), when more than one. */
  positionLength?: number;
}

/** A token as `explain` shows it: with its attributes (those named by `attributes`, when given). */
export interface ExplainedToken extends AnalyzedToken {
  /** Its UTF-8 bytes in hex, `[63 61 74]`. */
  bytes?: string;
  termFrequency?: number;
  /** Marked by keyword_marker: stemmers leave it. */
  keyword?: boolean;
}

/** `explain`: what each stage of a custom analyzer makes, or a built-in analyzer's tokens as a whole. */
export type AnalyzeDetail =
  | {
      custom_analyzer: true;
      charfilters: { name: string; filtered_text: string[] }[];
      tokenizer: { name: string; tokens: ExplainedToken[] };
      tokenfilters: { name: string; tokens: ExplainedToken[] }[];
    }
  | { custom_analyzer: false; analyzer: { name: string; tokens: ExplainedToken[] } };

/** `{tokens}`, or with `explain` `{detail}`. */
export interface AnalyzeResponse {
  tokens?: AnalyzedToken[];
  detail?: AnalyzeDetail;
}

const ATTRIBUTES = ['bytes', 'positionLength', 'termFrequency', 'keyword'] as const;

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
export function analyzeRequest(body: unknown, index?: { settings: AnalysisSettings; mappings: MappingRegistry }): AnalyzeResponse {
  if (!isPlainObject(body)) illegal('the analyze request must be an object');
  for (const k in body) if (!KEYS.has(k)) illegal(`unknown key [${k}] in the analyze request; known: ${[...KEYS].join(', ')}`);
  if (body.explain !== undefined && typeof body.explain !== 'boolean') illegal('[explain] must be a boolean');
  const attributes = attributesOf(body.attributes);
  if (attributes !== undefined && body.explain !== true) illegal('[attributes] needs [explain]');
  const texts = typeof body.text === 'string' ? [body.text] : body.text;
  if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === 'string')) illegal('[text] must be a string or a non-empty list of strings');
  const analyzer = analyzerOf(body, index);
  if (body.explain === true) return { detail: explain(analyzer, texts as string[], attributes ?? ATTRIBUTES) };
  return { tokens: valuesTokens(texts as string[], (text) => analyzer.analyze(text), plainToken) };
}

/**
 * The tokens of every value, as a multi-valued text field has them: each value's positions after
 * the last one's plus a gap, its offsets after the last one's text plus one.
 */
function valuesTokens<T extends AnalyzedToken>(texts: string[], tokensOf: (text: string, i: number) => Token[], shape: (t: Token, attributes: readonly string[]) => T, attributes: readonly string[] = []): T[] {
  const out: T[] = [];
  let positionBase = 0;
  let offsetBase = 0;
  texts.forEach((text, i) => {
    let last = -1;
    for (const t of tokensOf(text, i)) {
      if (out.length >= MAX_ANALYZED_TOKENS) illegal(`The number of tokens produced by calling _analyze has exceeded the allowed maximum of [${MAX_ANALYZED_TOKENS}]. This limit can be set by changing the [index.analyze.max_token_count] index level setting.`);
      const token = shape(t, attributes);
      token.start_offset += offsetBase;
      token.end_offset += offsetBase;
      token.position += positionBase;
      out.push(token);
      last = Math.max(last, t.position);
    }
    positionBase += last + 1 + POSITION_GAP;
    offsetBase += text.length + OFFSET_GAP;
  });
  return out;
}

function plainToken(t: Token): AnalyzedToken {
  const token: AnalyzedToken = { token: t.term, start_offset: t.startOffset, end_offset: t.endOffset, position: t.position };
  if (t.positionLength !== undefined && t.positionLength > 1) token.positionLength = t.positionLength;
  return token;
}

function explainedToken(t: Token, attributes: readonly string[]): ExplainedToken {
  const token: ExplainedToken = { token: t.term, start_offset: t.startOffset, end_offset: t.endOffset, position: t.position };
  if (attributes.includes('bytes')) token.bytes = `[${[...Buffer.from(t.term, 'utf8')].map((b) => b.toString(16).padStart(2, '0')).join(' ')}]`;
  if (attributes.includes('positionLength')) token.positionLength = t.positionLength ?? 1;
  if (attributes.includes('termFrequency')) token.termFrequency = 1;
  if (attributes.includes('keyword')) token.keyword = t.keyword === true;
  return token;
}

/** Each stage of a custom analyzer (char filters' texts, the tokenizer's tokens, each filter's), or a built-in one whole. */
function explain(analyzer: Analyzer, texts: string[], attributes: readonly string[]): AnalyzeDetail {
  if (!(analyzer instanceof ChainAnalyzer) || analyzer.stageNames === undefined) {
    return { custom_analyzer: false, analyzer: { name: analyzer.name, tokens: valuesTokens(texts, (text) => analyzer.analyze(text), explainedToken, attributes) } };
  }
  const names = analyzer.stageNames;
  const stages = texts.map((text) => analyzer.stages(text));
  return {
    custom_analyzer: true,
    charfilters: names.charFilters.map((name, k) => ({ name, filtered_text: stages.map((st) => st.charFilters[k]!) })),
    tokenizer: { name: names.tokenizer, tokens: valuesTokens(texts, (_, i) => stages[i]!.tokenizer, explainedToken, attributes) },
    tokenfilters: names.filters.map((name, k) => ({ name, tokens: valuesTokens(texts, (_, i) => stages[i]!.filters[k]!, explainedToken, attributes) })),
  };
}

/** `attributes`: the token attributes explain shows (a list, or comma-separated); all when absent. */
function attributesOf(v: unknown): readonly string[] | undefined {
  if (v === undefined) return undefined;
  const list = typeof v === 'string' ? v.split(',').map((s) => s.trim()) : v;
  if (!Array.isArray(list) || !list.every((a) => typeof a === 'string')) illegal('[attributes] must be a list of attribute names');
  const unknown = (list as string[]).filter((a) => !(ATTRIBUTES as readonly string[]).includes(a));
  if (unknown.length > 0) illegal(`unknown attributes [${unknown.join(', ')}]; known: ${ATTRIBUTES.join(', ')}`);
  return list as string[];
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
