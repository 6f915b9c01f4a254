/**
 * The manager process: configuration, data directory, store, the lower layers, then `buildApp` and listen.
 * Stops cleanly on SIGINT/SIGTERM, leaving running VMs for the next start to adopt.
 * @module
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { buildApp } from './app.ts';
import { loadConfig, type HearthConfig } from './config.ts';
import type { ContainerDeps } from './containers/deps.ts';
import { HearthError, describeError } from './errors.ts';
import { ContainerStore } from './store/container-store.ts';

/**
 * The real image store, host network and sandbox launcher. Wired by the lead once src/images, src/network
 * and src/sandbox land; see the report for the adapter each needs.
 */
async function realDeps(_config: HearthConfig, _log: Logger): Promise<ContainerDeps> {
  throw new HearthError('Internal', 'HEARTH_ERR_INTERNAL', 'the image, network and sandbox layers are not wired yet (src/main.ts realDeps)');
}

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = loadConfig(env);
  const log = pino({ level: config.logLevel });
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = await ContainerStore.openSqlite(join(config.dataDir, 'hearth.db'));
  const app = await buildApp({ config, store, logger: log, ...(await realDeps(config, log)) });
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down; running containers keep running');
    await app.close();
    await store.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
  await app.listen({ host: config.listen.host, port: config.listen.port });
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    const message =
      err.code === 'EADDRINUSE' ? `the address is already in use: ${err.message}` : describeError(e);
    process.stderr.write(`hearth: ${message}\n`);
    process.exit(1);
  });
}
