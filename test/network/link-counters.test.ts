/** An interface's counters from /proc/net/dev: the layout parsed field by field, and the real file read. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { linkCounters, parseNetDev } from '../../src/network/link-counters.ts';

const SAMPLE = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:  123456     789    0    0    0     0          0         0   123456     789    0    0    0     0       0          0
hth0123456789ab: 5338 36 1 2 0 0 0 0 648 8 3 4 0 0 0 0
`;

describe('link counters', () => {
  it("reads an interface's receive and transmit columns, not another's", () => {
    assert.deepEqual(parseNetDev(SAMPLE, 'hth0123456789ab'), {
      rxBytes: 5338, rxPackets: 36, rxErrors: 1, rxDropped: 2, txBytes: 648, txPackets: 8, txErrors: 3, txDropped: 4,
    });
    assert.equal(parseNetDev(SAMPLE, 'hth0123456789a'), null, 'a name is matched whole');
    assert.equal(parseNetDev(SAMPLE, 'eth0'), null);
  });

  it("reads this namespace's loopback", async () => {
    const lo = await linkCounters('lo');
    assert.ok(lo && Object.values(lo).every((n) => Number.isInteger(n) && n >= 0), JSON.stringify(lo));
    assert.equal(await linkCounters('hth-none'), null);
  });
});
