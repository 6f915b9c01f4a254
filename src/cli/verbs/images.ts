/**
 * `hearth images` and `hearth rmi`. References are shown as docker shows them: `nginx` for
 * `docker.io/library/nginx`, the tag in a column of its own, an image without a reference as `<none>`.
 * @module
 */
import { CliError, seg, type Client } from '../client.ts';
import { ago, asJson, humanSize } from '../format.ts';
import { formatTable } from '../table.ts';

interface ImageItem {
  digest: string;
  references: string[];
  created: string | null;
  size: number;
  size_on_disk: number;
}

/** `docker.io/library/nginx:alpine` as `["nginx", "alpine"]`; a digest reference's tag is `<none>`. */
export function splitReference(ref: string): [string, string] {
  const at = ref.indexOf('@');
  const name = at >= 0 ? ref.slice(0, at) : ref;
  const slash = name.lastIndexOf('/');
  const colon = name.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [name.slice(0, colon), name.slice(colon + 1)] : [name, '<none>'];
  return [repo.replace(/^docker\.io\/library\//, '').replace(/^docker\.io\//, ''), tag];
}

export async function images(client: Client, opts: { quiet?: boolean; json?: boolean }): Promise<number> {
  const { items } = await client.json<{ items: ImageItem[] }>('GET', '/v1/images');
  const id = (i: ImageItem) => i.digest.replace(/^sha256:/, '').slice(0, 12);
  if (opts.json) process.stdout.write(asJson(items));
  else if (opts.quiet) process.stdout.write([...new Set(items.map(id))].map((i) => `${i}\n`).join(''));
  else {
    const rows = items.flatMap((i) =>
      (i.references.length === 0 ? ['<none>:<none>'] : i.references).map((ref) => {
        const [repo, tag] = ref === '<none>:<none>' ? ['<none>', '<none>'] : splitReference(ref);
        return [repo, tag, id(i), ago(i.created), humanSize(i.size_on_disk)];
      }),
    );
    process.stdout.write(formatTable(['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE'], rows));
  }
  return 0;
}

export async function rmi(client: Client, refs: string[], opts: { force?: boolean }): Promise<number> {
  let failed = 0;
  for (const ref of refs) {
    try {
      const r = await client.json<{ untagged: string[]; digest: string; freed_bytes: number }>('DELETE', `/v1/images/${seg(ref)}`, {
        query: { force: opts.force || undefined },
      });
      for (const u of r.untagged) process.stdout.write(`Untagged: ${u}\n`);
      if (r.freed_bytes > 0) process.stdout.write(`Deleted: ${r.digest} (${humanSize(r.freed_bytes)} freed)\n`);
    } catch (e) {
      if (!(e instanceof CliError)) throw e;
      process.stderr.write(`hearth: ${ref}: ${e.message}\n`);
      failed++;
    }
  }
  return failed === 0 ? 0 : 1;
}
