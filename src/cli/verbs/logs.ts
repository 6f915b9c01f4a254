/**
 * `hearth logs [-f] [--tail N] [-t] [--since T] CONTAINER`: what the process printed, stdout to stdout and
 * stderr to stderr; with -f, new lines until the process ends.
 * @module
 */
import type { Client } from '../client.ts';
import { findContainer } from '../containers.ts';

export interface LogsOptions {
  follow?: boolean;
  tail?: string;
  timestamps?: boolean;
  since?: string;
}

interface LogItem {
  timestamp: string;
  stream: string;
  message: string;
}

export async function logs(client: Client, ref: string, opts: LogsOptions): Promise<number> {
  const { id } = await findContainer(client, ref);
  const tail = opts.tail === undefined || opts.tail === 'all' ? undefined : opts.tail;
  const query = { tail, since: opts.since, follow: opts.follow || undefined };
  const print = (e: LogItem) => (e.stream === 'stderr' ? process.stderr : process.stdout).write(`${opts.timestamps ? `${e.timestamp} ` : ''}${e.message}\n`);
  if (opts.follow) {
    for await (const e of client.ndjson<LogItem>('GET', `/v1/containers/${id}/logs`, { query })) print(e);
  } else {
    for (const e of (await client.json<{ items: LogItem[] }>('GET', `/v1/containers/${id}/logs`, { query })).items) print(e);
  }
  return 0;
}
