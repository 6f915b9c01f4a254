/**
 * `GET /v1/host`: what the web UI's Host page and an operator want at a glance: the manager's version, the
 * accelerator asked for and the ones the VMs run with, how many VMs there are, and the host's capacity beside
 * what the containers that hold a VM were given.
 * @module
 */
import { readFileSync } from 'node:fs';
import { arch, availableParallelism, hostname, release, totalmem } from 'node:os';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { HearthConfig } from '../../config.ts';
import type { ContainerManager } from '../../containers/manager.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

const HostItem = Type.Object({
  version: Type.String(),
  node: Type.String({ description: "The manager's Node.js version." }),
  hostname: Type.String(),
  kernel: Type.String(),
  arch: Type.String(),
  vmm: Type.String(),
  accel: Type.Object({
    configured: Type.String({ description: '`vm.accel`: auto, kvm or tcg.' }),
    in_use: Type.Array(Type.String(), { description: 'The accelerators the VMs that exist now run with.' }),
  }),
  vms: Type.Integer({ description: 'VMs that exist now (one per container that is provisioning or running).' }),
  containers: Type.Record(Type.String(), Type.Integer(), { description: 'Containers by state.' }),
  capacity: Type.Object({
    cpus: Type.Integer({ description: "The host's CPUs." }),
    memory_mib: Type.Integer({ description: "The host's memory." }),
    allocated_cpus: Type.Number({ description: "The `cpus` of the containers that hold a VM." }),
    allocated_memory_mib: Type.Integer({ description: "The VMs' memory (the containers' and their guests' own)." }),
  }),
});

export function hostRoutes(app: FastifyInstance, manager: ContainerManager, config: HearthConfig): void {
  app.get(
    '/v1/host',
    { schema: { tags: ['service'], summary: 'The host: version, accelerator, VMs, capacity', response: { 200: Type.Object({ item: HostItem }) } } },
    async () => {
      const [containers, vms] = await Promise.all([manager.list(), manager.listVms()]);
      const withVm = new Set(vms.map((v) => v.container_id));
      const byState: Record<string, number> = {};
      for (const c of containers) byState[c.state] = (byState[c.state] ?? 0) + 1;
      return {
        item: {
          version: VERSION,
          node: process.version,
          hostname: hostname(),
          kernel: release(),
          arch: arch(),
          vmm: config.vm.vmm,
          accel: { configured: config.vm.accel, in_use: [...new Set(vms.map((v) => v.accel))].sort() },
          vms: vms.length,
          containers: byState,
          capacity: {
            cpus: availableParallelism(),
            memory_mib: Math.floor(totalmem() / 2 ** 20),
            allocated_cpus: containers.filter((c) => withVm.has(c.id)).reduce((n, c) => n + (c.cpus ?? config.vm.vcpus), 0),
            allocated_memory_mib: vms.reduce((n, v) => n + v.memory_mib, 0),
          },
        },
      };
    },
  );
}
