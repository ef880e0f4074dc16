// The fake server's Files and Batches APIs, as OpenAI (`/v1/files`, `/v1/batches`) and Azure OpenAI
// (`/openai/files`, `/openai/batches`, `api-version` required) serve them. A batch's lines are answered by
// the server's own chat endpoint (a request to itself), so faults, canned answers and the request log apply
// to them as to online requests. Status moves on as the client polls: validating → in_progress → completed.
import type * as http from 'node:http';

export interface FakeBatchOptions {
  /** Retrievals before a batch completes (default 2): the first sees `validating`, the rest `in_progress`. */
  pollsToComplete?: number;
  /** Lines answered per retrieval while in progress (default: all at the first), so a cancel keeps some. */
  linesPerPoll?: number;
  /** Limits per input file: a batch over them is refused at creation, as OpenAI refuses it. */
  maxRequests?: number;
  maxBytes?: number;
  /**
   * How the batches end, by creation order (the rest complete): `failed` at the first poll, as a batch over
   * a quota does; `expired` once `pollsToComplete` polls went by, with only the lines answered by then.
   */
  endAs?: ('failed' | 'expired')[];
}

export interface FakeFile {
  id: string;
  purpose: string;
  filename: string;
  content: string;
}

export interface FakeBatch {
  id: string;
  /** `openai` or `azure`, by the path it was created under. */
  api: 'openai' | 'azure';
  endpoint: string;
  completionWindow: string;
  inputFileId: string;
  status: 'validating' | 'in_progress' | 'finalizing' | 'completed' | 'failed' | 'expired' | 'cancelling' | 'cancelled';
  polls: number;
  lines: { custom_id: string; method: string; url: string; body: Record<string, unknown> }[];
  results: { custom_id: string; status: number; body: unknown }[];
  outputFileId?: string;
  errorFileId?: string;
  /** Why the batch failed validation. */
  errors?: string;
  /** The `api-version` of Azure requests. */
  apiVersion?: string;
}

export interface BatchApi {
  files: Map<string, FakeFile>;
  batches: FakeBatch[];
  handles(path: string): boolean;
  handle(request: http.IncomingMessage, response: http.ServerResponse, path: string, body: Buffer): Promise<void>;
}

