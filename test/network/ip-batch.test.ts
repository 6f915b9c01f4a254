/**
 * `ipBatch` (src/tools/ip.ts) on real interfaces in a namespace the test creates: the commands run in order
 * in one `ip` process with the same meaning as the single functions, and a failure says which command
 * failed (the ones before it done, none after), which is what createTap relies on to tell a tap it made from
 * a name that was there already.
 */
import assert from 'node:assert/strict';
import * as bridge from '../../src/tools/bridge.ts';
import * as ip from '../../src/tools/ip.ts';
import { linkNames, netTest } from './lab.ts';

netTest('ipBatch: a tap made, attached, isolated and up in one process; a failure names its command and stops there', async (lab) => {
  const netns = await lab.netns();
  await ip.addBridge('hbrb', { netns });
  const made = await ip.ipBatch(
    [
      { addTap: 'hthb1', options: { multiQueue: false } },
      { setLink: 'hthb1', changes: { master: 'hbrb' } },
      { setLink: 'hthb1', changes: { bridgePort: { learning: false, flood: false } } },
      { setLink: 'hthb1', changes: { up: true } },
    ],
    { netns },
  );
  assert.deepEqual(made, { ok: true });
  const link = await ip.getLink('hthb1', { netns });
  assert.equal(link?.tunType, 'tap');
  assert.equal(link?.multiQueue, false);
  assert.equal(link?.master, 'hbrb');
  assert.equal(link?.up, true);
  const port = await bridge.getBridgePort('hthb1', { netns });
  assert.equal(port?.learning, false);
  assert.equal(port?.flood, false);
  assert.equal(port?.bcastFlood, true, 'flags not named keep their defaults');

  // A name that exists, tap or not, fails the first command: nothing after it runs.
  await ip.addBridge('hthb2', { netns });
  for (const name of ['hthb1', 'hthb2']) {
    const again = await ip.ipBatch([{ addTap: name }, { setLink: name, changes: { up: true } }], { netns });
    assert.equal(again.ok, false);
    assert.equal(again.ok === false && again.failed, 1, name);
  }
  assert.equal((await ip.getLink('hthb2', { netns }))?.up, false, 'the command after the failed one did not run');

  // A later command fails: the ones before it are done, the error names it and is mapped as a single one's.
  const later = await ip.ipBatch([{ addTap: 'hthb3' }, { deleteLink: 'hthnone' }, { setLink: 'hthb3', changes: { up: true } }], { netns });
  assert.equal(later.ok, false);
  if (!later.ok) {
    assert.equal(later.failed, 2);
    assert.equal(later.error.code, 'HEARTH_ERR_NET_LINK_NOT_FOUND');
    assert.match(later.error.message, /ip link del dev hthnone failed/);
  }
  assert.equal((await ip.getLink('hthb3', { netns }))?.up, false);

  // A master that does not exist stops `ip` without a line number: the result says it does not know.
  const nomaster = await ip.ipBatch([{ addTap: 'hthb4' }, { setLink: 'hthb4', changes: { master: 'hbrnone' } }], { netns });
  assert.equal(nomaster.ok, false);
  assert.equal(nomaster.ok === false && nomaster.failed, undefined);
  assert.notEqual(await ip.getLink('hthb4', { netns }), undefined, 'the commands before it ran');

  // Bad names are refused before anything runs.
  await assert.rejects(ip.ipBatch([{ addTap: 'hthb5' }, { deleteLink: 'bad name' }], { netns }), { code: 'HEARTH_ERR_NET_INVALID_NAME' });
  assert.equal(await ip.getLink('hthb5', { netns }), undefined);

  assert.deepEqual(await ip.ipBatch([{ deleteLink: 'hthb1' }, { deleteLink: 'hthb2' }, { deleteLink: 'hthb3' }, { deleteLink: 'hthb4' }, { deleteLink: 'hbrb' }], { netns }), { ok: true });
  assert.deepEqual(await linkNames(netns), ['lo']);
});
