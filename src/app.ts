/**
 * `buildApp(deps)` assembles the HTTP service from its parts and returns it ready to `listen` (main.ts) or
 * to `inject` (tests). It starts recovering the containers the store knows and returns without waiting
 * (`app.containers.recovered` says when that is done); `app.close()` shuts the containers layer down
 * (running VMs are left running for the next start). The caller opened the store and closes it after
 * the app.
 * @module
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, totalmem } from 'node:os';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import websocket from '@fastify/websocket';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino, type Logger } from 'pino';
import { bearerAuth, recordRoutes, selectWebSocketProtocol } from './api/auth.ts';
import { requireLocalHost } from './api/host-check.ts';
import { errorHandler } from './api/error-handler.ts';
import { IMAGE_REF_MAX_LENGTH } from './api/schemas.ts';
import { containerControlRoutes } from './api/routes/container-control.ts';
import { containerRoutes } from './api/routes/containers.ts';
import { copyRoutes } from './api/routes/copy.ts';
import { eventRoutes } from './api/routes/events.ts';
import { hostRoutes } from './api/routes/host.ts';
import { attachRoutes } from './api/routes/attach.ts';
import { execRoutes } from './api/routes/execs.ts';
import { statsRoutes } from './api/routes/stats.ts';
import { imageRoutes } from './api/routes/images.ts';
import { metricsRoutes } from './api/routes/metrics.ts';
import { HearthMetrics } from './api/metrics/hearth-metrics.ts';
import { vmRoutes } from './api/routes/vms.ts';
import { volumeRoutes } from './api/routes/volumes.ts';
import { uiRoutes } from './api/ui.ts';
import { schemaErrorFormatter, validatorCompiler } from './api/validation.ts';
import type { HearthConfig } from './config.ts';
import type { ContainerDeps, ImageLibrary } from './containers/deps.ts';
import { recordImageEvents } from './containers/image-events.ts';
import { LogStore } from './containers/log-store.ts';
import { ContainerManager } from './containers/manager.ts';
import { HearthError } from './errors.ts';
import type { ContainerStore } from './store/container-store.ts';

export interface AppDeps extends ContainerDeps {
  /** The image store: containers resolve their images through it, the image API reaches it as this. */
  images: ImageLibrary;
  config: HearthConfig;
  store: ContainerStore;
  /** Default: pino at `config.logLevel`. */
  logger?: Logger;
  /** Name servers for guests; default: `config.network.dns`, else the host's (see guestDnsServers). */
  dnsServers?: string[];
  /** The web UI's bundle; default: dist/ui/ of the checkout (UI_DIR). */
  uiDir?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    containers: ContainerManager;
  }
}

