/**
 * `ps`, `start`, `stop`, `restart`, `rm` and `inspect`: a container's record and its lifecycle commands.
 * Verbs that take several containers go on past one that fails, report each failure, and fail at the end,
 * as docker's do.
 * @module
 */
import { CliError, seg, type Client } from '../client.ts';
import { findContainer, listContainers, type ContainerItem } from '../containers.ts';
import { ago, asJson, humanDuration } from '../format.ts';
import { formatTable, truncate } from '../table.ts';

export interface PsOptions {
  all?: boolean;
  quiet?: boolean;
  json?: boolean;
}

export async function ps(client: Client, opts: PsOptions): Promise<number> {
  const items = (await listContainers(client)).filter((c) => opts.all || c.state === 'running' || c.state === 'paused').reverse();
  if (opts.json) process.stdout.write(asJson(items));
  else if (opts.quiet) process.stdout.write(items.map((c) => `${shortId(c)}\n`).join(''));
  else process.stdout.write(psTable(items, await imageCommands(client, items)));
  return 0;
}

interface ImageCommand {
  entrypoint: string[];
  cmd: string[];
}

/**
 * The Entrypoint and Cmd of each image the containers use, by the digest they resolved to (else the
 * reference), for docker's COMMAND column: the item has only the container's own `args`. One request per
 * image; an image that cannot be read leaves the column to the args.
 */
async function imageCommands(client: Client, items: ContainerItem[]): Promise<Map<string, ImageCommand>> {
  const refs = [...new Set(items.map(imageKey))];
  const found = await Promise.all(
    refs.map(async (ref) => {
      try {
        const { item } = await client.json<{ item: { config: ImageCommand } }>('GET', `/v1/images/${seg(ref)}`);
        return [ref, { entrypoint: item.config.entrypoint ?? [], cmd: item.config.cmd ?? [] }] as const;
      } catch (e) {
        if (e instanceof CliError) return undefined;
        throw e;
      }
    }),
  );
  return new Map(found.filter((f) => f !== undefined));
}

const imageKey = (c: ContainerItem) => (c.image_digest as string | null) ?? c.image;

/** docker's COMMAND: the entrypoint, then the args or else the image's Cmd, quoted and cut at 20 columns. */
function command(c: ContainerItem, images: Map<string, ImageCommand>): string {
  const image = images.get(imageKey(c));
  const words = [...(image?.entrypoint ?? []), ...(c.args.length > 0 ? c.args : (image?.cmd ?? []))];
  return words.length === 0 ? '' : `"${truncate(words.join(' '), 20)}"`;
}

export function psTable(items: ContainerItem[], images = new Map<string, ImageCommand>(), now = Date.now()): string {
  return formatTable(
    ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'],
    items.map((c) => [
      shortId(c),
      c.image,
      command(c, images),
      ago(c.created_at, now),
      status(c, now),
      c.port_mappings.map((p) => `${p.host_ip === null ? '' : `${p.host_ip}:`}${p.host_port}->${p.container_port}/${p.protocol}`).join(', '),
      c.name,
    ]),
  );
}

/** The API's id, cut as docker cuts its ids: enough to name the container, as a prefix, to every verb. */
export const shortId = (c: { id: string }) => c.id.slice(0, 12);

/** Docker's STATUS words for Hearth's states. */
export function status(c: ContainerItem, now = Date.now()): string {
  const since = (iso: string | null) => (iso ? humanDuration(Math.max(0, now - Date.parse(iso))) : '');
  switch (c.state) {
    case 'running':
      return `Up ${since(c.started_at)}${c.health ? ` (${c.health.status})` : ''}`;
    case 'paused':
      return `Up ${since(c.started_at)} (Paused)`;
    case 'exited':
      return `Exited (${c.exit_code ?? '?'}) ${ago(c.finished_at, now)}`.trimEnd();
    case 'stopped':
      return c.started_at === null ? 'Created' : `Stopped (${c.exit_code ?? '?'}) ${ago(c.finished_at, now)}`.trimEnd();
    case 'error':
      return `Error ${ago(c.finished_at ?? (c.updated_at as string), now)}`.trimEnd();
    default:
      return c.state.charAt(0).toUpperCase() + c.state.slice(1);
  }
}

/** Runs `act` on each container named, printing the name as given for each success. */
async function each(client: Client, refs: string[], act: (c: ContainerItem) => Promise<void>): Promise<number> {
  let failed = 0;
  for (const ref of refs) {
    try {
      await act(await findContainer(client, ref));
      process.stdout.write(`${ref}\n`);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      process.stderr.write(`hearth: ${ref}: ${e.message}\n`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}

/** A container that ends a start in `error` did not start: say why. */
function started(item: ContainerItem): void {
  if (item.state === 'error') throw new CliError(`it did not start: ${item.error_message ?? 'no reason recorded'}`);
}

export const start = (client: Client, refs: string[]) =>
  each(client, refs, async (c) => started((await client.json('POST', `/v1/containers/${c.id}/start`)).item));

export const stop = (client: Client, refs: string[], opts: { time?: number }) =>
  each(client, refs, async (c) => {
    await client.json('POST', `/v1/containers/${c.id}/stop`, { query: { timeout: opts.time } });
  });

export const restart = (client: Client, refs: string[], opts: { time?: number }) =>
  each(client, refs, async (c) => started((await client.json('POST', `/v1/containers/${c.id}/restart`, { query: { timeout: opts.time } })).item));

/** The API deletes in any state; docker refuses a running container without `-f`, and so does this. */
export const rm = (client: Client, refs: string[], opts: { force?: boolean }) =>
  each(client, refs, async (c) => {
    if (!opts.force && !['stopped', 'exited', 'error'].includes(c.state)) {
      throw new CliError(`the container is ${c.state}: stop it first, or remove it anyway with rm -f`);
    }
    await client.request('DELETE', `/v1/containers/${c.id}`);
  });

/** Containers by reference, else images, else volumes: the API's items, as a JSON array (docker's shape). */
export async function inspect(client: Client, refs: string[]): Promise<number> {
  const found: unknown[] = [];
  let failed = 0;
  for (const ref of refs) {
    const item = await inspectOne(client, ref);
    if (item === undefined) {
      process.stderr.write(`hearth: no such container, image or volume: ${ref}\n`);
      failed++;
    } else found.push(item);
  }
  process.stdout.write(asJson(found));
  return failed === 0 ? 0 : 1;
}

async function inspectOne(client: Client, ref: string): Promise<unknown> {
  try {
    return await findContainer(client, ref);
  } catch (e) {
    if (!(e instanceof CliError) || !e.message.startsWith('no such container')) throw e;
  }
  for (const path of [`/v1/images/${seg(ref)}`, `/v1/volumes/${seg(ref)}`]) {
    try {
      return (await client.json('GET', path)).item;
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status !== 404 && status !== 400) throw e;
    }
  }
  return undefined;
}
