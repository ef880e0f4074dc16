// A small HTTP server on 127.0.0.1 that speaks the OpenAI wire format (chat and text completions,
// JSON and SSE streaming, `n` choices, usage) with fault injection, for tests of the remote backend.
// Its "model" is a table of canned answers sampled with a seeded generator: the point is the protocol,
// the failures and the bookkeeping, not the answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { seededRandom } from '../../src/core/random';
import { batchApi, type FakeBatch, type FakeBatchOptions, type FakeFile } from './batches';

export type FaultKind =
  | 'rate-limit'
  | 'server-error'
  | 'hang'
  | 'malformed-json'
  | 'cut-stream'
  | 'ignore-n'
  | 'unauthorized'
  | 'not-found'
  | 'context-length'
  | 'content-filter';

export interface Fault {
  kind: FaultKind;
  /** How many requests it affects (default 1); Infinity for all. */
  times?: number;
  /** Only requests whose prompt text contains this. */
  when?: string;
  /** Seconds, for `rate-limit`. */
  retryAfter?: number;
}

export interface ReceivedRequest {
  path: string;
  n: number;
  stream: boolean;
  model: string;
  seed?: number;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  max_completion_tokens?: number;
  reasoning_effort?: string;
  /** Structured output asked for (`response_format`), as sent. */
  response_format?: unknown;
  prompt: string;
  /** The field a 400 refused (`reasoningModels`, `refuse`), when the request was refused for one. */
  refused?: string;
  authorization?: string;
  /** The query string, `?` included, when the request had one. */
  query?: string;
  fault?: FaultKind;
  /** The batch whose line this request answers (the Batches API answers lines through the chat endpoint). */
  batch?: string;
  /** Refused with a 429 because the `rateLimit` budget of the window was spent. */
  rateLimited?: true;
}

export interface CannedAnswer {
  /** Requests whose last user turn (or prompt) contains this text get these answers. */
  match: string;
  /** Candidate completions, sampled with equal weight (a seeded draw per choice). */
  answers: string[];
  /** Script the answers instead of drawing them: a request with seed s gets `answers[s % answers.length]` (every choice). */
  bySeed?: boolean;
  /** Reasoning sent apart from each choice's answer, as vLLM and DeepSeek send it: `reasoning_content`. */
  reasoning?: string;
  /** Every choice's finish reason (default `stop`): `length` for a chain cut at max_tokens. */
  finishReason?: 'stop' | 'length';
  /**
   * Usage to report instead of the length-based counts: `promptTokens` per request (of them `cachedTokens` as
   * `prompt_tokens_details.cached_tokens`), `completionTokens` per choice for its answer, plus `reasoningTokens`
   * per choice (`completion_tokens_details.reasoning_tokens`, billed inside completion_tokens as OpenAI does).
   */
  usage?: { promptTokens?: number; completionTokens?: number; cachedTokens?: number; reasoningTokens?: number };
}

export interface FakeServerOptions {
  answers?: CannedAnswer[];
  /**
   * A scripted model, asked before `answers`: it sees the request's turns (chat) or prompt (text), and its answer,
   * when it gives one, is that choice's (0-based). For behaviour that depends on the whole prompt (an injection obeyed
   * unless a defence is there).
   */
  respond?: (
    request: { model: string; messages?: { role: string; content: string }[]; prompt: string },
    choice: number,
  ) => string | undefined;
  /** The key the server expects; requests with another key get 401. */
  apiKey?: string;
  /** Milliseconds between streamed chunks. */
  chunkDelayMs?: number;
  /**
   * Models answered as OpenAI answers its reasoning models: 400 for `max_tokens`, and for any temperature or
   * top_p but 1, with OpenAI's error body; usage reports reasoning tokens.
   */
  reasoningModels?: string[];
  /** Fields refused with a 400 `unsupported_parameter` for a model (any model when `model` is left out). */
  refuse?: { param: string; model?: string }[];
  /** The Files and Batches APIs' pace and limits (batches.ts). */
  batch?: FakeBatchOptions;
  /**
   * OpenAI's rate limits: `x-ratelimit-*` headers on every completion answer, and a 429 for a request over the
   * window's budget. Windows are fixed, starting with the first request; a request costs its prompt's tokens
   * plus `max_tokens` per choice, as OpenAI counts it.
   */
  rateLimit?: { requests?: number; tokens?: number; windowMs: number };
  /** After this many completion requests, every further one fails: a 500, or the server goes away (connection refused). */
  failAfter?: { requests: number; mode: 'server-error' | 'close' };
}

