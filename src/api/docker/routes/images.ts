/**
 * Images through the Docker API: pull (`POST /images/create`, Docker's progress stream), list, inspect,
 * history, tag, remove and prune, each one call into the same image library /v1/images uses (and so
 * recorded in the same event log). A name in a path may hold slashes (`localhost:5000/team/app:1`), so the
 * routes on one image are a wildcard read from its end. `docker build`, import, load, save, push and search
 * answer a clear 501.
 * @module
 */
import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ImageSummary, PullProgress } from '../../../containers/deps.ts';
import { describeError, isHearthError } from '../../../errors.ts';
import { formatPlatform, hostPlatform, parsePlatform } from '../../../images/manifest.ts';
import { familiarReference, formatReference, parseReference } from '../../../images/reference.ts';
import type { DockerContext } from '../context.ts';
import { DockerError, invalidParameter, notImplemented, toDockerResponse } from '../errors.ts';
import { booleanFilter, filterTime, matchLabels, matchOne, parseFilters } from '../filter-args.ts';
import { findImage } from '../image-lookup.ts';
import { imageHistory, imageInspect, imageSummary, repoDigests, repoTags } from '../shapes/image.ts';
import { errorLine, PullTranslator, type DockerProgressLine } from '../shapes/pull-progress.ts';
import { credentialsOf } from './registry-auth.ts';

type PullQuery = { Querystring: { fromImage?: string; fromSrc?: string; tag?: string; platform?: string } };
type ListQuery = { Querystring: { filters?: string; all?: string } };
type OneImage = { Params: { '*': string }; Querystring: Record<string, string | undefined> };

export function imageRoutes(app: FastifyInstance, ctx: DockerContext): void {
  app.post<PullQuery>('/images/create', (req, reply) => pull(ctx, req, reply));
  app.get<ListQuery>('/images/json', (req) => list(ctx, req.query));
  app.post<{ Querystring: { filters?: string } }>('/images/prune', (req) => prune(ctx, req.query.filters));
  // Hearth builds nothing, so it has no build cache: pruning it frees nothing (`docker system prune` asks).
  app.post('/build/prune', async () => ({ CachesDeleted: [], SpaceReclaimed: 0 }));
  for (const [method, path, why] of [
    ['POST', '/build', 'docker build is not supported by Hearth: build images elsewhere and pull them from a registry'],
    ['GET', '/build/cancel', 'docker build is not supported by Hearth'],
    ['POST', '/images/load', 'docker load is not supported by Hearth: push the image to a registry and pull it'],
    ['GET', '/images/get', 'docker save is not supported by Hearth'],
    ['GET', '/images/search', 'docker search is not supported by Hearth'],
  ] as const) {
    app.route({ method, url: path, handler: async () => Promise.reject(notImplemented(method, path, why)) });
  }
  app.get<OneImage>('/images/*', (req) => oneImage(ctx, req, 'GET'));
  app.post<OneImage>('/images/*', (req, reply) => oneImage(ctx, req, 'POST', reply));
  app.delete<OneImage>('/images/*', (req) => remove(ctx, req.params['*'], req.query));
}

/** `GET /images/{name}/json|history`, `POST /images/{name}/tag|push`. */
async function oneImage(ctx: DockerContext, req: FastifyRequest<OneImage>, method: 'GET' | 'POST', reply?: FastifyReply) {
  const path = req.params['*'];
  const slash = path.lastIndexOf('/');
  const [name, action] = slash < 0 ? [path, ''] : [path.slice(0, slash), path.slice(slash + 1)];
  if (method === 'GET' && action === 'json') return imageInspect((await findImage(ctx.images, name)).details);
  if (method === 'GET' && action === 'history') return imageHistory((await findImage(ctx.images, name)).details);
  if (method === 'GET' && action === 'get') throw notImplemented('GET', `/images/${path}`, 'docker save is not supported by Hearth');
  if (method === 'POST' && action === 'tag') {
    await tag(ctx, name, req.query.repo, req.query.tag);
    return reply!.status(201).send();
  }
  if (method === 'POST' && action === 'push') {
    throw notImplemented('POST', `/images/${path}`, 'docker push is not supported by Hearth: Hearth pulls images, it does not hold a registry of its own');
  }
  throw notImplemented(method, `/images/${path}`);
}

