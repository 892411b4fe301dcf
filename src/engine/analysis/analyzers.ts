/**
 * Analyzers: char filters, a tokenizer and token filters, with Elasticsearch's built-ins
 * (`standard`, `simple`, `whitespace`, `keyword`, `stop`, `english`), custom analyzers from index
 * settings, and a per-index registry.
 */
import type { Analyzer, Token } from '../types.ts';
import { EngineError, isPlainObject } from '../types.ts';
import { applyCharFilters, createCharFilter, type CharFilter, type OffsetMap } from './char-filters.ts';
import {
  createTokenFilter,
  lowercaseFilter,
  NOT_FOR_SYNONYM_RULES,
  SYNONYM_FILTER_TYPES,
  porterStemFilter,
  possessiveEnglishFilter,
  resolveStopwords,
  stopFilter,
  ENGLISH_STOP_WORDS,
  type TokenFilter,
} from './filters.ts';
import {
  createTokenizer,
  keywordTokenize,
  letterTokenize,
  standardTokenize,
  whitespaceTokenize,
  DEFAULT_MAX_TOKEN_LENGTH,
  MAX_TOKEN_LENGTH_LIMIT,
  type Tokenizer,
} from './tokenizers.ts';
import { checkSettings, DEFAULT_LIMITS, type AnalysisLimits } from './settings.ts';
import { SYNONYM_SETTINGS, synonymFilter, synonymRulesFrom, SynonymRules } from './synonyms.ts';

function illegal(reason: string): EngineError {
  return new EngineError('illegal_argument_exception', reason);
}

/** The names of a custom analyzer's parts, as its definition gives them (`__anonymous__<type>` for inline ones). */
export interface StageNames {
  charFilters: string[];
  tokenizer: string;
  filters: string[];
}

/** What each stage of a chain makes of a text (`_analyze` with `explain`): copies, offsets into the original text. */
export interface AnalysisStages {
  /** The text after each char filter. */
  charFilters: string[];
  tokenizer: Token[];
  /** The tokens after each token filter. */
  filters: Token[][];
}

/** A tokenizer and a chain of token filters. Stateless: safe to share and to call re-entrantly. */
export class ChainAnalyzer implements Analyzer {
  constructor(
    readonly name: string,
    readonly tokenizer: Tokenizer,
    readonly filters: readonly TokenFilter[] = [],
    /** Set for custom analyzers (index settings, or a chain built for a request). */
    readonly stageNames?: StageNames,
  ) {}

  analyze(text: string): Token[] {
    let tokens = this.tokenizer(text);
    const filters = this.filters;
    for (let i = 0; i < filters.length; i++) tokens = filters[i]!(tokens);
    return tokens;
  }

  stages(text: string): AnalysisStages {
    return this.stagesOf(text, [], text.length, null);
  }

  /** Filters own (and may rewrite) their input: each stage's tokens are copied before the next runs. */
  protected stagesOf(text: string, charFilters: string[], originalLength: number, maps: readonly OffsetMap[] | null): AnalysisStages {
    let tokens = this.tokenizer(text);
    const out: AnalysisStages = { charFilters, tokenizer: snapshotOf(tokens, maps, originalLength), filters: [] };
    for (const f of this.filters) {
      tokens = f(tokens);
      out.filters.push(snapshotOf(tokens, maps, originalLength));
    }
    return out;
  }
}

/**
 * A chain with char filters in front. The tokenizer sees the filtered text; the tokens' offsets
 * are mapped back to the original text at the end (filters never change offsets, and a shingle
 * or synonym takes its offsets from other tokens', so mapping last is the same as mapping first).
 */
export class CharFilteringAnalyzer extends ChainAnalyzer {
  constructor(
    name: string,
    readonly charFilters: readonly CharFilter[],
    tokenizer: Tokenizer,
    filters: readonly TokenFilter[] = [],
    stageNames?: StageNames,
  ) {
    super(name, tokenizer, filters, stageNames);
  }

