import * as path from 'node:path';
import type * as CoreModule from './coreEntry';

export type Core = typeof CoreModule;

let loaded: Core | undefined;

/**
 * The engine, parser, tokenizers and backends (about 1 MB of bundle) load on first use, after
 * activation: the activation path only wires listeners and providers.
 */
export function core(): Core {
  // The path is computed so that esbuild leaves dist/core.js out of the activation bundle.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require(path.join(__dirname, 'core.js')) as Core;
  return loaded;
}
