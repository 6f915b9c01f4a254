/**
 * The CLI's only way to the manager: the `/v1` HTTP API and its WebSockets, at `--host` or `HEARTH_HOST`,
 * with the token from `HEARTH_API_TOKEN`. API errors become `ApiError` (the API's code, message and field);
 * a manager that does not answer becomes "cannot reach the manager at ...".
 * @module
 */
import WebSocket from 'ws';

export const DEFAULT_URL = 'http://127.0.0.1:18080';

/** A failure the CLI reports as `hearth: <message>`; `exitCode` overrides the verb's usual failure status. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode?: number,
  ) {
    super(message);
  }
}

/** An error answer of the API: `{"error": {code, message, field?}}`; no code if the answer was not the API's. */
export class ApiError extends CliError {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    readonly field?: string,
  ) {
    super(field !== undefined && !message.includes(field) ? `${message} (${field})` : message);
  }
}

/**
 * The manager's URL. HEARTH_HOST is also the manager's listen address (`serve`), so a bare host such as
 * `0.0.0.0` or `127.0.0.1` is accepted too, with HEARTH_PORT's port: one environment serves both.
 */
export function managerUrl(host: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const given = host ?? env.HEARTH_HOST;
  if (given === undefined || given === '') return DEFAULT_URL;
  if (/^https?:\/\//.test(given)) return given.replace(/\/+$/, '');
  const bare = given === '0.0.0.0' ? '127.0.0.1' : given;
  const withPort = /:\d+$/.test(bare) ? bare : `${bare}:${env.HEARTH_PORT || '18080'}`;
  return `http://${withPort}`;
}

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  accept?: string;
  signal?: AbortSignal;
}

export class Client {
  readonly token: string | undefined;
  constructor(
    readonly url: string,
    token = process.env.HEARTH_API_TOKEN,
  ) {
    this.token = token === '' ? undefined : token;
  }

  private target(path: string, query: RequestOptions['query'] = {}): string {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    const qs = params.toString();
    return `${this.url}${path}${qs === '' ? '' : `?${qs}`}`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.token === undefined ? {} : { authorization: `Bearer ${this.token}` }), ...extra };
  }

  /** The raw response of a request that succeeded (2xx); throws ApiError or "cannot reach" otherwise. */
  async request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
    const headers = this.headers({
      ...(opts.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(opts.accept === undefined ? {} : { accept: opts.accept }),
    });
    let res: Response;
    try {
      res = await fetch(this.target(path, opts.query), {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
      });
    } catch (e) {
      if (opts.signal?.aborted) throw e;
      throw this.unreachable(e);
    }
    if (res.ok) return res;
    throw await errorOf(res);
  }

  /** A JSON answer (undefined for 204). */
  async json<T = any>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, { accept: 'application/json', ...opts });
    const text = await res.text();
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Each line of an NDJSON answer, parsed, as it arrives. */
  async *ndjson<T = any>(method: string, path: string, opts: RequestOptions = {}): AsyncGenerator<T> {
    const res = await this.request(method, path, { accept: 'application/x-ndjson', ...opts });
    if (res.body === null) return;
    const decoder = new TextDecoder();
    let pending = '';
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.trim() !== '') yield JSON.parse(line) as T;
      }
    }
    if (pending.trim() !== '') yield JSON.parse(pending) as T;
  }

  /**
   * Opens a WebSocket on an API path; rejects with the API's error if the upgrade is refused. It comes
   * paused: the server may send at once (an attach's replay), and a message emitted before the caller's
   * listener is there would be lost. The caller resumes it.
   */
  websocket(path: string, query: RequestOptions['query'] = {}): Promise<WebSocket> {
    const url = this.target(path, query).replace(/^http/, 'ws');
    const ws = new WebSocket(url, { headers: this.headers(), maxPayload: 2 * 2 ** 20 });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        ws.pause();
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        let text = '';
        res.on('data', (b: Buffer) => (text += b.toString()));
        res.on('end', () => reject(errorFromBody(res.statusCode ?? 0, text)));
      });
      ws.once('error', (e) => reject(this.unreachable(e)));
    });
  }

  private unreachable(e: unknown): CliError {
    // fetch says "fetch failed"; what happened is in its cause (ECONNREFUSED, a name not found, "bad port").
    const inner = e instanceof Error ? (e.cause as { code?: string; message?: string } | undefined) : undefined;
    const cause = inner?.code ?? inner?.message ?? (e instanceof Error ? e.message : String(e));
    return new CliError(`cannot reach the manager at ${this.url} (${cause}): is it running? (hearth serve; --host or HEARTH_HOST)`);
  }
}

async function errorOf(res: Response): Promise<ApiError> {
  return errorFromBody(res.status, await res.text().catch(() => ''));
}

function errorFromBody(status: number, text: string): ApiError {
  try {
    const { error } = JSON.parse(text) as { error?: { code?: string; message?: string; field?: string } };
    if (error?.message !== undefined) return new ApiError(status, error.code, error.message, error.field);
  } catch {
    // Not the API's JSON: a proxy's page, or a manager too old to know the route.
  }
  return new ApiError(status, undefined, `the manager answered ${status}${text === '' ? '' : `: ${text.slice(0, 200)}`}`);
}

/**
 * A user-given value as one path segment: an image reference's `/` becomes `%2F`, as the API wants. `.` and
 * `..` cannot be sent (a URL resolves them, escaped or not, to another path) and are no image's or volume's name.
 */
export function seg(s: string): string {
  if (s === '.' || s === '..') throw new CliError(`'${s}' names nothing`);
  return encodeURIComponent(s);
}