  override analyze(text: string): Token[] {
    const filtered = applyCharFilters(this.charFilters, text);
    const tokens = super.analyze(filtered.text);
    if (filtered.maps !== null) correctOffsets(tokens, filtered.maps, text.length);
    return tokens;
  }

  override stages(text: string): AnalysisStages {
    const filtered = applyCharFilters(this.charFilters, text);
    const texts = this.charFilters.map((_, i) => applyCharFilters(this.charFilters.slice(0, i + 1), text).text);
    return this.stagesOf(filtered.text, texts, text.length, filtered.maps);
  }
}

/** Copies of the tokens, their offsets mapped back to the original text. */
function snapshotOf(tokens: Token[], maps: readonly OffsetMap[] | null, length: number): Token[] {
  const copy = tokens.map((t) => ({ ...t }));
  if (maps !== null) correctOffsets(copy, maps, length);
  return copy;
}

/** Maps offsets into the filtered text back through each char filter's map (last filter first). */
function correctOffsets(tokens: Token[], maps: readonly OffsetMap[], length: number): void {
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    let start = t.startOffset;
    let end = t.endOffset;
    for (let k = 0; k < maps.length; k++) {
      start = maps[k]!.start(start);
      end = maps[k]!.end(end);
    }
    start = start < 0 ? 0 : start > length ? length : start;
    end = end < start ? start : end > length ? length : end;
    t.startOffset = start;
    t.endOffset = end;
  }
}

// ---------------------------------------------------------------------------------------------
// built-in analyzers

export const BUILTIN_ANALYZERS: readonly string[] = ['standard', 'simple', 'whitespace', 'keyword', 'stop', 'english'];

const ENGLISH_STOP = stopFilter(ENGLISH_STOP_WORDS);
const PORTER = porterStemFilter();

const BUILTIN_FACTORIES: Record<string, () => Analyzer> = {
  // ES `standard`: standard tokenizer + lowercase (stop words only if configured).
  standard: () => new ChainAnalyzer('standard', (t) => standardTokenize(t), [lowercaseFilter]),
  // ES `simple`: letter runs, lowercased.
  simple: () => new ChainAnalyzer('simple', (t) => letterTokenize(t), [lowercaseFilter]),
  whitespace: () => new ChainAnalyzer('whitespace', (t) => whitespaceTokenize(t)),
  keyword: () => new ChainAnalyzer('keyword', keywordTokenize),
  // ES `stop`: simple + English stop words.
  stop: () => new ChainAnalyzer('stop', (t) => letterTokenize(t), [lowercaseFilter, ENGLISH_STOP]),
  // ES `english`: standard tokenizer, possessive 's removal, lowercase, English stop words, Porter.
  english: () =>
    new ChainAnalyzer('english', (t) => standardTokenize(t), [possessiveEnglishFilter, lowercaseFilter, ENGLISH_STOP, PORTER]),
};

const builtinCache = new Map<string, Analyzer>();

/** A built-in analyzer by name (created once, shared), or undefined. */
export function builtinAnalyzer(name: string): Analyzer | undefined {
  let a = builtinCache.get(name);
  if (a === undefined && Object.hasOwn(BUILTIN_FACTORIES, name)) {
    a = BUILTIN_FACTORIES[name]!();
    builtinCache.set(name, a);
  }
  return a;
}

// ---------------------------------------------------------------------------------------------
// analyzers from definitions

/** An analyzer definition as found under `settings.analysis.analyzer.<name>`. */
export interface AnalyzerDefinition {
  type?: string;
  tokenizer?: string | Record<string, unknown>;
  filter?: string | Array<string | Record<string, unknown>>;
  char_filter?: unknown;
  stopwords?: string | string[];
  max_token_length?: number;
  stem_exclusion?: string[];
  position_increment_gap?: number;
  [key: string]: unknown;
}

