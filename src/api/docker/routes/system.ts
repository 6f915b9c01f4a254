/**
 * `/_ping`, `/version` and `/info`: what the CLI asks before anything else (the ping's `API-Version` is how
 * it negotiates down to 1.47) and what `docker version` and `docker info` print. They describe Hearth as it
 * is: one microVM per container, each with its own kernel, behind this one manager. And `/plugins`: none.
 * @module
 */
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, hostname, release, totalmem } from 'node:os';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DockerContext } from '../context.ts';
import { DockerError } from '../errors.ts';
import { API_VERSION, MIN_API_VERSION } from '../version.ts';
import { dockerInfo, type InfoFacts } from '../shapes/info.ts';

const HEARTH_VERSION = (
  JSON.parse(readFileSync(new URL('../../../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Go's names for Node's architectures, as Docker reports them. */
const GO_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function systemRoutes(app: FastifyInstance, ctx: DockerContext): void {
  const ping = (reply: FastifyReply) =>
    reply
      .header('Docker-Experimental', 'false')
      .header('Swarm', 'inactive')
      .header('Cache-Control', 'no-cache, no-store, must-revalidate')
      .header('Pragma', 'no-cache')
      .type('text/plain; charset=utf-8');
  app.get('/_ping', (_req, reply) => ping(reply).send('OK'));
  app.head('/_ping', (_req, reply) => ping(reply).header('Content-Length', '0').send());

  app.get('/version', () => {
    const details = { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: GO_ARCH[arch()] ?? arch() };
    return {
      Platform: { Name: 'Hearth (one microVM per container)' },
      Components: [{ Name: 'Engine', Version: HEARTH_VERSION, Details: { ...details, KernelVersion: release(), Runtime: 'node ' + process.version } }],
      Version: HEARTH_VERSION,
      ...details,
      GitCommit: '',
      GoVersion: `node ${process.version}`,
      KernelVersion: release(),
      BuildTime: '',
    };
  });

  // Hearth has no plugins: none to list, and any one named is missing, so `docker inspect NAME` (which asks
  // every kind of object in turn, skipping a 404) ends with the CLI's "no such object".
  app.get('/plugins', async () => []);
  app.get<{ Params: { '*': string } }>('/plugins/*', async (req) => {
    const name = req.params['*'].replace(/\/json$/, '');
    throw new DockerError(404, `plugin "${name}" not found`);
  });

  app.get('/info', async () => {
    const [containers, vms, images] = await Promise.all([ctx.manager.list(), ctx.manager.listVms(), ctx.images.list()]);
    const facts: InfoFacts = {
      version: HEARTH_VERSION,
      hostname: hostname(),
      kernel: release(),
      arch: GO_ARCH[arch()] ?? arch(),
      cpus: availableParallelism(),
      memoryBytes: totalmem(),
      dataDir: ctx.config.dataDir,
      vmm: ctx.config.vm.vmm,
      accel: ctx.config.vm.accel,
      bridge: ctx.config.network.bridge,
      containers: containers.map((c) => c.state),
      vms: vms.length,
      images: images.length,
      registry: { mirrors: ctx.config.registry.mirrors, insecure: ctx.config.registry.insecure },
    };
    return dockerInfo(facts);
  });
}
