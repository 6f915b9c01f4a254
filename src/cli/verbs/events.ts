/**
 * `hearth events`: the API's event stream, from now on unless `--since` asks for the past, one line per event
 * (`--json`: the API's objects, one per line), until `--until` passes or the CLI is stopped.
 * @module
 */
import type { Client } from '../client.ts';
import { listContainers } from '../containers.ts';

export interface EventsOptions {
  since?: string;
  until?: string;
  container?: string[];
  type?: string[];
  json?: boolean;
}

interface EventItem {
  id: number;
  container_id: string | null;
  image: string | null;
  time: string;
  type: string;
  from_state: string | null;
  to_state: string | null;
  message: string | null;
  exit_code: number | null;
  health_status: string | null;
  /** On volume and network events, from managers that record them. */
  volume?: string | null;
  network?: string | null;
}

/** `<time> <container name, image, volume or network> <type> [from -> to] [exit N] [message]`. */
export function eventLine(e: EventItem, names: Map<string, string>): string {
  const subject =
    e.container_id !== null
      ? `container ${names.get(e.container_id) ?? e.container_id.slice(0, 12)}`
      : e.type.startsWith('image-')
        ? `image ${e.image ?? ''}`
        : e.type.startsWith('volume-')
          ? `volume ${e.volume ?? ''}`
          : e.type.startsWith('network-')
            ? `network ${e.network ?? ''}`
            : 'container';
  const parts = [e.time, subject, e.type];
  if (e.from_state !== null || e.to_state !== null) parts.push(`${e.from_state ?? '-'} -> ${e.to_state ?? '-'}`);
  if (e.exit_code !== null) parts.push(`exit ${e.exit_code}`);
  if (e.health_status !== null) parts.push(e.health_status);
  if (e.message) parts.push(`(${e.message})`);
  return parts.join(' ');
}

export async function events(client: Client, opts: EventsOptions): Promise<number> {
  const names = new Map<string, string>();
  const learn = async () => {
    for (const c of await listContainers(client)) names.set(c.id, c.name);
  };
  if (!opts.json) await learn();
  const query = {
    since: opts.since ?? new Date().toISOString(),
    until: opts.until,
    container: opts.container?.join(','),
    type: opts.type?.join(','),
  };
  for await (const e of client.ndjson<EventItem>('GET', '/v1/events', { query })) {
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      continue;
    }
    if (e.container_id !== null && !names.has(e.container_id)) await learn().catch(() => {});
    process.stdout.write(`${eventLine(e, names)}\n`);
  }
  return 0;
}