/** Named definitions from `settings.analysis.filter` / `.tokenizer` / `.char_filter`, and the index's limits. */
export interface AnalysisContext {
  name?: string;
  filter?: Record<string, unknown>;
  tokenizer?: Record<string, unknown>;
  char_filter?: Record<string, unknown>;
  limits?: AnalysisLimits;
}

/** A resolved filter reference: a filter, or synonym rules that the analyzer builds its filter from. */
type ResolvedFilter = TokenFilter | SynonymRules;

interface Resolvers {
  filter(ref: unknown, analyzer: string): ResolvedFilter;
  tokenizer(ref: unknown, analyzer: string): Tokenizer;
  charFilter(ref: unknown, analyzer: string): CharFilter;
}

/** Synonym filters built by analyzers: skipped when a later synonym filter analyses its rules. */
const SYNONYM_FILTERS = new WeakSet<TokenFilter>();


function maxTokenLength(v: unknown, label: string): number {
  if (v === undefined || v === null) return DEFAULT_MAX_TOKEN_LENGTH;
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n <= 0 || n > MAX_TOKEN_LENGTH_LIMIT) {
    throw illegal(`[max_token_length] of ${label} must be an integer in [1, ${MAX_TOKEN_LENGTH_LIMIT}], got [${String(v)}]`);
  }
  return n;
}

function stringList(v: unknown, key: string, label: string): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  throw illegal(`[${key}] of ${label} must be a string or an array of strings`);
}

/** The settings each analyzer type takes besides `type`: anything else is an error, not ignored. */
const ANALYZER_SETTINGS: Record<string, readonly string[]> = {
  custom: ['tokenizer', 'filter', 'char_filter'],
  standard: ['max_token_length', 'stopwords'],
  simple: [],
  whitespace: [],
  keyword: [],
  stop: ['stopwords'],
  english: ['stopwords', 'stem_exclusion'],
};

function build(definition: unknown, name: string, resolve: Resolvers): Analyzer {
  const label = `analyzer [${name}]`;
  if (!isPlainObject(definition)) throw illegal(`${label} must be an object`);
  const def = definition;
  let type = def.type;
  if (type === undefined && def.tokenizer !== undefined) type = 'custom';
  if (typeof type !== 'string') throw illegal(`${label} must specify either an analyzer type, or a tokenizer`);
  const allowed = ANALYZER_SETTINGS[type];
  if (allowed) for (const k in def) if (k !== 'type' && !allowed.includes(k)) throw illegal(`unknown setting [index.analysis.analyzer.${name}.${k}] for an analyzer of type [${type}]`);
  switch (type) {
    case 'custom': {
      if (def.tokenizer === undefined) throw illegal(`Custom Analyzer [${name}] must be configured with a tokenizer`);
      const cfRefs = def.char_filter === undefined ? [] : typeof def.char_filter === 'string' ? [def.char_filter] : def.char_filter;
      if (!Array.isArray(cfRefs)) throw illegal(`[char_filter] of ${label} must be a string or an array`);
      const charFilters = cfRefs.map((ref) => resolve.charFilter(ref, name));
      const tokenizer = resolve.tokenizer(def.tokenizer, name);
      const refs = def.filter === undefined ? [] : typeof def.filter === 'string' ? [def.filter] : def.filter;
      if (!Array.isArray(refs)) throw illegal(`[filter] of ${label} must be a string or an array`);
      const filters: TokenFilter[] = [];
      refs.forEach((ref, i) => {
        const f = resolve.filter(ref, name);
        filters.push(f instanceof SynonymRules ? synonymFilterFor(f, name, charFilters, tokenizer, filters, refs.slice(0, i)) : f);
      });
      const names: StageNames = { charFilters: cfRefs.map((r) => stageName(r)), tokenizer: stageName(def.tokenizer), filters: refs.map((r) => stageName(r)) };
      return charFilters.length > 0 ? new CharFilteringAnalyzer(name, charFilters, tokenizer, filters, names) : new ChainAnalyzer(name, tokenizer, filters, names);
    }
    case 'standard': {
      const max = maxTokenLength(def.max_token_length, label);
      const filters: TokenFilter[] = [lowercaseFilter];
      const stop = resolveStopwords(def.stopwords, []);
      if (stop.length > 0) filters.push(stopFilter(stop));
      return new ChainAnalyzer(name, (t) => standardTokenize(t, max), filters);
    }
    case 'simple':
      return new ChainAnalyzer(name, (t) => letterTokenize(t), [lowercaseFilter]);
    case 'whitespace':
      return new ChainAnalyzer(name, (t) => whitespaceTokenize(t));
    case 'keyword':
      return new ChainAnalyzer(name, keywordTokenize);
    case 'stop':
      return new ChainAnalyzer(name, (t) => letterTokenize(t), [lowercaseFilter, stopFilter(resolveStopwords(def.stopwords))]);
    case 'english': {
      const exclusions = stringList(def.stem_exclusion, 'stem_exclusion', label);
      return new ChainAnalyzer(name, (t) => standardTokenize(t), [
        possessiveEnglishFilter,
        lowercaseFilter,
        stopFilter(resolveStopwords(def.stopwords)),
        exclusions.length > 0 ? porterStemFilter(exclusions) : PORTER,
      ]);
    }
    default:
      throw illegal(`Unknown analyzer type [${type}] for [${name}]`);
  }
}