async function list(ctx: DockerContext, q: ListQuery['Querystring']) {
  const filters = parseFilters(q.filters, ['dangling', 'label', 'reference', 'before', 'since', 'until']);
  const dangling = booleanFilter(filters, 'dangling');
  const until = filters.get('until')?.[0];
  const untilMs = until === undefined ? undefined : filterTime(until, 'until');
  const all = await ctx.images.list();
  const createdOf = async (ref: string) => Date.parse((await findImage(ctx.images, ref)).details.created ?? '') || 0;
  const before = filters.get('before')?.[0];
  const since = filters.get('since')?.[0];
  const beforeMs = before === undefined ? undefined : await createdOf(before);
  const sinceMs = since === undefined ? undefined : await createdOf(since);
  const out = [];
  for (const i of all) {
    const tags = repoTags(i.refs);
    const created = Date.parse(i.created ?? '') || 0;
    if (dangling !== undefined && (tags.length === 0) !== dangling) continue;
    // as dockerd, only the tags and digests the patterns match are shown
    const matching = (names: string[]) => (filters.has('reference') ? names.filter((t) => matchOne(filters, 'reference', (pattern) => referenceMatches(pattern, t))) : names);
    const shownTags = matching(tags);
    const shownDigests = matching(repoDigests(i));
    if (filters.has('reference') && shownTags.length + shownDigests.length === 0) continue;
    if (beforeMs !== undefined && created >= beforeMs) continue;
    if (sinceMs !== undefined && created <= sinceMs) continue;
    if (untilMs !== undefined && created > untilMs) continue;
    const labels = (await ctx.images.inspect(i.manifestDigest)).config.labels;
    if (!matchLabels(filters, labels)) continue;
    out.push({ ...imageSummary(i, labels), RepoTags: shownTags, RepoDigests: shownDigests });
  }
  return out.sort((a, b) => b.Created - a.Created);
}

/**
 * `docker images busybox`, `--filter reference='team/*:1*'`: a shell pattern over `name`, `name:tag` or
 * `name@digest`, as `familiar` is a tag or a digest.
 */
function referenceMatches(pattern: string, familiar: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const at = familiar.indexOf('@');
  const name = at >= 0 ? familiar.slice(0, at) : familiar.slice(0, familiar.lastIndexOf(':'));
  return re.test(familiar) || re.test(name);
}

async function tag(ctx: DockerContext, name: string, repo: string | undefined, tagName: string | undefined): Promise<void> {
  if (!repo) throw invalidParameter('repository name must have at least one component (query parameter repo)');
  const target = `${repo}${tagName ? `:${tagName}` : ''}`;
  let canonical: string;
  try {
    canonical = formatReference(parseReference(target));
  } catch (e) {
    throw invalidParameter(describeError(e));
  }
  if (parseReference(target).digest !== undefined) throw invalidParameter(`refusing to create a tag with a digest reference: ${target}`);
  const found = await findImage(ctx.images, name);
  await ctx.images.tag(found.ref ?? found.details.manifestDigest, canonical);
}

type Removed = { Untagged: string } | { Deleted: string };

/** `DELETE /images/{name}`: Docker's list of what was untagged and deleted. */
async function remove(ctx: DockerContext, name: string, q: Record<string, string | undefined>): Promise<Removed[]> {
  const force = q.force === '1' || q.force === 'true';
  const found = await findImage(ctx.images, name);
  const d = found.details;
  if (!found.ref && repoTags(d.refs).length > 1 && !force) {
    throw new DockerError(409, `conflict: unable to delete ${shortId(d)} (must be forced) - image is referenced in multiple repositories`);
  }
  let r;
  try {
    r = await ctx.images.remove(found.ref ?? d.manifestDigest, { force });
  } catch (e) {
    if (isHearthError(e, 'HEARTH_ERR_IMAGE_IN_USE')) throw new DockerError(409, `conflict: unable to remove repository reference "${name}" (must force) - ${e.message}`);
    throw e;
  }
  const untagged = r.refs.map((ref) => familiarReference(parseReference(ref)));
  if (!r.unnamed) return untagged.map((u) => ({ Untagged: u }));
  return [...[...untagged, ...repoDigests(d)].map((u) => ({ Untagged: u })), { Deleted: d.configDigest }];
}

const shortId = (i: Pick<ImageSummary, 'configDigest'>) => i.configDigest.slice(7, 19);

/** `docker image prune`: dangling (untagged) images by default, every unused one with `dangling=false`. */
async function prune(ctx: DockerContext, filtersText: string | undefined) {
  const filters = parseFilters(filtersText, ['dangling', 'until', 'label']);
  const unusedOnly = (await ctx.images.list()).filter((i) => i.users.length === 0);
  const byDigest = new Map(unusedOnly.map((i) => [i.manifestDigest, i]));
  const deleted: Removed[] = [];
  let reclaimed = 0;
  if (booleanFilter(filters, 'dangling') === false && !filters.has('until') && !filters.has('label')) {
    const r = await ctx.images.prune();
    for (const img of r.images) {
      for (const ref of img.refs) deleted.push({ Untagged: familiarReference(parseReference(ref)) });
      const known = byDigest.get(img.manifestDigest);
      deleted.push({ Deleted: known?.configDigest ?? img.manifestDigest });
    }
    return { ImagesDeleted: deleted, SpaceReclaimed: r.freedBytes };
  }
  const danglingOnly = booleanFilter(filters, 'dangling') !== false;
  const until = filters.get('until')?.[0];
  const untilMs = until === undefined ? undefined : filterTime(until, 'until');
  for (const i of unusedOnly) {
    if (danglingOnly && repoTags(i.refs).length > 0) continue;
    if (untilMs !== undefined && (Date.parse(i.created ?? '') || 0) > untilMs) continue;
    if (filters.has('label') && !matchLabels(filters, (await ctx.images.inspect(i.manifestDigest)).config.labels)) continue;
    const r = await ctx.images.remove(i.manifestDigest, {}).catch(() => undefined);
    if (!r) continue;
    for (const ref of r.refs) deleted.push({ Untagged: familiarReference(parseReference(ref)) });
    deleted.push({ Deleted: i.configDigest });
    reclaimed += r.collected.freedBytes;
  }
  return { ImagesDeleted: deleted, SpaceReclaimed: reclaimed };
}

