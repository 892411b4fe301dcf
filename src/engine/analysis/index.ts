/** Text analysis: tokenizers, token filters, analyzers and the per-index analyzer registry. */
export * from './tokenizers.ts';
export * from './filters.ts';
export * from './analyzers.ts';