/**
 * The synonym filter of one analyzer: its rules analysed by the char filters, tokenizer and
 * filters before it (earlier synonym filters left out), as ES builds them.
 */
/** A part of a custom analyzer by name, or an inline one as Elasticsearch names it. */
function stageName(ref: unknown): string {
  if (typeof ref === 'string') return ref;
  const type = isPlainObject(ref) && typeof ref.type === 'string' ? ref.type : 'custom';
  return `__anonymous__${type}`;
}

function synonymFilterFor(rules: SynonymRules, analyzer: string, charFilters: CharFilter[], tokenizer: Tokenizer, before: TokenFilter[], beforeRefs: unknown[]): TokenFilter {
  const chain: TokenFilter[] = [];
  before.forEach((f, i) => {
    if (NOT_FOR_SYNONYM_RULES.has(f)) {
      const ref = beforeRefs[i];
      throw illegal(`Token filter [${typeof ref === 'string' ? ref : '_anonymous_'}] cannot be used to parse synonyms (it comes before ${rules.label} in analyzer [${analyzer}])`);
    }
    if (!SYNONYM_FILTERS.has(f)) chain.push(f);
  });
  const rulesAnalyzer = charFilters.length > 0 ? new CharFilteringAnalyzer(analyzer, charFilters, tokenizer, chain) : new ChainAnalyzer(analyzer, tokenizer, chain);
  const f = synonymFilter(rules.buildMap((text) => rulesAnalyzer.analyze(text)));
  SYNONYM_FILTERS.add(f);
  return f;
}

/** A filter definition: synonym rules (built per analyzer) or a filter. */
function filterOrRules(def: unknown, name: string | undefined, limits: AnalysisLimits): ResolvedFilter {
  if (isPlainObject(def) && typeof def.type === 'string' && SYNONYM_FILTER_TYPES.includes(def.type)) {
    const label = `filter [${name ?? '_anonymous_'}]`;
    checkSettings(def, SYNONYM_SETTINGS, label, def.type);
    return synonymRulesFrom(def, label);
  }
  return createTokenFilter(def, name, limits);
}