export function batchApi(options: FakeBatchOptions, selfUrl: () => string): BatchApi {
  const files = new Map<string, FakeFile>();
  const batches: FakeBatch[] = [];
  let nextId = 1;

  const send = (response: http.ServerResponse, status: number, value: unknown): void => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(value));
  };
  const sendError = (response: http.ServerResponse, status: number, message: string, code: string | null = null): void =>
    send(response, status, { error: { message, type: 'invalid_request_error', param: null, code } });

  const fileObject = (file: FakeFile): unknown => ({
    id: file.id,
    object: 'file',
    bytes: Buffer.byteLength(file.content),
    created_at: Math.floor(Date.now() / 1000),
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
  });

  const batchObject = (batch: FakeBatch): unknown => {
    const failed = batch.results.filter((result) => result.status !== 200).length;
    return {
      id: batch.id,
      object: 'batch',
      endpoint: batch.endpoint,
      errors: batch.errors ? { object: 'list', data: [{ code: 'invalid_file', message: batch.errors, line: null, param: null }] } : null,
      input_file_id: batch.inputFileId,
      completion_window: batch.completionWindow,
      status: batch.status,
      output_file_id: batch.outputFileId ?? null,
      error_file_id: batch.errorFileId ?? null,
      created_at: Math.floor(Date.now() / 1000),
      request_counts: { total: batch.lines.length, completed: batch.results.length - failed, failed },
    };
  };

  const store = (purpose: string, filename: string, content: string): FakeFile => {
    const file = { id: `file-${nextId++}`, purpose, filename, content };
    files.set(file.id, file);
    return file;
  };

  /** Answers a line with the server's own chat endpoint, as the batch worker of the real service would. */
  const answerLine = async (batch: FakeBatch, line: FakeBatch['lines'][number], headers: http.IncomingHttpHeaders): Promise<void> => {
    const suffix = line.url.endsWith('/chat/completions') ? '/chat/completions' : '/completions';
    const reply = await fetch(`${selfUrl()}${suffix}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-fake-batch': batch.id,
        // The key the batch was polled with answers its lines, as the caller's key pays for them.
        ...(typeof headers.authorization === 'string' ? { authorization: headers.authorization } : {}),
        ...(typeof headers['api-key'] === 'string' ? { 'api-key': headers['api-key'] } : {}),
      },
      body: JSON.stringify({ ...line.body, stream: false }),
    });
    const text = await reply.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = { error: { message: 'malformed response' } };
    }
    batch.results.push({ custom_id: line.custom_id, status: reply.status, body });
  };

  /** Writes the output file (answers) and the error file (failed lines), as a finished batch has them. */
  const finalize = (batch: FakeBatch, status: 'completed' | 'cancelled' | 'expired'): void => {
    const line = (result: FakeBatch['results'][number], index: number): string =>
      JSON.stringify({
        id: `batch_req_${batch.id}_${index}`,
        custom_id: result.custom_id,
        response: { status_code: result.status, request_id: `req_${index}`, body: result.body },
        error: null,
      });
    const ok = batch.results.filter((result) => result.status === 200);
    const failed = batch.results.filter((result) => result.status !== 200);
    if (ok.length > 0) batch.outputFileId = store('batch_output', `${batch.id}_output.jsonl`, ok.map(line).join('\n') + '\n').id;
    if (failed.length > 0) batch.errorFileId = store('batch_output', `${batch.id}_error.jsonl`, failed.map(line).join('\n') + '\n').id;
    batch.status = status;
  };

  const advance = async (batch: FakeBatch, headers: http.IncomingHttpHeaders): Promise<void> => {
    batch.polls++;
    if (batch.status === 'cancelling') {
      finalize(batch, 'cancelled');
      return;
    }
    const endAs = options.endAs?.[batches.indexOf(batch)];
    if (batch.status === 'validating' && endAs === 'failed') {
      batch.status = 'failed';
      batch.errors = 'Enqueued token limit reached for gpt-4o-mini in organization org-fake.';
      return;
    }
    if (batch.status === 'validating') {
      batch.status = 'in_progress';
      return;
    }
    if (batch.status !== 'in_progress') return;
    const pending = batch.lines.slice(batch.results.length, batch.results.length + (options.linesPerPoll ?? Infinity));
    for (const line of pending) await answerLine(batch, line, headers);
    const due = batch.polls >= (options.pollsToComplete ?? 2);
    if (due && endAs === 'expired') finalize(batch, 'expired');
    else if (batch.results.length === batch.lines.length && due) finalize(batch, 'completed');
  };

  const createBatch = (response: http.ServerResponse, api: 'openai' | 'azure', body: Buffer, apiVersion: string | undefined): void => {
    let request: { input_file_id?: string; endpoint?: string; completion_window?: string };
    try {
      request = JSON.parse(body.toString('utf8')) as typeof request;
    } catch {
      sendError(response, 400, 'Malformed request body');
      return;
    }
    const file = files.get(request.input_file_id ?? '');
    if (!file) return sendError(response, 404, `No such File object: ${request.input_file_id ?? ''}`);
    if (file.purpose !== 'batch') return sendError(response, 400, `The file's purpose is '${file.purpose}', not 'batch'.`);
    if (request.completion_window !== '24h') return sendError(response, 400, "completion_window must be '24h'");
    const expected = api === 'azure' ? '/chat/completions' : '/v1/chat/completions';
    const endpoints = api === 'azure' ? ['/chat/completions', '/completions'] : ['/v1/chat/completions', '/v1/completions'];
    if (!endpoints.includes(request.endpoint ?? '')) return sendError(response, 400, `endpoint must be ${expected} here`);
    const lines: FakeBatch['lines'] = [];
    const text = file.content.trim();
    for (const [index, raw] of (text ? text.split('\n') : []).entries()) {
      try {
        const line = JSON.parse(raw) as FakeBatch['lines'][number];
        if (typeof line.custom_id !== 'string' || line.url !== request.endpoint || typeof line.body !== 'object')
          throw new Error(`line ${index + 1}: no custom_id, or a url other than the batch's endpoint`);
        if (lines.some((other) => other.custom_id === line.custom_id)) throw new Error(`line ${index + 1}: duplicate custom_id`);
        lines.push(line);
      } catch (error) {
        return sendError(response, 400, error instanceof Error ? error.message : String(error));
      }
    }
    if (options.maxRequests !== undefined && lines.length > options.maxRequests)
      return sendError(response, 400, `The batch has ${lines.length} requests; at most ${options.maxRequests} are allowed.`);
    if (options.maxBytes !== undefined && Buffer.byteLength(file.content) > options.maxBytes)
      return sendError(response, 400, `The input file is over ${options.maxBytes} bytes.`);
    const batch: FakeBatch = {
      id: `batch_${nextId++}`,
      api,
      endpoint: request.endpoint ?? '',
      completionWindow: request.completion_window,
      inputFileId: file.id,
      status: 'validating',
      polls: 0,
      lines,
      results: [],
      ...(apiVersion ? { apiVersion } : {}),
    };
    batches.push(batch);
    send(response, 200, batchObject(batch));
  };

  return {
    files,
    batches,
    handles: (path) => /^\/(v1|openai)\/(files|batches)(\/|$)/.test(path),
    async handle(request, response, path, body) {
      const api = path.startsWith('/openai/') ? 'azure' : 'openai';
      const apiVersion = new URL(request.url ?? '', 'http://x').searchParams.get('api-version') ?? undefined;
      if (api === 'azure' && !apiVersion)
        return sendError(response, 400, 'Missing required query parameter api-version', 'missing_api_version');
      const rest = path.replace(/^\/(v1|openai)/, '');
      const method = request.method ?? 'GET';
      if (method === 'POST' && rest === '/files') {
        const form = await new Response(new Uint8Array(body), {
          headers: { 'content-type': request.headers['content-type'] ?? '' },
        }).formData();
        const upload = form.get('file');
        const purpose = form.get('purpose');
        if (typeof purpose !== 'string' || !upload || typeof upload === 'string')
          return sendError(response, 400, 'file and purpose are required');
        return send(response, 200, fileObject(store(purpose, upload.name, await upload.text())));
      }
      const content = /^\/files\/([^/]+)\/content$/.exec(rest);
      if (method === 'GET' && content) {
        const file = files.get(content[1] ?? '');
        if (!file) return sendError(response, 404, `No such File object: ${content[1] ?? ''}`);
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.end(file.content);
        return;
      }
      const fileInfo = /^\/files\/([^/]+)$/.exec(rest);
      if (method === 'GET' && fileInfo) {
        const file = files.get(fileInfo[1] ?? '');
        return file ? send(response, 200, fileObject(file)) : sendError(response, 404, `No such File object: ${fileInfo[1] ?? ''}`);
      }
      if (method === 'POST' && rest === '/batches') return createBatch(response, api, body, apiVersion);
      const batchPath = /^\/batches\/([^/]+)(\/cancel)?$/.exec(rest);
      const batch = batches.find((entry) => entry.id === batchPath?.[1]);
      if (batchPath && !batch) return sendError(response, 404, `No such batch: ${batchPath[1] ?? ''}`);
      if (batch && method === 'GET' && !batchPath?.[2]) {
        await advance(batch, request.headers);
        return send(response, 200, batchObject(batch));
      }
      if (batch && method === 'POST' && batchPath?.[2]) {
        if (batch.status === 'validating' || batch.status === 'in_progress') batch.status = 'cancelling';
        return send(response, 200, batchObject(batch));
      }
      sendError(response, 404, `Unknown path ${method} ${path}`, 'not_found');
    },
  };
}
