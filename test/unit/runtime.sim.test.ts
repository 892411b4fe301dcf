import { describe } from 'vitest';
import { simulatedEnv } from '../support/runtime-env.ts';
import { runtimeSuite } from '../support/runtime-suite.ts';

describe('actor runtime on the in-memory transport under a simulated clock', () => {
  runtimeSuite(simulatedEnv);
});