/** Resolves filter / tokenizer / char filter references against named definitions (built lazily, cached). */
function contextResolvers(context: AnalysisContext | undefined): Resolvers {
  const namedFilters = context?.filter ?? {};
  const namedTokenizers = context?.tokenizer ?? {};
  const namedCharFilters = context?.char_filter ?? {};
  const limits = context?.limits ?? DEFAULT_LIMITS;
  if (!isPlainObject(namedFilters)) throw illegal('[analysis.filter] must be an object');
  if (!isPlainObject(namedTokenizers)) throw illegal('[analysis.tokenizer] must be an object');
  if (!isPlainObject(namedCharFilters)) throw illegal('[analysis.char_filter] must be an object');
  const filters = new Map<string, ResolvedFilter>();
  const tokenizers = new Map<string, Tokenizer>();
  const charFilters = new Map<string, CharFilter>();
  return {
    filter(ref, analyzer) {
      if (isPlainObject(ref)) return filterOrRules(ref, undefined, limits); // inline (anonymous) definition
      if (typeof ref !== 'string') throw illegal(`[filter] of analyzer [${analyzer}] must contain names or objects`);
      let f = filters.get(ref);
      if (f) return f;
      if (Object.hasOwn(namedFilters, ref)) f = filterOrRules(namedFilters[ref], ref, limits);
      else {
        try {
          f = createTokenFilter(ref);
        } catch {
          throw illegal(`Custom Analyzer [${analyzer}] failed to find filter under name [${ref}]`);
        }
      }
      filters.set(ref, f);
      return f;
    },
    tokenizer(ref, analyzer) {
      if (isPlainObject(ref)) return createTokenizer(ref, undefined, limits);
      if (typeof ref !== 'string') throw illegal(`[tokenizer] of analyzer [${analyzer}] must be a name or an object`);
      let t = tokenizers.get(ref);
      if (t) return t;
      if (Object.hasOwn(namedTokenizers, ref)) t = createTokenizer(namedTokenizers[ref], ref, limits);
      else {
        try {
          t = createTokenizer(ref);
        } catch {
          throw illegal(`Custom Analyzer [${analyzer}] failed to find tokenizer under name [${ref}]`);
        }
      }
      tokenizers.set(ref, t);
      return t;
    },
    charFilter(ref, analyzer) {
      if (isPlainObject(ref)) return createCharFilter(ref);
      if (typeof ref !== 'string') throw illegal(`[char_filter] of analyzer [${analyzer}] must contain names or objects`);
      let c = charFilters.get(ref);
      if (c) return c;
      if (Object.hasOwn(namedCharFilters, ref)) c = createCharFilter(namedCharFilters[ref], ref);
      else {
        try {
          c = createCharFilter(ref);
        } catch {
          throw illegal(`Custom Analyzer [${analyzer}] failed to find char_filter under name [${ref}]`);
        }
      }
      charFilters.set(ref, c);
      return c;
    },
  };
}

/**
 * An analyzer from a definition in index settings: `{ type: 'custom', tokenizer: 'standard',
 * filter: ['lowercase', 'my_stop'] }` (named filters and tokenizers are looked up in `context`,
 * then among the built-ins), or a configured built-in type: `{ type: 'standard', stopwords:
 * '_english_', max_token_length: 100 }`, `{ type: 'stop', stopwords: [...] }`, `{ type:
 * 'english', stem_exclusion: [...] }`, `simple`, `whitespace`, `keyword`.
 */
export function createAnalyzer(definition: AnalyzerDefinition | Record<string, unknown>, context?: AnalysisContext): Analyzer {
  return build(definition, context?.name ?? '_anonymous_', contextResolvers(context));
}

// ---------------------------------------------------------------------------------------------
// registry

export interface AnalysisSettings {
  analysis?: {
    analyzer?: Record<string, unknown>;
    filter?: Record<string, unknown>;
    tokenizer?: Record<string, unknown>;
    char_filter?: Record<string, unknown>;
  };
  /** `index.max_ngram_diff` (default 1): the largest max_gram - min_gram of an ngram tokenizer or filter. */
  max_ngram_diff?: number | string;
  /** `index.max_shingle_diff` (default 3). */
  max_shingle_diff?: number | string;
  /** Settings may also be nested under `index` (`{ index: { analysis: … } }`), as ES accepts. */
  index?: { analysis?: AnalysisSettings['analysis']; max_ngram_diff?: number | string; max_shingle_diff?: number | string };
}

