/**
 * `hearth pull IMAGE`: the API's pull progress stream, as one progress bar redrawn in place on a terminal
 * (bytes of every layer together) or as plain lines otherwise (one per layer step, for logs and pipes);
 * `--json` passes the stream's lines through. Fails with the API's error when the pull does.
 * @module
 */
import { CliError, type Client } from '../client.ts';
import { humanSize } from '../format.ts';

interface PullLine {
  status: 'resolving' | 'resolved' | 'layer' | 'building' | 'done' | 'error';
  image?: string;
  digest?: string;
  layers?: { digest: string; size: number }[];
  state?: string;
  done?: number;
  total?: number;
  error?: { code: string; message: string };
}

const short = (digest: string | undefined) => (digest ?? '').replace(/^sha256:/, '').slice(0, 12);

/** A bar 30 cells wide with the share done and the bytes: `[=========>         ] 31% 12.1MB/39MB`. */
export function progressBar(done: number, total: number, width = 30): string {
  const share = total > 0 ? Math.min(1, done / total) : 1;
  const filled = Math.floor(share * width);
  const bar = filled >= width ? '='.repeat(width) : `${'='.repeat(filled)}>${' '.repeat(width - filled - 1)}`;
  return `[${bar}] ${String(Math.floor(share * 100)).padStart(3)}% ${humanSize(done)}/${humanSize(total)}`;
}

/** Pulls `image`, reporting on `out`; resolves with the manifest digest. */
export async function pullImage(client: Client, image: string, out: NodeJS.WriteStream, opts: { json?: boolean } = {}): Promise<string> {
  const tty = out.isTTY === true && !opts.json;
  const layers = new Map<string, { done: number; total: number }>();
  let line = '';
  const redraw = (text: string) => {
    line = text;
    out.write(`\r\x1b[2K${text}`);
  };
  const say = (text: string) => {
    if (tty && line !== '') out.write('\r\x1b[2K');
    out.write(`${text}\n`);
    if (tty && line !== '') out.write(line);
  };
  for await (const l of client.ndjson<PullLine>('POST', '/v1/images/pull', { body: { image } })) {
    if (opts.json) {
      out.write(`${JSON.stringify(l)}\n`);
      if (l.status === 'error') throw new CliError(l.error?.message ?? 'the pull failed');
      if (l.status === 'done') return l.digest!;
      continue;
    }
    switch (l.status) {
      case 'resolving':
        say(`Pulling ${image}`);
        break;
      case 'resolved':
        for (const layer of l.layers ?? []) layers.set(layer.digest, { done: 0, total: layer.size });
        say(`${image}: ${layers.size} layer${layers.size === 1 ? '' : 's'}, ${short(l.digest)}`);
        break;
      case 'layer': {
        const layer = layers.get(l.digest!) ?? { done: 0, total: l.total ?? 0 };
        layer.total = l.total ?? layer.total;
        layer.done = l.state === 'cached' || l.state === 'verified' ? layer.total : (l.done ?? layer.done);
        layers.set(l.digest!, layer);
        if (tty) {
          const sum = [...layers.values()].reduce((a, x) => ({ done: a.done + x.done, total: a.total + x.total }), { done: 0, total: 0 });
          redraw(`Downloading ${progressBar(sum.done, sum.total)}`);
        } else {
          const share = l.total ? ` ${Math.floor(((l.done ?? 0) / l.total) * 100)}% of ${humanSize(l.total)}` : '';
          out.write(`${short(l.digest)}: ${l.state}${l.state === 'downloading' ? share : ''}\n`);
        }
        break;
      }
      case 'building':
        say(`Building the disk of ${short(l.digest)}`);
        break;
      case 'done':
        if (tty) out.write('\r\x1b[2K');
        out.write(`Pulled ${image} (${l.digest})\n`);
        return l.digest!;
      case 'error':
        if (tty) out.write('\r\x1b[2K');
        throw new CliError(l.error?.message ?? 'the pull failed');
    }
  }
  throw new CliError('the pull stream ended without a result');
}

export async function pull(client: Client, image: string, opts: { json?: boolean }): Promise<number> {
  await pullImage(client, image, process.stdout, opts);
  return 0;
}