/** The longest path parameter, decoded: an image reference. */
export const MAX_PARAM_LENGTH = IMAGE_REF_MAX_LENGTH;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { config } = deps;
  const logger = deps.logger ?? pino({ level: config.logLevel });
  const auth = config.apiToken ? bearerAuth(config.apiToken) : undefined;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    bodyLimit: config.bodyLimit,
    ...requestTimeouts(config.listen.requestTimeoutMs),
    schemaErrorFormatter,
    // A path parameter may be as long as the longest image reference the schemas accept (checked decoded).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // URLs the router cannot route (bad percent-encoding, an over-long parameter) get the usual error body.
    frameworkErrors: auth ? auth.onFrameworkError : errorHandler,
  });
  recordRoutes(app);
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((req, reply) => {
    errorHandler(new HearthError('NotFound', 'HEARTH_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply);
  });
  if (auth) app.addHook('onRequest', auth.onRequest);
  else app.addHook('onRequest', requireLocalHost);

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Hearth',
        version: '1',
        description: 'Every OCI container in its own microVM. Errors: `{"error": {"code", "message", "field"?}}` (docs/errors.md).',
      },
      ...(config.apiToken
        ? { components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } }, security: [{ bearer: [] }] }
        : {}),
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // WebSocket routes (exec attach); a message is at most 1 MiB, as a guest protocol frame. A browser that sent
  // its token as a subprotocol is answered `hearth`, never the token (src/api/auth.ts).
  await app.register(websocket, { options: { maxPayload: 1024 * 1024, handleProtocols: selectWebSocketProtocol } });
  closeUpgradedSocketsOnClose(app);

  const stateDir = join(config.dataDir, 'containers');
  const manager = new ContainerManager(
    deps.store,
    deps,
    new LogStore(stateDir, config.logs.maxBytes),
    {
      ...config.vm,
      stateDir,
      volumes: config.volumes,
      portHostIp: config.network.portHostIp,
      timeouts: config.timeouts,
      stopGraceMs: config.timeouts.stopGraceMs,
      recoveryRetryMs: config.timeouts.recoveryRetryMs,
      restart: config.restart,
      dnsServers: deps.dnsServers ?? guestDnsServers(config),
      host: { cpus: availableParallelism(), memoryMib: Math.floor(totalmem() / 2 ** 20) },
    },
    logger,
  );
  app.decorate('containers', manager);
  const metrics = new HearthMetrics(manager, deps.images);
  app.addHook('onResponse', metrics.onResponse);
  app.addHook('onClose', () => metrics.close());
  // Before the server waits for open requests to finish: ends what they wait for (log follows, provisioning).
  app.addHook('preClose', async () => manager.beginClose());
  app.addHook('onClose', () => manager.close());

  app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get(
    '/health',
    {
      schema: {
        tags: ['service'],
        summary: 'Liveness',
        security: [], // open even with a token (src/api/auth.ts)
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    () => ({ status: 'ok' as const }),
  );
  containerRoutes(app, manager);
  containerControlRoutes(app, manager);
  statsRoutes(app, manager);
  copyRoutes(app, manager);
  execRoutes(app, manager);
  attachRoutes(app, manager);
  eventRoutes(app, manager);
  vmRoutes(app, manager);
  hostRoutes(app, manager, config);
  volumeRoutes(app, manager);
  imageRoutes(app, recordImageEvents(deps.images, deps.store, logger), { timeoutMs: config.timeouts.imageMs });
  metricsRoutes(app, metrics);
  uiRoutes(app, deps.uiDir);

  // Returns once the containers to recover say so; the API then serves while they are recovered (reads at
  // once, commands once the recovery of what they touch is queued; see ContainerManager.recover).
  await manager.recover();
  await app.ready();
  return app;
}

/**
 * A client has `ms` to send a whole request, headers and body; then it gets a 408 and the connection is
 * closed, so clients that dribble a body cannot hold connections open for ever. Node measures this only
 * while a request is being received, so a long response (a log follow) is not cut; for the same reason no
 * idle timeout is set on sockets (`connectionTimeout`): a follow of a quiet container sends nothing for
 * minutes. Node checks every `connectionsCheckingInterval` (30 s by default), so that is shortened too.
 */
function requestTimeouts(ms: number) {
  return {
    requestTimeout: ms,
    http: { requestTimeout: ms, headersTimeout: ms, connectionsCheckingInterval: Math.min(1000, ms) },
  };
}

/**
 * The name servers guests use: `config.network.dns` if set; else the host's non-loopback ones from
 * /etc/resolv.conf; else Google's, as Docker does.
 */
export function guestDnsServers(config: HearthConfig, resolvConf?: string): string[] {
  if (config.network.dns.length > 0) return config.network.dns;
  let text = resolvConf;
  if (text === undefined) {
    try {
      text = readFileSync('/etc/resolv.conf', 'utf8');
    } catch {
      text = '';
    }
  }
  const servers = [...text.matchAll(/^\s*nameserver\s+(\S+)/gm)]
    .map((m) => m[1]!)
    .filter((s) => !s.startsWith('127.') && s !== '::1');
  return servers.length > 0 ? servers : ['8.8.8.8', '8.8.4.4'];
}

/**
 * A socket whose request asked for an upgrade leaves the HTTP server's books, whether it became a WebSocket or
 * was answered 401 or 404 and left open by its client; the server's close would wait for it for ever. They are
 * ended as the app begins to close (what runs in the guest over them goes on: exec sessions outlive clients).
 */
function closeUpgradedSocketsOnClose(app: FastifyInstance): void {
  const sockets = new Set<Duplex>();
  app.server.on('upgrade', (_req, socket: Duplex) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.addHook('preClose', (done) => {
    for (const socket of sockets) socket.destroy();
    done();
  });
}