/** An index-level limit setting: a non-negative integer (or numeric string), else the default. */
function limitSetting(s: AnalysisSettings, key: 'max_ngram_diff' | 'max_shingle_diff', fallback: number): number {
  const v = s[key] ?? (isPlainObject(s.index) ? s.index[key] : undefined);
  if (v === undefined || v === null) return fallback;
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) throw illegal(`Failed to parse value [${String(v)}] for setting [index.${key}], must be a non-negative integer`);
  return n;
}

/**
 * The analyzers of one index: the built-ins plus those defined in its settings (which take
 * precedence). Everything in the settings is validated, and custom analyzers built, up front; a
 * bad definition throws `illegal_argument_exception` from the constructor.
 */
export class AnalyzerRegistry {
  private readonly custom = new Map<string, Analyzer>();

  constructor(settings?: AnalysisSettings) {
    if (settings === undefined || settings === null) return;
    if (!isPlainObject(settings)) throw illegal('index settings must be an object');
    const s = settings as AnalysisSettings;
    const analysis: unknown = s.analysis ?? (isPlainObject(s.index) ? s.index.analysis : undefined);
    if (analysis === undefined) return;
    if (!isPlainObject(analysis)) throw illegal('[analysis] settings must be an object');
    for (const k in analysis) if (k !== 'analyzer' && k !== 'filter' && k !== 'tokenizer' && k !== 'char_filter') throw illegal(`unknown setting [index.analysis.${k}] (supported: analyzer, filter, tokenizer, char_filter)`);
    const analyzers = analysis.analyzer ?? {};
    if (!isPlainObject(analyzers)) throw illegal('[analysis.analyzer] must be an object');
    const filterDefs = analysis.filter ?? {};
    const tokenizerDefs = analysis.tokenizer ?? {};
    const charFilterDefs = analysis.char_filter ?? {};
    if (!isPlainObject(filterDefs)) throw illegal('[analysis.filter] must be an object');
    if (!isPlainObject(tokenizerDefs)) throw illegal('[analysis.tokenizer] must be an object');
    if (!isPlainObject(charFilterDefs)) throw illegal('[analysis.char_filter] must be an object');
    const limits: AnalysisLimits = { maxNgramDiff: limitSetting(s, 'max_ngram_diff', DEFAULT_LIMITS.maxNgramDiff), maxShingleDiff: limitSetting(s, 'max_shingle_diff', DEFAULT_LIMITS.maxShingleDiff) };
    const resolve = contextResolvers({ filter: filterDefs, tokenizer: tokenizerDefs, char_filter: charFilterDefs, limits });
    // Validate every named filter, tokenizer and char filter, used or not (as ES does at index creation).
    for (const name of Object.keys(filterDefs)) resolve.filter(name, '_settings_');
    for (const name of Object.keys(tokenizerDefs)) resolve.tokenizer(name, '_settings_');
    for (const name of Object.keys(charFilterDefs)) resolve.charFilter(name, '_settings_');
    for (const [name, def] of Object.entries(analyzers)) this.custom.set(name, build(def, name, resolve));
  }

  /** The analyzer called `name`: custom first, then built-in. `default` falls back to `standard`. */
  get(name: string): Analyzer {
    const a = this.custom.get(name) ?? builtinAnalyzer(name) ?? (name === 'default' ? this.get('standard') : undefined);
    if (!a) throw illegal(`failed to find analyzer [${name}]`);
    return a;
  }

  has(name: string): boolean {
    return this.custom.has(name) || builtinAnalyzer(name) !== undefined || name === 'default';
  }

  /** Names of the analyzers defined in the settings. */
  customNames(): string[] {
    return [...this.custom.keys()];
  }

  /** The index's default analyzer (`analysis.analyzer.default`, else `standard`). */
  get defaultAnalyzer(): Analyzer {
    return this.get('default');
  }

  /** The default search analyzer (`default_search`, else the default analyzer). */
  get defaultSearchAnalyzer(): Analyzer {
    return this.custom.get('default_search') ?? this.defaultAnalyzer;
  }
}
