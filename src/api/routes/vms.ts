/**
 * /v1/vms: the microVMs that exist now (one per container that is provisioning or running), as the
 * document's debug commands expect: `GET /v1/vms/<uuid>` with the uuid from `container_runtime_id`.
 * @module
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ContainerManager } from '../../containers/manager.ts';
import type { VmRecord } from '../../model/index.ts';
import { IdParams, VmItem, errors } from '../schemas.ts';

export function vmItem(vm: VmRecord) {
  return {
    id: vm.id,
    container_id: vm.container_id,
    state: vm.state,
    guest_ip: vm.guest_ip,
    vcpus: vm.vcpus,
    memory_mib: vm.memory_mib,
    vmm: vm.vmm,
    accel: vm.accel,
    pid: vm.pid,
    tap: vm.tap,
    mac: vm.mac,
    created_at: vm.created_at,
  };
}

export function vmRoutes(app: FastifyInstance, manager: ContainerManager): void {
  const tags = ['vms'];
  app.get(
    '/v1/vms',
    { schema: { tags, summary: 'List VMs', response: { 200: Type.Object({ items: Type.Array(VmItem) }) } } },
    async () => ({ items: (await manager.listVms()).map(vmItem) }),
  );
  app.get<{ Params: { id: string } }>(
    '/v1/vms/:id',
    {
      schema: {
        tags,
        summary: 'Get a VM by uuid (or by `vm-<uuid>`)',
        params: IdParams,
        response: { 200: Type.Object({ item: VmItem }), ...errors(404) },
      },
    },
    async (req) => ({ item: vmItem(await manager.getVm(req.params.id)) }),
  );
}