/**
 * `POST /images/create?fromImage=…&tag=…`: `docker pull`. Until the pull says anything Docker shows (the
 * image resolved), a failure is an HTTP error (404 for an image the registry does not have, as dockerd);
 * after it, an error line in the stream, which the CLI prints and exits 1 on.
 */
async function pull(ctx: DockerContext, req: FastifyRequest<PullQuery>, reply: FastifyReply) {
  const q = req.query;
  if (q.fromSrc !== undefined) throw notImplemented('POST', '/images/create', 'docker import is not supported by Hearth');
  if (!q.fromImage) throw invalidParameter('fromImage is required (the image to pull)');
  const ref = pullReference(q.fromImage, q.tag);
  checkPlatform(q.platform);
  const before = await ctx.images.inspect(ref).then(
    (d) => d.manifestDigest,
    () => undefined,
  );
  const translator = new PullTranslator(ref, before);
  const out = new PassThrough();
  const write = (lines: DockerProgressLine[]) => {
    for (const l of lines) if (!out.destroyed && !out.writableEnded) out.write(`${JSON.stringify(l)}\n`);
  };
  let opened: () => void = () => {};
  const open = new Promise<void>((resolve) => (opened = resolve));
  let said = false;
  const onProgress = (p: PullProgress) => {
    const lines = translator.lines(p);
    if (lines.length === 0) return;
    said = true;
    opened();
    write(lines);
  };
  const credentials = credentialsOf(req);
  const done = bounded(ctx.config.timeouts.imageMs, ref, ctx.images.pull(ref, { build: true, onProgress, ...(credentials ? { credentials } : {}) }));
  const ended = done.then(
    async (digest) => {
      const d = await ctx.images.inspect(digest);
      write(translator.finish(digest, d.indexDigest ?? d.manifestDigest));
    },
    (e: unknown) => {
      if (isHearthError(e, 'HEARTH_ERR_REGISTRY_UNAUTHORIZED')) {
        // dockerd's words and status, which tell a Docker user what to do; Hearth's reason follows. Not a 401:
        // on that the CLI would ask for a login at the terminal.
        e = new DockerError(404, `pull access denied for ${familiarReference(parseReference(ref))}, repository does not exist or may require 'docker login': ${e.message}`);
      }
      if (!said) throw e;
      const [status, body] = toDockerResponse(e);
      if (status >= 500) req.log.error({ err: e }, 'docker pull failed');
      write([errorLine(body.message)]);
    },
  );
  // The pull goes on if the client goes: its result is kept, as any pull's.
  void ended.catch(() => undefined).finally(() => out.end());
  await Promise.race([open, ended]);
  reply.raw.once('pipe', () => reply.raw.flushHeaders());
  return reply.type('application/json').send(out);
}

/** `fromImage` with `tag` (a tag or a digest) in Docker's way: the tag given replaces one in the name. */
function pullReference(fromImage: string, tag: string | undefined): string {
  // a name with no tag, and none given, is how the CLI asks for every tag (`docker pull -a`)
  if (!tag && !/[:@][^/]*$/.test(fromImage.trim())) {
    throw invalidParameter(`pulling every tag of ${fromImage} (docker pull --all-tags) is not supported by Hearth: pull the tags you need one by one`);
  }
  try {
    const r = parseReference(fromImage);
    if (!tag) return formatReference(r);
    const named = { registry: r.registry, repository: r.repository };
    return formatReference(/^sha256:/.test(tag) ? { ...named, digest: tag } : { ...named, tag });
  } catch (e) {
    throw invalidParameter(describeError(e));
  }
}

function checkPlatform(platform: string | undefined): void {
  if (!platform) return;
  const host = formatPlatform(hostPlatform());
  let asked: string;
  try {
    asked = formatPlatform(parsePlatform(platform));
  } catch {
    throw invalidParameter(`invalid platform ${platform}`);
  }
  if (asked !== host) throw invalidParameter(`Hearth pulls images for ${host} only (its VMs' platform), not ${platform}`);
}

function bounded<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new DockerError(500, `pulling ${what} timed out after ${ms / 1000} s`)), ms);
    p.then(
      (v) => (clearTimeout(timer), resolve(v)),
      (e: unknown) => (clearTimeout(timer), reject(e)),
    );
  });
}
