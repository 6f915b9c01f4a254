/**
 * The CLI's printing, without a manager: the table printer's columns (long, wide and empty cells), docker's
 * words for times, sizes and states, the `ps` table of API items, and the stats figures from two readings.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { humanDuration, humanSize, binarySize } from '../../src/cli/format.ts';
import { displayWidth, formatTable, plainCell, truncate } from '../../src/cli/table.ts';
import { psTable, status } from '../../src/cli/verbs/containers.ts';
import { splitReference } from '../../src/cli/verbs/images.ts';
import { progressBar } from '../../src/cli/verbs/pull.ts';
import { figures } from '../../src/cli/verbs/stats.ts';
import type { ContainerItem } from '../../src/cli/containers.ts';

/** Where each column of each line starts: every column must start at the same place on every line. */
const starts = (line: string) => [...line.matchAll(/(?:^|(?<= {3}))\S/g)].map((m) => m.index);

describe('the table printer', () => {
  it('pads each column to its widest cell with three spaces between, and leaves the last unpadded', () => {
    const text = formatTable(['ID', 'NAME', 'STATUS'], [['1', 'a-very-long-container-name', 'Up'], ['22', 'x', 'Exited (0)']]);
    assert.equal(
      text,
      'ID   NAME                         STATUS\n' + '1    a-very-long-container-name   Up\n' + '22   x                            Exited (0)\n',
    );
    const lines = text.trimEnd().split('\n');
    for (const line of lines) assert.deepEqual(starts(line), starts(lines[0]!), line);
  });

  it('measures wide characters as two columns and keeps an empty cell in place', () => {
    assert.equal(displayWidth('名前'), 4);
    assert.equal(displayWidth('e\u0301'), 1, 'a combining accent takes no column');
    const text = formatTable(['NAME', 'PORTS', 'IMAGE'], [['名前', '', 'busybox'], ['ab', '80->80/tcp', 'nginx']]);
    const [, wide, narrow] = text.split('\n');
    assert.equal(wide, '名前                busybox');
    assert.equal(narrow, 'ab     80->80/tcp   nginx');
  });

  it('shows control characters escaped, so a cell can neither break its row nor drive the terminal', () => {
    assert.equal(plainCell('a\nb\tc\x1b[2Jd\u009b'), 'a\\nb\\tc\\x1b[2Jd\\x9b');
    const text = formatTable(['COMMAND', 'NAMES'], [['echo "x\ny"', 'web']]);
    assert.equal(text, 'COMMAND       NAMES\necho "x\\ny"   web\n');
  });

  it('truncates with an ellipsis within the width', () => {
    assert.equal(truncate('sleep 600', 20), 'sleep 600');
    assert.equal(truncate('sh -c echo hello world and more', 12), 'sh -c echo …');
    assert.equal(displayWidth(truncate('名前名前名前', 5)), 5);
  });
});

describe("docker's words", () => {
  it('durations, sizes, progress', () => {
    assert.equal(humanDuration(400), 'Less than a second');
    assert.equal(humanDuration(45_000), '45 seconds');
    assert.equal(humanDuration(70_000), 'About a minute');
    assert.equal(humanDuration(3 * 3600_000), '3 hours');
    assert.equal(humanDuration(3 * 86400_000), '3 days');
    assert.equal(humanSize(0), '0B');
    assert.equal(humanSize(1_110_000), '1.11MB');
    assert.equal(binarySize(256 * 2 ** 20), '256MiB');
    assert.equal(binarySize(1536), '1.50KiB');
    assert.equal(progressBar(0, 100, 10), '[>         ]   0% 0B/100B');
    assert.equal(progressBar(50, 100, 10), '[=====>    ]  50% 50B/100B');
    assert.equal(progressBar(100, 100, 10), '[==========] 100% 100B/100B');
  });

  it('image references as docker shows them', () => {
    assert.deepEqual(splitReference('docker.io/library/nginx:alpine'), ['nginx', 'alpine']);
    assert.deepEqual(splitReference('docker.io/team/app:1.2'), ['team/app', '1.2']);
    assert.deepEqual(splitReference('localhost:5000/app'), ['localhost:5000/app', '<none>']);
    assert.deepEqual(splitReference('ghcr.io/o/a@sha256:abc'), ['ghcr.io/o/a', '<none>']);
  });
});

