/**
 * `hearth volume ls|create|rm`: named and anonymous volumes, their size and what uses them.
 * @module
 */
import { CliError, seg, type Client } from '../client.ts';
import { asJson, humanSize } from '../format.ts';
import { formatTable } from '../table.ts';

interface VolumeItem {
  name: string;
  anonymous: boolean;
  size_bytes: number;
  used_bytes: number | null;
  containers: { name: string }[];
}

export async function volumeLs(client: Client, opts: { quiet?: boolean; json?: boolean }): Promise<number> {
  const { items } = await client.json<{ items: VolumeItem[] }>('GET', '/v1/volumes');
  if (opts.json) process.stdout.write(asJson(items));
  else if (opts.quiet) process.stdout.write(items.map((v) => `${v.name}\n`).join(''));
  else {
    const rows = items.map((v) => [v.name, humanSize(v.size_bytes), humanSize(v.used_bytes), v.containers.map((c) => c.name).join(', ')]);
    process.stdout.write(formatTable(['VOLUME NAME', 'SIZE', 'USED', 'CONTAINERS'], rows));
  }
  return 0;
}

export async function volumeCreate(client: Client, name: string, opts: { size?: string; label?: string[]; json?: boolean }): Promise<number> {
  const labels: Record<string, string> = {};
  for (const l of opts.label ?? []) {
    const eq = l.indexOf('=');
    labels[eq < 0 ? l : l.slice(0, eq)] = eq < 0 ? '' : l.slice(eq + 1);
  }
  const size = opts.size === undefined ? undefined : Number(opts.size);
  if (size !== undefined && !Number.isInteger(size)) throw new CliError(`--size ${opts.size}: expected a whole number of MiB`, 2);
  const { item } = await client.json<{ item: VolumeItem }>('POST', '/v1/volumes', {
    body: { name, ...(size === undefined ? {} : { size_mib: size }), ...(opts.label?.length ? { labels } : {}) },
  });
  process.stdout.write(opts.json ? asJson(item) : `${item.name}\n`);
  return 0;
}

export async function volumeRm(client: Client, names: string[]): Promise<number> {
  let failed = 0;
  for (const name of names) {
    try {
      await client.request('DELETE', `/v1/volumes/${seg(name)}`);
      process.stdout.write(`${name}\n`);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      process.stderr.write(`hearth: ${name}: ${e.message}\n`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}
