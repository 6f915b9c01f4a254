/**
 * The Docker Engine API (docs/docker-api.md): a second Fastify instance over the same ContainerManager and
 * libraries as the /v1 app, so a container made through one API is seen, stopped and deleted through the
 * other. It listens on a unix socket (root and `docker.group` only) and, opt-in, on TCP (tcp-door.ts);
 * `buildDockerApp` makes it, `listenDocker` opens its doors, `app.close()` closes them.
 * @module
 */
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { HearthConfig } from '../../config.ts';
import { HearthError } from '../../errors.ts';
import type { DockerDeps } from './context.ts';
import { dockerErrorHandler, notImplemented } from './errors.ts';
import { HijackRouter } from './hijack.ts';
import { dockerRoutes } from './routes/index.ts';
import { openTcpDoor } from './tcp-door.ts';
import { API_VERSION, apiVersionOf, checkApiVersion, stripVersion } from './version.ts';

/** What closes the doors `listenDocker` opened beyond the server's own (the extra TCP server, the socket file). */
const doorClosers = new WeakMap<FastifyInstance, Array<() => Promise<void>>>();

export async function buildDockerApp(deps: DockerDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger.child({ api: 'docker' }) as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimit,
    rewriteUrl: stripVersion,
    // HEAD is served where Docker serves it (the ping, archives), not on every GET.
    exposeHeadRoutes: false,
    // Container names and image references are the longest parameters.
    routerOptions: { maxParamLength: 512, ignoreTrailingSlash: true },
    frameworkErrors: dockerErrorHandler,
    // Log follows and streams end when the manager closes; hijacked connections are ended by their router.
    forceCloseConnections: true,
  });
  app.setErrorHandler(dockerErrorHandler);
  app.setNotFoundHandler((req, reply) => {
    dockerErrorHandler(notImplemented(req.method, req.url.split('?')[0]!), req, reply);
  });
  // The CLI sends `Content-Type: application/json` on bodiless POSTs too; an empty body is no body.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
    const body = text as string;
    if (body.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(body));
    } catch {
      done(new HearthError('InvalidArgument', 'HEARTH_ERR_INVALID_ARGUMENT', 'the request body is not valid JSON'), undefined);
    }
  });
  // Archives (`docker cp` sends its tar as text/plain, image loads) and whatever else: the route reads the stream itself.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('Api-Version', API_VERSION).header('Server', `Hearth/${API_VERSION} (linux)`).header('Ostype', 'linux');
    checkApiVersion(apiVersionOf(request.raw));
  });

  // dockerd's JSON is `application/json` with no charset, and the CLI reads error messages only from exactly that.
  app.addHook('onSend', async (_req, reply, payload) => {
    const type = reply.getHeader('content-type');
    if (typeof type === 'string' && type.startsWith('application/json')) void reply.header('content-type', 'application/json');
    return payload;
  });
  const closers: Array<() => Promise<void>> = [];
  doorClosers.set(app, closers);
  app.addHook('preClose', async () => {
    await Promise.all(closers.map((close) => close()));
  });
  const hijacks = new HijackRouter(app.log);
  app.server.on('upgrade', hijacks.onUpgrade);
  app.addHook('preClose', (done) => {
    hijacks.closeAll();
    done();
  });
  dockerRoutes(app, { ...deps, hijacks });
  await app.ready();
  return app;
}

/**
 * Opens the configured doors: the unix socket (created 0660 with no window in which it is wider, owned by
 * root and `docker.group`), then the TCP address if one is set. A socket file left by an earlier run is
 * replaced; one another process still answers on is not.
 */
export async function listenDocker(app: FastifyInstance, config: HearthConfig['docker'], apiToken: string | null): Promise<string[]> {
  const doors: string[] = [];
  if (config.socket !== '') {
    await listenUnix(app, config.socket, config.group);
    doors.push(`unix://${config.socket}`);
  }
  if (config.tcp !== '') {
    doorClosers.get(app)!.push(await openTcpDoor(app.server, config, apiToken));
    doors.push(`${config.tlsCaCert !== null ? 'tls' : 'tcp'}://${config.tcp}`);
  }
  return doors;
}

async function listenUnix(app: FastifyInstance, path: string, group: string | null): Promise<void> {
  const gid = group === null ? 0 : await groupId(group);
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await removeStaleSocket(path);
  const server = app.server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // The socket is created by listen's bind, synchronously: no other file is made while the mask is narrow.
    const umask = process.umask(0o177);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(umask);
    }
  });
  await chown(path, 0, gid);
  await chmod(path, 0o660);
  doorClosers.get(app)!.push(() => unlink(path).catch(() => undefined));
}

async function removeStaleSocket(path: string): Promise<void> {
  const stat = await lstat(path).catch(() => undefined);
  if (!stat) return;
  if (!stat.isSocket()) {
    throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONFIG', `docker.socket ${path} exists and is not a socket`);
  }
  const answered = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => (probe.destroy(), resolve(true)));
    probe.once('error', () => resolve(false));
  });
  if (answered) {
    throw new HearthError(
      'FailedPrecondition',
      'HEARTH_ERR_CONFIG',
      `another daemon is listening on ${path} (docker.socket): stop it, or set HEARTH_DOCKER_SOCKET to another path or to "" for none`,
    );
  }
  await unlink(path);
}

/** A group name from /etc/group, or a number. */
async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.split(':')[0] === group);
  const gid = line === undefined ? NaN : Number(line.split(':')[2]);
  if (!Number.isInteger(gid)) {
    throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONFIG', `docker.group "${group}" is not a group of this host (/etc/group)`);
  }
  return gid;
}
