/**
 * Networks on the fakes: create/list/inspect/remove/prune, a container's memberships at create and by
 * connect/disconnect, and the names each running container finds in /etc/hosts: at boot (the RUN message's
 * hosts) and rewritten in its peers when another starts, joins or leaves.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import type { ContainerManager } from '../../src/containers/manager.ts';
import { hostLines } from '../../src/containers/network-hosts.ts';
import type { ContainerRecord } from '../../src/model/index.ts';
import { harness, waitFor, type Harness } from './harness.ts';

describe('networks', () => {
  let h: Harness;
  let manager: ContainerManager;
  before(async () => {
    h = await harness();
    manager = h.app.containers;
  });
  after(() => h.close());

  /** What the container's VM has as /etc/hosts now: the copy-in's, else the boot's. */
  const hostsOf = (c: ContainerRecord) => {
    const vm = h.launcher.vms.get(c.vm_id)!;
    return vm.files.get('/etc/hosts')?.content?.toString() ?? vm.spec.process.hosts;
  };
  const running = (id: string) => waitFor(h.app, id, 'running');

  it('names the peers of a network in /etc/hosts, at boot and in the peers already running', async () => {
    const net = await manager.networks.create({ name: 'shop_default', labels: { 'com.docker.compose.project': 'shop' } });
    assert.match(net.id, /^[0-9a-f]{64}$/);
    const db = await manager.create({ name: 'shop_db_1', image: 'sleeper:1', networks: [{ network: 'shop_default', aliases: ['db', 'db'] }] });
    await running(db.id);
    const web = await manager.create({ name: 'shop_web_1', image: 'sleeper:1', networks: [{ network: 'shop_default', aliases: ['web'] }] });
    await running(web.id);
    const alone = await manager.create({ name: 'alone', image: 'sleeper:1' });
    await running(alone.id);
    const [dbNow, webNow, aloneNow] = await Promise.all([db, web, alone].map((c) => manager.get(c.id)));
    assert.deepEqual(dbNow!.networks, [{ network: 'shop_default', aliases: ['db'] }]);
    assert.deepEqual(aloneNow!.networks, []);
    const dbLine = `${dbNow!.guest_ip}\tshop_db_1 db`;
    const webLine = `${webNow!.guest_ip}\tshop_web_1 web`;
    assert.ok(hostsOf(webNow!).includes(dbLine) && hostsOf(webNow!).includes(webLine), hostsOf(webNow!));
    // db booted before web: web's start rewrote db's file
    await waitUntil(() => hostsOf(dbNow!).includes(webLine));
    assert.ok(!hostsOf(aloneNow!).includes('shop_'), 'a container on bridge only learns no names');
    assert.match(hostsOf(aloneNow!), new RegExp(`^${aloneNow!.guest_ip}\\t${aloneNow!.container_id.slice(0, 12)}$`, 'm'));

    const listed = await manager.networks.list();
    assert.deepEqual(listed.map((n) => [n.name, n.members.map((m) => m.name).sort()]), [
      ['bridge', ['alone']],
      ['shop_default', ['shop_db_1', 'shop_web_1']],
    ]);
    assert.equal((await manager.networks.inspect(net.id.slice(0, 10))).name, 'shop_default');

    await manager.networks.connect(alone.id, 'shop_default', ['tools']);
    await waitUntil(() => hostsOf(dbNow!).includes(`${aloneNow!.guest_ip}\talone tools`));
    assert.ok(hostsOf(aloneNow!).includes(dbLine), 'the one that joined learns its peers');
    await assert.rejects(manager.networks.connect(alone.id, 'shop_default', []), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_MEMBER'));
    await manager.networks.disconnect(alone.id, 'shop_default');
    await assert.rejects(manager.networks.disconnect(alone.id, 'bridge'), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED'));
    await waitUntil(() => !hostsOf(dbNow!).includes('alone tools') && !hostsOf(aloneNow!).includes(dbLine));

    await assert.rejects(manager.networks.remove('shop_default'), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_IN_USE') && /shop_db_1 \(running\)/.test(e.message));

    // a peer whose run ends gives its address back: the others forget it, and learn it again when it runs
    await manager.stop(web.id);
    await waitUntil(() => !hostsOf(dbNow!).includes('shop_web_1'));
    await manager.start(web.id);
    const webAgain = (await manager.get(web.id))!;
    await waitUntil(() => hostsOf(dbNow!).includes(`${webAgain.guest_ip}\tshop_web_1 web`));
    // and one deleted while it runs
    await assert.rejects(manager.networks.remove('bridge'), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED'));
    await manager.remove(web.id);
    await waitUntil(() => !hostsOf(dbNow!).includes('shop_web_1'));
    for (const c of [db, alone]) await manager.remove(c.id);
    assert.deepEqual(await manager.networks.prune(), ['shop_default']);
    assert.deepEqual((await manager.networks.list()).map((n) => n.name), ['bridge']);
  });

  it('refuses networks that do not exist, reserved and malformed names, and a name taken', async () => {
    await assert.rejects(manager.create({ name: 'lost', image: 'sleeper:1', networks: [{ network: 'nowhere', aliases: [] }] }), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_NOT_FOUND'));
    assert.ok(!(await manager.list()).some((c) => c.name === 'lost'), 'nothing was created');
    for (const name of ['host', 'none', 'bridge']) await assert.rejects(manager.networks.create({ name }), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_PREDEFINED'));
    await assert.rejects(manager.networks.create({ name: '-x' }), (e) => isHearthError(e, 'HEARTH_ERR_INVALID_ARGUMENT'));
    await manager.networks.create({ name: 'twice' });
    await assert.rejects(manager.networks.create({ name: 'twice' }), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_EXISTS'));
    await manager.networks.remove('twice');
    await assert.rejects(manager.networks.inspect('twice'), (e) => isHearthError(e, 'HEARTH_ERR_NETWORK_NOT_FOUND'));
    // `bridge` alone is no membership
    const plain = await manager.create({ name: 'plain', image: 'sleeper:1', networks: [{ network: 'bridge', aliases: [] }] });
    assert.deepEqual(plain.networks, []);
    await manager.remove(plain.id);
  });

  it('lists every peer that has an address, by its name and its aliases on the networks shared', () => {
    const c = (name: string, ip: string | null, networks: ContainerRecord['networks']) =>
      ({ id: name, name, container_id: `${name}0123456789abcdef`, guest_ip: ip, networks, extra_hosts: [] as ContainerRecord['extra_hosts'] }) as ContainerRecord;
    const me = c('me', '10.0.0.2', [{ network: 'a', aliases: ['x'] }, { network: 'b', aliases: [] }]);
    const all = [me, c('p', '10.0.0.3', [{ network: 'a', aliases: ['svc'] }, { network: 'b', aliases: ['svc', 'other'] }]), c('q', null, [{ network: 'a', aliases: [] }]), c('r', '10.0.0.5', [{ network: 'c', aliases: [] }])];
    assert.deepEqual(hostLines(me, all, '10.0.0.1'), ['10.0.0.2\tme0123456789', '10.0.0.2\tme x', '10.0.0.3\tp svc other']);
    const extra = { ...me, extra_hosts: [{ hostname: 'db.local', ip: '10.1.2.3' }, { hostname: 'host.docker.internal', ip: 'host-gateway' }] };
    assert.deepEqual(hostLines(extra, all, '10.0.0.1').slice(-2), ['10.1.2.3\tdb.local', '10.0.0.1\thost.docker.internal'], 'its own extra hosts last; host-gateway: the bridge');
  });
});

async function waitUntil(ok: () => boolean, ms = 3000): Promise<void> {
  const until = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > until) assert.fail('the condition did not come true');
    await new Promise((r) => setTimeout(r, 2));
  }
}
