/**
 * An HTTP proxy in front of a test registry that can count blob downloads, alter a blob's body (to test
 * digest verification) and throttle responses (to kill a pull mid-download).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxyOptions {
  /** Flip a byte in the body of blobs for which this returns true. */
  tamper?: (digest: string) => boolean;
  /** Bytes per second for blob bodies. */
  throttle?: number;
}

export interface TestProxy {
  host: string;
  url: string;
  blobGets(digest: string): number;
  stop(): Promise<void>;
}

export async function startProxy(target: string, opts: ProxyOptions = {}): Promise<TestProxy> {
  const gets = new Map<string, number>();
  const t = new URL(target);
  let stopped = false;
  const server = http.createServer((req, res) => {
    const m = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(req.url ?? '');
    const digest = m?.[1];
    if (digest && req.method === 'GET') gets.set(digest, (gets.get(digest) ?? 0) + 1);
    const up = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: { ...req.headers, host: t.host } },
      (ur) => {
        res.writeHead(ur.statusCode ?? 502, ur.headers);
        if (!digest || req.method !== 'GET') {
          ur.pipe(res);
          return;
        }
        let first = true;
        ur.on('data', (chunk: Buffer) => {
          if (first && opts.tamper?.(digest)) chunk[chunk.length - 1] = chunk[chunk.length - 1]! ^ 0xff;
          first = false;
          if (!opts.throttle) {
            res.write(chunk);
            return;
          }
          ur.pause();
          let off = 0;
          const step = Math.max(1, Math.floor(opts.throttle / 20));
          const tick = (): void => {
            if (stopped) return;
            res.write(chunk.subarray(off, off + step));
            off += step;
            if (off < chunk.length) setTimeout(tick, 50);
            else ur.resume();
          };
          tick();
        });
        ur.on('end', () => {
          const finish = (): void => {
            if (ur.isPaused()) setTimeout(finish, 20);
            else res.end();
          };
          finish();
        });
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    blobGets: (d) => gets.get(d) ?? 0,
    stop: () =>
      new Promise<void>((r) => {
        if (stopped) return r();
        stopped = true;
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
