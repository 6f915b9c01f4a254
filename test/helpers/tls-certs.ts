/**
 * Certificates for TLS tests, made with openssl: a CA, a server certificate for one IP address, and client
 * certificates signed by that CA or by another one (a stranger's), laid out as the docker CLI's
 * DOCKER_CERT_PATH wants them (ca.pem, cert.pem, key.pem).
 */
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { runTool } from '../../src/tools/run.ts';

export interface TestPki {
  ca: string;
  serverCert: string;
  serverKey: string;
  /** A DOCKER_CERT_PATH whose client certificate the CA signed. */
  clientDir: string;
  /** A DOCKER_CERT_PATH trusting the server but holding a certificate from another CA. */
  strangerDir: string;
}

async function selfSigned(dir: string, name: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, `${name}.pem`);
  const key = path.join(dir, `${name}-key.pem`);
  await runTool('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`]);
  return { cert, key };
}

async function signed(ca: { cert: string; key: string }, cert: string, key: string, subject: string, san?: string): Promise<void> {
  await runTool('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${subject}`,
    '-CA', ca.cert, '-CAkey', ca.key, '-addext', 'basicConstraints=critical,CA:FALSE',
    ...(san ? ['-addext', `subjectAltName=${san}`] : []),
  ]);
}

export async function makeTestPki(dir: string, serverIp: string): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const ca = await selfSigned(dir, 'ca');
  const stranger = await selfSigned(dir, 'stranger-ca');
  const serverCert = path.join(dir, 'server.pem');
  const serverKey = path.join(dir, 'server-key.pem');
  await signed(ca, serverCert, serverKey, 'hearth-server', `IP:${serverIp}`);
  const clientDir = path.join(dir, 'client');
  const strangerDir = path.join(dir, 'stranger');
  for (const [d, signer] of [[clientDir, ca], [strangerDir, stranger]] as const) {
    await mkdir(d);
    await signed(signer, path.join(d, 'cert.pem'), path.join(d, 'key.pem'), 'docker-client');
    await copyFile(ca.cert, path.join(d, 'ca.pem'));
  }
  return { ca: ca.cert, serverCert, serverKey, clientDir, strangerDir };
}
