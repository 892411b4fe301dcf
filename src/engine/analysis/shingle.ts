/**
 * Elasticsearch's `shingle` filter: word n-grams of min_shingle_size..max_shingle_size adjacent
 * tokens ("quick brown"), each at the position of its first word, spanning its words' offsets;
 * the unigrams stay unless output_unigrams is false. A position left empty by a removed token
 * (a stop word) is filled by `filler_token`, as Lucene's ShingleFilter does ("_ lazy"); shingles
 * made of fillers only are left out. Of tokens stacked at one position only the first is joined
 * into shingles (the others pass through as unigrams).
 */
import type { Token } from '../types.ts';
import type { TokenFilter } from './filters.ts';
import { boolSetting, illegal, intSetting, stringSetting, type AnalysisLimits } from './settings.ts';

export interface ShingleOptions {
  minSize: number;
  maxSize: number;
  outputUnigrams: boolean;
  outputUnigramsIfNoShingles: boolean;
  separator: string;
  filler: string;
}

/** One position of the shingle stream: a real token, or a filler for an empty position. */
interface Slot {
  position: number;
  token: Token | null;
}

/** The first token of each position, with fillers for the empty positions a shingle could reach. */
function slotsOf(tokens: Token[], maxSize: number): Slot[] {
  const slots: Slot[] = [];
  let prev = -1;
  for (const t of tokens) {
    if (t.position === prev) continue;
    // Fillers for a gap: only those within a shingle's reach of a real token.
    const gapFrom = prev + 1;
    const gapTo = t.position - 1;
    for (let p = gapFrom; p <= gapTo; p++) {
      if ((prev >= 0 && p - prev < maxSize) || t.position - p < maxSize) slots.push({ position: p, token: null });
    }
    slots.push({ position: t.position, token: t });
    prev = t.position;
  }
  return slots;
}

export function shingleFilter(o: ShingleOptions): TokenFilter {
  return (tokens) => {
    if (tokens.length === 0) return tokens;
    const slots = slotsOf(tokens, o.maxSize);
    const out: Token[] = [];
    let shingles = 0;
    let next = 0; // next input token to pass through as a unigram
    for (let i = 0; i < slots.length; i++) {
      const first = slots[i]!;
      if (o.outputUnigrams && first.token !== null) {
        // This position's tokens (stacked ones too), as they came.
        while (next < tokens.length && tokens[next]!.position <= first.position) out.push(tokens[next++]!);
      }
      let term = first.token?.term ?? o.filler;
      let start = first.token?.startOffset ?? -1;
      let end = first.token?.endOffset ?? -1;
      let real = first.token !== null;
      for (let size = 2; size <= o.maxSize && i + size - 1 < slots.length; size++) {
        const s = slots[i + size - 1]!;
        if (s.position !== first.position + size - 1) break; // fillers were capped: not adjacent
        term += o.separator + (s.token?.term ?? o.filler);
        if (s.token !== null) {
          if (start < 0) start = s.token.startOffset;
          end = s.token.endOffset;
          real = true;
        }
        if (size >= o.minSize && real) {
          out.push({ term, position: first.position, startOffset: start, endOffset: end });
          shingles++;
        }
      }
    }
    if (!o.outputUnigrams && shingles === 0 && o.outputUnigramsIfNoShingles) return tokens;
    return out;
  };
}

export function shingleFilterFrom(def: Record<string, unknown>, label: string, limits: AnalysisLimits): TokenFilter {
  const maxSize = intSetting(def, 'max_shingle_size', 2, label);
  const minSize = intSetting(def, 'min_shingle_size', 2, label);
  if (minSize < 2) throw illegal(`[min_shingle_size] of ${label} must be at least 2, got [${minSize}]`);
  if (maxSize < 2) throw illegal(`[max_shingle_size] of ${label} must be at least 2, got [${maxSize}]`);
  if (minSize > maxSize) throw illegal(`[min_shingle_size] of ${label} must not be greater than [max_shingle_size], got [${minSize}] > [${maxSize}]`);
  const outputUnigrams = boolSetting(def, 'output_unigrams', true, label);
  const diff = maxSize - minSize + (outputUnigrams ? 1 : 0);
  if (diff > limits.maxShingleDiff) {
    throw illegal(
      `In Shingle TokenFilter [${label}] the difference between max_shingle_size and min_shingle_size (and +1 if outputting unigrams) must be less than or equal to: [${limits.maxShingleDiff}] but was [${diff}]. This limit can be set by changing the [index.max_shingle_diff] index level setting.`,
    );
  }
  return shingleFilter({
    minSize,
    maxSize,
    outputUnigrams,
    outputUnigramsIfNoShingles: boolSetting(def, 'output_unigrams_if_no_shingles', false, label),
    separator: stringSetting(def, 'token_separator', ' ', label),
    filler: stringSetting(def, 'filler_token', '_', label),
  });
}
