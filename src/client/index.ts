/** The TypeScript client for Shoal's NATS API. */
export { ShoalClient, type ConnectOptions, type RequestOptions, type ShoalClientOptions } from './shoal-client.ts';
export { ShoalApiError } from './errors.ts';
export type { BulkDrop, BulkHelperOptions, BulkHelperResult, BulkProgress } from './bulk-helper.ts';
export * from '../../protocols/api.ts';