export interface FakeServer {
  url: string;
  requests: ReceivedRequest[];
  /** Uploaded and generated files, and the batches created, in order (batches.ts). */
  files: Map<string, FakeFile>;
  batches: FakeBatch[];
  inject(...faults: Fault[]): void;
  clearFaults(): void;
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  messages?: { role: string; content: string }[];
  prompt?: string;
  n?: number;
  stream?: boolean;
  seed?: number;
  temperature?: number;
  top_p?: number;
  stop?: string | string[];
  max_tokens?: number;
  max_completion_tokens?: number;
  reasoning_effort?: string;
  response_format?: unknown;
  stream_options?: { include_usage?: boolean };
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

const tokens = (text: string): number => Math.max(1, Math.ceil(text.length / 4));

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const faults: (Fault & { left: number })[] = [];
  const requests: ReceivedRequest[] = [];
  const sockets = new Set<import('node:net').Socket>();
  let port = 0;
  const batches = batchApi(options.batch ?? {}, () => `http://127.0.0.1:${port}/v1`);
  const window = { start: 0, requests: 0, tokens: 0 };
  let served = 0;
  let closing: Promise<void> | undefined;
  const goAway = (): Promise<void> =>
    (closing ??= new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }));

  const takeFault = (prompt: string): Fault | undefined => {
    const index = faults.findIndex((fault) => fault.left > 0 && (!fault.when || prompt.includes(fault.when)));
    if (index < 0) return undefined;
    const fault = faults[index] as Fault & { left: number };
    fault.left--;
    return fault;
  };

  const answer = (prompt: string, seed: number, choice: number): string => {
    const canned = options.answers?.find((entry) => prompt.includes(entry.match));
    if (!canned || canned.answers.length === 0) return "I don't know.";
    if (canned.bySeed) return canned.answers[seed % canned.answers.length] ?? '';
    const draw = seededRandom(seed * 1_000_003 + choice * 7919 + hash(prompt))();
    return canned.answers[Math.floor(draw * canned.answers.length)] ?? '';
  };

  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = (request.url ?? '').replace(/\?.*$/, '');
      const sendError = (
        status: number,
        message: string,
        code: string | null,
        headers: Record<string, string> = {},
        param: string | null = null,
      ): void => {
        response.writeHead(status, { 'content-type': 'application/json', ...headers });
        response.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param, code } }));
      };
      const authorized =
        !options.apiKey || request.headers.authorization === `Bearer ${options.apiKey}` || request.headers['api-key'] === options.apiKey;
      if (batches.handles(path)) {
        if (!authorized) return sendError(401, 'Incorrect API key provided.', 'invalid_api_key');
        batches.handle(request, response, path, Buffer.concat(chunks)).catch((error: unknown) => {
          sendError(500, error instanceof Error ? error.message : String(error), null);
        });
        return;
      }
      if (!path.endsWith('/chat/completions') && !path.endsWith('/completions')) {
        sendError(404, `Unknown path ${path}`, 'not_found');
        return;
      }
      let body: ChatBody;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ChatBody;
      } catch {
        sendError(400, 'Malformed request body', null);
        return;
      }
      const chat = path.endsWith('/chat/completions');
      const lastUser = [...(body.messages ?? [])].reverse().find((message) => message.role === 'user')?.content ?? '';
      const prompt = chat ? (body.messages ?? []).map((message) => message.content).join('\n') : (body.prompt ?? '');
      const matchText = chat ? lastUser : prompt;
      const n = Math.max(1, body.n ?? 1);
      const fault = takeFault(matchText);
      const received: ReceivedRequest = {
        path,
        n,
        stream: body.stream === true,
        model: body.model ?? '',
        prompt,
        ...(body.seed !== undefined ? { seed: body.seed } : {}),
        ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
        ...(body.top_p !== undefined ? { top_p: body.top_p } : {}),
        ...(body.max_tokens !== undefined ? { max_tokens: body.max_tokens } : {}),
        ...(body.max_completion_tokens !== undefined ? { max_completion_tokens: body.max_completion_tokens } : {}),
        ...(body.reasoning_effort !== undefined ? { reasoning_effort: body.reasoning_effort } : {}),
        ...(body.response_format !== undefined ? { response_format: body.response_format } : {}),
        ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
        ...(/\?.*$/.exec(request.url ?? '') ? { query: /\?.*$/.exec(request.url ?? '')?.[0] ?? '' } : {}),
        ...(fault ? { fault: fault.kind } : {}),
        ...(typeof request.headers['x-fake-batch'] === 'string' ? { batch: request.headers['x-fake-batch'] } : {}),
      };
      requests.push(received);
      served++;
      if (options.failAfter && served > options.failAfter.requests) {
        if (options.failAfter.mode === 'close') {
          void goAway();
          return;
        }
        sendError(500, 'The server had an error while processing your request.', null);
        return;
      }

      // Azure OpenAI sends its key as `api-key`.
      if (!authorized) {
        sendError(401, 'Incorrect API key provided.', 'invalid_api_key');
        return;
      }
      // OpenAI's own words and error body for what its reasoning models refuse.
      const reasoning = options.reasoningModels?.includes(body.model ?? '') ?? false;
      const refusal = ((): { param: string; message: string; code: string } | undefined => {
        const refused = options.refuse?.find(
          (entry) => (!entry.model || entry.model === body.model) && (body as Record<string, unknown>)[entry.param] !== undefined,
        );
        if (refused)
          return {
            param: refused.param,
            message: `Unsupported parameter: '${refused.param}' is not supported with this model.`,
            code: 'unsupported_parameter',
          };
        if (!reasoning) return undefined;
        if (body.max_tokens !== undefined)
          return {
            param: 'max_tokens',
            message: "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.",
            code: 'unsupported_parameter',
          };
        for (const param of ['temperature', 'top_p'] as const) {
          const value = body[param];
          if (value !== undefined && value !== 1)
            return {
              param,
              message: `Unsupported value: '${param}' does not support ${value} with this model. Only the default (1) value is supported.`,
              code: 'unsupported_value',
            };
        }
        return undefined;
      })();
      if (refusal) {
        received.refused = refusal.param;
        sendError(400, refusal.message, refusal.code, {}, refusal.param);
        return;
      }
      let limitHeaders: Record<string, string> = {};
      if (options.rateLimit) {
        const { windowMs } = options.rateLimit;
        const now = Date.now();
        if (now >= window.start + windowMs) Object.assign(window, { start: now, requests: 0, tokens: 0 });
        const cost =
          (body.messages ?? [{ content: body.prompt ?? '' }]).reduce((sum, message) => sum + tokens(message.content), 0) +
          (body.max_tokens ?? body.max_completion_tokens ?? 0) * n;
        const overRequests = options.rateLimit.requests !== undefined && window.requests + 1 > options.rateLimit.requests;
        const overTokens = options.rateLimit.tokens !== undefined && window.tokens + cost > options.rateLimit.tokens;
        if (!overRequests && !overTokens) {
          window.requests++;
          window.tokens += cost;
        }
        const reset = goDuration(window.start + windowMs - now);
        limitHeaders = {
          ...(options.rateLimit.requests !== undefined
            ? {
                'x-ratelimit-limit-requests': String(options.rateLimit.requests),
                'x-ratelimit-remaining-requests': String(Math.max(0, options.rateLimit.requests - window.requests)),
                'x-ratelimit-reset-requests': reset,
              }
            : {}),
          ...(options.rateLimit.tokens !== undefined
            ? {
                'x-ratelimit-limit-tokens': String(options.rateLimit.tokens),
                'x-ratelimit-remaining-tokens': String(Math.max(0, options.rateLimit.tokens - window.tokens)),
                'x-ratelimit-reset-tokens': reset,
              }
            : {}),
        };
        if (overRequests || overTokens) {
          received.rateLimited = true;
          sendError(429, `Rate limit reached for ${overRequests ? 'requests' : 'tokens'}.`, 'rate_limit_exceeded', {
            ...limitHeaders,
            'retry-after-ms': String(Math.max(1, window.start + windowMs - now)),
          });
          return;
        }
      }
      switch (fault?.kind) {
        case 'rate-limit':
          sendError(429, 'Rate limit reached for requests.', 'rate_limit_exceeded', { 'retry-after': String(fault.retryAfter ?? 1) });
          return;
        case 'server-error':
          sendError(500, 'The server had an error while processing your request.', null);
          return;
        case 'unauthorized':
          sendError(401, 'Incorrect API key provided.', 'invalid_api_key');
          return;
        case 'not-found':
          sendError(404, `The model '${body.model ?? ''}' does not exist or you do not have access to it.`, 'model_not_found');
          return;
        case 'context-length':
          sendError(
            400,
            "This model's maximum context length is 128 tokens. However, your messages resulted in 999 tokens.",
            'context_length_exceeded',
          );
          return;
        case 'content-filter':
          sendError(
            400,
            "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
            'content_filter',
          );
          return;
        case 'hang':
          // Never answer: the client's timeout must fire. The socket is closed with the server.
          return;
        default:
          break;
      }

      const choices = fault?.kind === 'ignore-n' ? 1 : n;
      const seed = body.seed ?? 0;
      const scripted = (choice: number): string | undefined =>
        options.respond?.({ model: body.model ?? '', ...(body.messages ? { messages: body.messages } : {}), prompt }, choice);
      const texts = Array.from({ length: choices }, (_, choice) => scripted(choice) ?? answer(matchText, seed, choice));
      const canned = options.answers?.find((entry) => matchText.includes(entry.match));
      const cannedUsage = canned?.usage;
      const promptTokens = cannedUsage?.promptTokens ?? tokens(prompt);
      const completionTokens =
        cannedUsage?.completionTokens !== undefined
          ? cannedUsage.completionTokens * choices
          : texts.reduce((sum, text) => sum + tokens(text), 0);
      // Reasoning models think before they answer: their hidden tokens are billed inside completion_tokens.
      const reasoningTokens =
        cannedUsage?.reasoningTokens !== undefined ? cannedUsage.reasoningTokens * choices : reasoning ? 16 * choices : 0;
      const usage = {
        prompt_tokens: promptTokens,
        completion_tokens: completionTokens + reasoningTokens,
        total_tokens: promptTokens + completionTokens + reasoningTokens,
        ...(reasoning || cannedUsage?.reasoningTokens !== undefined
          ? { completion_tokens_details: { reasoning_tokens: reasoningTokens } }
          : {}),
        ...(cannedUsage?.cachedTokens !== undefined ? { prompt_tokens_details: { cached_tokens: cannedUsage.cachedTokens } } : {}),
      };
      const finishReason = canned?.finishReason ?? 'stop';
      const reasoningContent = canned?.reasoning;
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      const model = body.model ?? 'fake';

      if (fault?.kind === 'malformed-json') {
        if (body.stream) {
          response.writeHead(200, { 'content-type': 'text/event-stream' });
          response.end('data: {"id": "broken", "choices": [{"index": 0, "delta": {"content": "half\n\n');
        } else {
          response.writeHead(200, { 'content-type': 'application/json' });
          response.end('{"id": "broken", "choices": [');
        }
        return;
      }

      if (!body.stream) {
        response.writeHead(200, { 'content-type': 'application/json', ...limitHeaders });
        response.end(
          JSON.stringify({
            id,
            object: chat ? 'chat.completion' : 'text_completion',
            created,
            model,
            choices: texts.map((text, index) =>
              chat
                ? {
                    index,
                    message: {
                      role: 'assistant',
                      content: text,
                      ...(reasoningContent !== undefined ? { reasoning_content: reasoningContent } : {}),
                    },
                    finish_reason: finishReason,
                  }
                : { index, text, finish_reason: finishReason },
            ),
            usage,
          }),
        );
        return;
      }

      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        connection: 'keep-alive',
        ...limitHeaders,
      });
      const events: string[] = [];
      const piece = (index: number, text: string | undefined, finish: string | null, thought?: string): unknown =>
        chat
          ? {
              id,
              object: 'chat.completion.chunk',
              created,
              model,
              choices: [
                {
                  index,
                  delta:
                    thought !== undefined
                      ? { role: 'assistant', content: null, reasoning_content: thought }
                      : text === undefined
                        ? {}
                        : { role: 'assistant', content: text },
                  finish_reason: finish,
                },
              ],
            }
          : { id, object: 'text_completion', created, model, choices: [{ index, text: text ?? '', finish_reason: finish }] };
      texts.forEach((text, index) => {
        // The reasoning first, in two pieces, as vLLM's reasoning parsers stream it.
        if (reasoningContent !== undefined && chat) {
          const half = Math.ceil(reasoningContent.length / 2);
          events.push(
            JSON.stringify(piece(index, undefined, null, reasoningContent.slice(0, half))),
            JSON.stringify(piece(index, undefined, null, reasoningContent.slice(half))),
          );
        }
        // Two pieces per choice, then its finish: enough to exercise reassembly.
        const middle = Math.ceil(text.length / 2);
        events.push(
          JSON.stringify(piece(index, text.slice(0, middle), null)),
          JSON.stringify(piece(index, text.slice(middle), null)),
          JSON.stringify(piece(index, undefined, finishReason)),
        );
      });
      if (body.stream_options?.include_usage)
        events.push(JSON.stringify({ id, object: chat ? 'chat.completion.chunk' : 'text_completion', created, model, choices: [], usage }));
      events.push('[DONE]');
      const cutAt = fault?.kind === 'cut-stream' ? Math.max(1, Math.floor(events.length / 2)) : Infinity;
      let index = 0;
      const next = (): void => {
        if (index >= cutAt) {
          // Drop the connection mid-stream, as a proxy or a crashed server would.
          response.socket?.destroy();
          return;
        }
        if (index >= events.length) {
          response.end();
          return;
        }
        response.write(`data: ${events[index++] ?? ''}\n\n`);
        if (options.chunkDelayMs) setTimeout(next, options.chunkDelayMs);
        else setImmediate(next);
      };
      next();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    files: batches.files,
    batches: batches.batches,
    inject: (...added) => faults.push(...added.map((fault) => ({ ...fault, left: fault.times ?? 1 }))),
    clearFaults: () => void faults.splice(0),
    close: goAway,
  };
}

/** A wait as OpenAI writes its reset times (Go durations): "20ms", "1.5s", "6m0s"; rounded up to the millisecond. */
function goDuration(ms: number): string {
  const whole = Math.max(0, Math.ceil(ms));
  if (whole < 1000) return `${whole}ms`;
  if (whole < 60_000) return `${whole / 1000}s`;
  return `${Math.floor(whole / 60_000)}m${(whole % 60_000) / 1000}s`;
}
