import { pino, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  nodeId: string;
  level?: string;
  /** An existing pino logger to derive from (its settings win over `level`). */
  logger?: Logger;
}

/** Level: the option, else SHOAL_LOG_LEVEL, else LOG_LEVEL, else info. */
export function createNodeLogger(opts: LoggerOptions): Logger {
  if (opts.logger) return opts.logger.child({ node: opts.nodeId });
  const level = opts.level ?? process.env.SHOAL_LOG_LEVEL ?? process.env.LOG_LEVEL ?? 'info';
  return pino({ level, base: { node: opts.nodeId } });
}
