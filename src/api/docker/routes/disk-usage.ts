/**
 * `GET /system/df` (`docker system df`): what images, containers and volumes take, from the same lists the
 * other routes give (images as `docker images` shows them, containers as `docker ps -s`, volumes with their
 * usage). Hearth builds nothing, so the build cache is empty. `type` picks some of them, as on dockerd.
 * @module
 */
import type { FastifyInstance } from 'fastify';
import type { DockerContext } from '../context.ts';
import { invalidParameter } from '../errors.ts';
import { FactsSource } from '../resolve.ts';
import { toDockerSummary } from '../shapes/container.ts';
import { imageSummary } from '../shapes/image.ts';
import { dockerVolume } from '../shapes/volume.ts';
import { sizes } from './containers.ts';

const TYPES = ['image', 'container', 'volume', 'build-cache'] as const;

export function diskUsageRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.get<{ Querystring: { type?: string | string[] } }>('/system/df', async (req) => {
    const asked = [req.query.type ?? []].flat();
    for (const t of asked) if (!(TYPES as readonly string[]).includes(t)) throw invalidParameter(`unknown object type: ${t}`);
    const wants = (t: (typeof TYPES)[number]) => asked.length === 0 || asked.includes(t);
    const out: Record<string, unknown> = {};
    if (wants('image')) {
      const images = await ctx.images.list();
      // SharedSize is computed here as dockerd does for df (unlike the image list's -1): the CLI counts an image
      // in use as not reclaimable only when it is known. Hearth's images share no disk, so 0.
      out.Images = await Promise.all(images.map(async (i) => ({ ...imageSummary(i, (await ctx.images.inspect(i.manifestDigest)).config.labels), SharedSize: 0 })));
      out.LayersSize = images.reduce((n, i) => n + i.bytesOnDisk, 0);
    }
    if (wants('container')) {
      const source = new FactsSource(ctx);
      out.Containers = await Promise.all((await ctx.manager.list()).map(async (c) => ({ ...toDockerSummary(c, await source.facts(c)), ...(await sizes(ctx, c)) })));
    }
    if (wants('volume')) out.Volumes = (await ctx.manager.volumes.list()).map(dockerVolume);
    if (wants('build-cache')) out.BuildCache = [];
    return out;
  });
}
