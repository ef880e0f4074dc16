// Messages between the local backend (main thread) and its worker thread.
import type { GeneratedChain, GenerateRequest, LoadedInfo, LoadOptions } from './generator';
import type { ModelPrompt } from './tokenizer';

export type ToWorker =
  | { type: 'load'; directory: string; options: LoadOptions }
  | {
      type: 'generate';
      id: number;
      prompt: ModelPrompt;
      request: Omit<GenerateRequest, 'promptIds'>;
    }
  | { type: 'cancel'; id: number }
  | { type: 'dispose' };

export type FromWorker =
  | { type: 'loaded'; info: LoadedInfo }
  | { type: 'chain'; id: number; chain: GeneratedChain }
  | { type: 'done'; id: number; cancelled: boolean; prefillMs: number; reusedTokens: number }
  | { type: 'error'; id?: number; message: string; name: string }
  | { type: 'disposed' };
