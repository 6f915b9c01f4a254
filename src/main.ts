/**
 * The manager process: configuration, data directory, store, the lower layers, then `buildApp` and listen.
 * Stops cleanly on SIGINT/SIGTERM, leaving running VMs for the next start to adopt.
 * @module
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from './app.ts';
import { buildDockerApp, listenDocker } from './api/docker/server.ts';
import { recordImageEvents } from './containers/image-events.ts';
import { hostDeps } from './assemble/host-deps.ts';
import { loadConfig } from './config.ts';
import { lockDataDir, prepareDataDir } from './data-dir.ts';
import { describeError } from './errors.ts';
import { ContainerStore } from './store/container-store.ts';

const SHUTDOWN_LIMIT_MS = 15_000;

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const log = pino({ level: config.logLevel });
  const looser = prepareDataDir(config.dataDir);
  if (looser !== undefined) log.warn({ dataDir: config.dataDir }, `data directory was mode ${looser.toString(8)}; made it 700`);
  const unlock = lockDataDir(config.dataDir);
  process.once('exit', unlock);
  const store = await ContainerStore.openSqlite(join(config.dataDir, 'hearth.db'));
  const deps = await hostDeps(config, log, store);
  const app = await buildApp({ config, store, logger: log, ...deps });
  // collects once now (finishing what a collection killed half-way left), then on its timer
  deps.images.start();
  let docker: Awaited<ReturnType<typeof buildDockerApp>> | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; running containers keep running');
    // Nothing a client holds open may keep the manager from stopping: what is left is in the store.
    const late = setTimeout(() => {
      log.warn(`still closing after ${SHUTDOWN_LIMIT_MS} ms; exiting anyway`);
      process.exit(0);
    }, SHUTDOWN_LIMIT_MS);
    late.unref();
    await docker?.close();
    await app.close();
    await deps.images.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  // The Docker doors first: once /health answers, every door is open.
  if (config.docker.socket !== '' || config.docker.tcp !== '') {
    const images = recordImageEvents(deps.images, store, log);
    docker = await buildDockerApp({ manager: app.containers, images, store, config, logger: log });
    const doors = await listenDocker(docker, config.docker, config.apiToken);
    log.info({ doors }, 'Docker Engine API listening');
  }
  await app.listen({ host: config.listen.host, port: config.listen.port });
}

/** Why the manager could not start, for `hearth: <why>` on stderr. */
export function startFailureMessage(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code === 'EADDRINUSE' ? `the address is already in use: ${err.message}` : describeError(e);
}

// Run directly (`node --import tsx src/main.ts`, as the e2e tests do); `hearth serve` imports `main` instead.
if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    process.stderr.write(`hearth: ${startFailureMessage(e)}\n`);
    process.exit(1);
  });
}
