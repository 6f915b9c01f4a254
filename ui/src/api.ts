/**
 * Every call the UI makes to the manager's /v1 API, with the token the user signed in with. The token is kept in
 * sessionStorage: for this tab only, gone when it closes. Errors are the API's own (`{"error": {code, message,
 * field}}`) as ApiError, so a form can show the message next to the field it names.
 */
const TOKEN_KEY = 'hearth.token';

export const token = {
  get: (): string => sessionStorage.getItem(TOKEN_KEY) ?? '',
  set: (t: string) => sessionStorage.setItem(TOKEN_KEY, t),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** Listeners told when the API answers 401 (the app shows the sign-in page). */
const onUnauthenticated = new Set<() => void>();
export const whenUnauthenticated = (f: () => void) => (onUnauthenticated.add(f), () => onUnauthenticated.delete(f));

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const t = token.get();
  return t ? { ...extra, authorization: `Bearer ${t}` } : extra;
}

async function failure(r: Response): Promise<ApiError> {
  const body = (await r.json().catch(() => undefined)) as { error?: { code: string; message: string; field?: string } } | undefined;
  if (r.status === 401) for (const f of onUnauthenticated) f();
  const e = body?.error;
  return new ApiError(r.status, e?.code ?? 'HTTP_' + r.status, e?.message ?? r.statusText, e?.field);
}

/** A JSON call; answers the parsed body (undefined for 204). */
export async function call<T = any>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const r = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    ...(signal ? { signal } : {}),
  });
  if (!r.ok) throw await failure(r);
  return r.status === 204 ? (undefined as T) : ((await r.json()) as T);
}

/** A raw GET (logs download): the response, or ApiError. */
export async function getRaw(path: string, accept: string): Promise<Response> {
  const r = await fetch(path, { headers: headers({ accept }) });
  if (!r.ok) throw await failure(r);
  return r;
}

/**
 * Reads an NDJSON stream (events, logs, stats, pull progress), calling `onLine` per object, until it ends or
 * `signal` aborts. Resolves when the stream ends; an abort resolves quietly.
 */
export async function streamLines<T>(method: string, path: string, onLine: (v: T) => void, signal: AbortSignal, body?: unknown): Promise<void> {
  try {
    const r = await fetch(path, {
      method,
      signal,
      headers: headers({ accept: 'application/x-ndjson', ...(body === undefined ? {} : { 'content-type': 'application/json' }) }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!r.ok) throw await failure(r);
    const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
    let pending = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      pending += value;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line) onLine(JSON.parse(line) as T);
    }
  } catch (e) {
    if (signal.aborted) return;
    throw e;
  }
}

/**
 * A WebSocket to the API. Browsers cannot set headers on one, so the token goes as a subprotocol
 * (`bearer.<base64url>`, next to `hearth`, which the manager selects): docs/api.md, Authentication.
 */
export function openSocket(path: string): WebSocket {
  const url = new URL(path, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  const t = token.get();
  const protocols = t ? ['hearth', 'bearer.' + base64url(t)] : ['hearth'];
  const ws = new WebSocket(url, protocols);
  ws.binaryType = 'arraybuffer';
  return ws;
}

function base64url(s: string): string {
  const bytes = new TextEncoder().encode(s);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const enc = encodeURIComponent;
