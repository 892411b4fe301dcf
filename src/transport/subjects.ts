/**
 * Subject names. Every subject is `shoal.<cluster>.<kind>.<node>[.…]`, so NATS permissions can
 * separate internal traffic (actor, sys, reply, hb) from the client API (`api`).
 */
export const SUBJECT_ROOT = 'shoal';

const TOKEN = /^[A-Za-z0-9_-]+$/;

/** Cluster names, node ids and actor names become subject tokens, so they are restricted. */
export function isValidToken(s: unknown): s is string {
  return typeof s === 'string' && s.length > 0 && s.length <= 128 && TOKEN.test(s);
}

export function assertToken(what: string, s: unknown): asserts s is string {
  if (!isValidToken(s)) {
    throw new TypeError(`${what} must match ${TOKEN} (1-128 chars), got ${JSON.stringify(s)}`);
  }
}

export const subjects = {
  /** Mail for one actor: the path `/a/b` becomes tokens `a.b`. */
  actor: (cluster: string, node: string, path: string) =>
    `${SUBJECT_ROOT}.${cluster}.actor.${node}.${pathToTokens(path)}`,
  actorWildcard: (cluster: string, node: string) => `${SUBJECT_ROOT}.${cluster}.actor.${node}.>`,
  actorPrefixLength: (cluster: string, node: string) =>
    `${SUBJECT_ROOT}.${cluster}.actor.${node}.`.length,
  /** System messages for a node: watch, spawn, lookup, node status. */
  sys: (cluster: string, node: string) => `${SUBJECT_ROOT}.${cluster}.sys.${node}`,
  /** Reply inbox of one system incarnation; the last token is the correlation id. */
  replyPrefix: (cluster: string, node: string, incarnation: string) =>
    `${SUBJECT_ROOT}.${cluster}.reply.${node}.${incarnation}`,
  heartbeat: (cluster: string, node: string) => `${SUBJECT_ROOT}.${cluster}.hb.${node}`,
  heartbeatWildcard: (cluster: string) => `${SUBJECT_ROOT}.${cluster}.hb.*`,
};

export function pathToTokens(path: string): string {
  return path.split('/').filter(Boolean).join('.');
}

export function tokensToPath(tokens: string): string {
  return '/' + tokens.split('.').join('/');
}
