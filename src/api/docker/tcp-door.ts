/**
 * The Docker API's opt-in TCP door: a second server whose requests and upgrades the main server handles.
 * With TLS, only a client whose certificate the configured CA signed completes the handshake (dockerd's
 * `--tlsverify`), so the certificate is the credential; without TLS (loopback only, config.ts), the API token
 * is checked on every request and upgrade before any routing.
 * @module
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { createSecureContext } from 'node:tls';
import { parseHostPort, type HearthConfig } from '../../config.ts';
import { HearthError } from '../../errors.ts';
import { bearerCheck } from '../auth.ts';

type DockerConfig = HearthConfig['docker'];

/** Listens on `config.tcp`, handing what passes to `target`; resolves to the function that closes it. */
export async function openTcpDoor(target: Server, config: DockerConfig, apiToken: string | null): Promise<() => Promise<void>> {
  const { host, port } = parseHostPort(config.tcp)!;
  const tls = config.tlsCaCert !== null;
  // Through TLS everyone has passed the handshake, which refused anyone without a signed certificate.
  const passes = tls ? () => true : bearerCheck(apiToken ?? '');
  const server = tls ? await tlsServer(config) : createServer();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    if (passes(req.headers.authorization)) target.emit('request', req, res);
    else res.writeHead(401, { 'content-type': 'application/json', connection: 'close' }).end(REFUSAL);
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (passes(req.headers.authorization)) target.emit('upgrade', req, socket, head);
    else socket.end(`HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\ncontent-length: ${REFUSAL.length}\r\nconnection: close\r\n\r\n${REFUSAL}`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
}

const REFUSAL = JSON.stringify({ message: 'missing or wrong API token (Authorization: Bearer <token>)' });

async function tlsServer(config: DockerConfig): Promise<Server> {
  const read = async (key: 'tlsCaCert' | 'tlsCert' | 'tlsKey') => {
    const path = config[key]!;
    return readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONFIG', `docker.${key} ${path} cannot be read: ${e.code ?? e.message}`);
    });
  };
  const options = { ca: await read('tlsCaCert'), cert: await read('tlsCert'), key: await read('tlsKey') };
  try {
    createSecureContext(options);
  } catch (e) {
    throw new HearthError('FailedPrecondition', 'HEARTH_ERR_CONFIG', `docker.tlsCaCert, docker.tlsCert and docker.tlsKey do not make a TLS server: ${(e as Error).message}`);
  }
  return createTlsServer({ ...options, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2' }) as unknown as Server;
}
