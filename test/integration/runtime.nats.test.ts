import { describe } from 'vitest';
import { natsEnv } from '../support/runtime-env.ts';
import { runtimeSuite } from '../support/runtime-suite.ts';

describe('actor runtime on a real nats-server', () => {
  runtimeSuite(natsEnv);
});