const NOW = Date.parse('2026-11-30T12:00:00Z');
function item(over: Partial<ContainerItem>): ContainerItem {
  return {
    id: '0f8e4c1a-7b2d-4e55-9a10-3c6d2b1e9f00',
    name: 'web',
    image: 'nginx:alpine',
    args: [],
    state: 'running',
    container_id: 'a'.repeat(64),
    port_mappings: [],
    exit_code: null,
    error_message: null,
    created_at: '2026-11-30T11:00:00Z',
    started_at: '2026-11-30T11:58:00Z',
    finished_at: null,
    tty: false,
    stdin_open: false,
    health: null,
    ...over,
  };
}

describe('ps', () => {
  it("states in docker's words", () => {
    assert.equal(status(item({}), NOW), 'Up 2 minutes');
    assert.equal(status(item({ health: { status: 'healthy' } }), NOW), 'Up 2 minutes (healthy)');
    assert.equal(status(item({ state: 'exited', exit_code: 3, finished_at: '2026-11-30T11:59:00Z' }), NOW), 'Exited (3) About a minute ago');
    assert.equal(status(item({ state: 'stopped', started_at: null }), NOW), 'Created');
    assert.equal(status(item({ state: 'booting' }), NOW), 'Booting');
  });

  it('lines up every column whatever the length of the names', () => {
    const text = psTable(
      [
        item({ name: 'a-container-with-a-really-quite-long-name', args: ['sh', '-c', 'while true; do echo hello; sleep 1; done'] }),
        item({ id: '11111111-2222-3333-4444-555555555555', name: 'db', image: 'postgres:16', port_mappings: [{ container_port: 5432, host_port: 5432, protocol: 'tcp', host_ip: '127.0.0.1' }] }),
      ],
      new Map([['postgres:16', { entrypoint: ['docker-entrypoint.sh'], cmd: ['postgres'] }]]),
      NOW,
    );
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[1]!, /^0f8e4c1a-7b2 +nginx:alpine +"sh -c while true; d…" +About an hour ago +Up 2 minutes +a-container-with-a-really-quite-long-name$/);
    // Cut at the header's column starts, each row reads back its own cells; no args: the image's command.
    const header = starts(lines[0]!);
    const cut = (line: string) => header.map((s, i) => line.slice(s, header[i + 1]).trim());
    assert.deepEqual(cut(lines[2]!), ['11111111-222', 'postgres:16', '"docker-entrypoint.s…"', 'About an hour ago', 'Up 2 minutes', '127.0.0.1:5432->5432/tcp', 'db']);
    assert.equal(cut(lines[1]!)[6], 'a-container-with-a-really-quite-long-name');
  });
});

describe('stats', () => {
  const reading = (usage: number, total: number) => ({
    read: '',
    cpu: { usage_ns: usage, guest_total_ns: total, online_cpus: 2 },
    memory: { usage_bytes: 64 * 2 ** 20, limit_bytes: 256 * 2 ** 20, inactive_file_bytes: 0 },
    network: { rx_bytes: 10, tx_bytes: 20 },
    block_io: [{ read_bytes: 1, write_bytes: 2 }, { read_bytes: 3, write_bytes: 4 }],
    pids: { current: 3 },
  });

  it('CPU % is the container time over the guest time between two readings, times the CPUs', () => {
    const f = figures({ id: 'x', name: 'x' }, reading(2e9, 6e9), reading(1e9, 4e9));
    assert.equal(f.cpu_percent, 100, 'one of two vCPUs busy: 100%, as docker counts');
    assert.equal(f.memory_percent, 25);
    assert.equal(f.block_read_bytes, 4);
    assert.equal(figures({ id: 'x', name: 'x' }, reading(2e9, 6e9)).cpu_percent, null, 'one reading: no share yet');
  });
});
