/** Text analysis: char filters, tokenizers, token filters, analyzers and the per-index analyzer registry. */
export * from './char-filters.ts';
export * from './tokenizers.ts';
export * from './ngram.ts';
export * from './pattern-tokenizer.ts';
export * from './char-group.ts';
export * from './path-hierarchy.ts';
export * from './filters.ts';
export * from './shingle.ts';
export * from './synonyms.ts';
export * from './term-filters.ts';
export * from './analyzers.ts';
