/**
 * Hearth's events as Docker's (src/api/docker/shapes/event.ts): each transition and kind of event becomes
 * the actions dockerd emits for it, in its order, with its attributes; and the `filters` parameter in both
 * spellings (src/api/docker/filters.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { booleanFilter, filterTime, matchLabels, parseFilters } from '../../../src/api/docker/filter-args.ts';
import { DockerError } from '../../../src/api/docker/errors.ts';
import { dockerEvents, type EventContainer } from '../../../src/api/docker/shapes/event.ts';
import { deletedMessage, networkMessage, type ContainerState, type EventRecord, type EventType } from '../../../src/model/index.ts';

const CID = 'c'.repeat(64);
const web: EventContainer = { id: CID, name: 'web', image: 'nginx:alpine', labels: { 'com.docker.compose.project': 'shop' }, stopSignal: 3 };
const TIME = '2024-05-06T07:08:09.123Z';

function event(type: EventType, more: Partial<EventRecord> = {}): EventRecord {
  return { id: 1, container_id: 'uuid', image: null, volume: null, network: null, time: TIME, type, from_state: null, to_state: null, message: null, exit_code: null, health_status: null, ...more };
}
const state = (from: ContainerState | null, to: ContainerState, exit: number | null = null) => event('state', { from_state: from, to_state: to, exit_code: exit });
const actions = (e: EventRecord, c: EventContainer | undefined = web) => dockerEvents(e, c).map((d) => [d.Action, d.Actor.Attributes.exitCode ?? d.Actor.Attributes.signal ?? d.Actor.Attributes.execID ?? d.Actor.Attributes.oldName ?? '']);

describe('docker events from Hearth events', () => {
  it('maps the transitions of a container life', () => {
    const table: [EventRecord, string[][]][] = [
      [state(null, 'creating'), [['create', '']]],
      [state(null, 'stopped'), [['create', '']]],
      [state('stopped', 'creating'), []],
      [state('creating', 'booting'), []],
      [state('initializing', 'running'), [['start', '']]],
      [state('recovering', 'running'), []],
      [state('running', 'paused'), [['pause', '']]],
      [state('paused', 'running'), [['unpause', '']]],
      [state('running', 'exited', 3), [['die', '3']]],
      [state('running', 'stopped', 131), [['kill', '3'], ['die', '131'], ['stop', '']]],
      [state('booting', 'stopped'), [['stop', '']]],
      [state('booting', 'error'), []],
      [event('kill', { message: 'sent SIGTERM (15) to the process' }), [['kill', '15']]],
      [event('renamed', { message: 'renamed from old to web' }), [['rename', '/old']]],
      [event('health-status', { health_status: 'unhealthy' }), [['health_status: unhealthy', '']]],
      [event('exec-start', { message: 'exec e1 started: ls -l / (pid 42)' }), [['exec_create: ls -l /', 'e1'], ['exec_start: ls -l /', 'e1']]],
      [event('exec-end', { message: 'exec e1 ended with code 2', exit_code: 2 }), [['exec_die', '2']]],
      [event('restart-scheduled'), []],
      [event('pull', { message: 'resolving x' }), []],
    ];
    for (const [e, want] of table) assert.deepEqual(actions(e), want, `${e.type} ${e.from_state} -> ${e.to_state}`);
  });

  it('gives a container Actor its id, name, image and labels, and the times in seconds and nanoseconds', () => {
    const [d] = dockerEvents(state('initializing', 'running'), web);
    assert.deepEqual(d, {
      Type: 'container',
      Action: 'start',
      Actor: { ID: CID, Attributes: { 'com.docker.compose.project': 'shop', image: 'nginx:alpine', name: 'web' } },
      scope: 'local',
      time: 1714979289,
      timeNano: 1714979289123000000,
      status: 'start',
      id: CID,
      from: 'nginx:alpine',
    });
    assert.deepEqual(dockerEvents(state(null, 'creating'), undefined), [], 'a container gone meanwhile says nothing');
  });

  it('destroys a deleted container, and maps image pulls, tags and removals', () => {
    const gone = event('deleted', { container_id: null, image: 'busybox', from_state: 'exited', message: deletedMessage({ name: 'job', container_id: CID }) });
    const [d] = dockerEvents(gone, undefined);
    assert.deepEqual([d!.Type, d!.Action, d!.Actor.ID, d!.Actor.Attributes.name, d!.Actor.Attributes.image], ['container', 'destroy', CID, 'job', 'busybox']);
    const image = (type: EventType, message: string) => dockerEvents(event(type, { container_id: null, image: 'busybox', message }), undefined).map((e) => [e.Type, e.Action, e.Actor.ID]);
    assert.deepEqual(image('image-pull', 'pulled busybox (sha256:x)'), [['image', 'pull', 'busybox']]);
    assert.deepEqual(image('image-pull', 'pull of busybox failed: no such image'), []);
    assert.deepEqual(image('image-tag', 'tagged'), [['image', 'tag', 'busybox']]);
    assert.deepEqual(image('image-untag', 'untagged'), [['image', 'untag', 'busybox']]);
    assert.deepEqual(image('image-delete', 'removed'), [['image', 'untag', 'busybox'], ['image', 'delete', 'busybox']]);
  });

  it('maps volume and network events, a connect naming its container', () => {
    const shape = (e: EventRecord, c?: EventContainer) => dockerEvents(e, c).map((d) => [d.Type, d.Action, d.Actor.ID, JSON.stringify(d.Actor.Attributes)]);
    assert.deepEqual(shape(event('volume-create', { container_id: null, volume: 'data' })), [['volume', 'create', 'data', '{"driver":"local"}']]);
    assert.deepEqual(shape(event('volume-delete', { container_id: null, volume: 'data' })), [['volume', 'destroy', 'data', '{"driver":"local"}']]);
    assert.deepEqual(shape(event('volume-create', { volume: 'a'.repeat(64) }), web), [['volume', 'create', 'a'.repeat(64), '{"driver":"local"}']], "an anonymous volume's event is a volume's");
    const nid = 'e'.repeat(64);
    const net = (type: EventType, what: string) =>
      shape(event(type, { container_id: null, network: 'shop_default', message: networkMessage(what, { name: 'shop_default', id: nid }) }));
    assert.deepEqual(net('network-create', 'created'), [['network', 'create', nid, '{"name":"shop_default","type":"bridge"}']]);
    assert.deepEqual(net('network-connect', `web (${CID}) connected to`), [['network', 'connect', nid, `{"name":"shop_default","type":"bridge","container":"${CID}"}`]]);
    assert.deepEqual(net('network-disconnect', `web (${CID}) disconnected from`).map((e) => e[1]), ['disconnect']);
    assert.deepEqual(net('network-delete', 'removed').map((e) => e[1]), ['destroy']);
  });
});

describe('docker filters', () => {
  it('reads both spellings, refuses unknown names and bad JSON', () => {
    const f = parseFilters('{"label":{"a=b":true,"c":true,"off":false},"type":["container"]}', ['label', 'type']);
    assert.deepEqual([...f], [['label', ['a=b', 'c']], ['type', ['container']]]);
    assert.ok(matchLabels(f, { a: 'b', c: '' }));
    assert.ok(!matchLabels(f, { a: 'x', c: '' }));
    assert.ok(!matchLabels(f, { a: 'b' }));
    assert.throws(() => parseFilters('{"colour":["red"]}', ['label']), (e) => e instanceof DockerError && e.status === 400 && e.message === "invalid filter 'colour'");
    assert.throws(() => parseFilters('{nope', ['label']), (e) => e instanceof DockerError && e.status === 400);
    assert.equal(booleanFilter(parseFilters('{"dangling":["true"]}', ['dangling']), 'dangling'), true);
    assert.equal(booleanFilter(parseFilters('{"dangling":{"false":true}}', ['dangling']), 'dangling'), false);
    assert.equal(booleanFilter(parseFilters(undefined, ['dangling']), 'dangling'), undefined);
    assert.throws(() => booleanFilter(parseFilters('{"dangling":["maybe"]}', ['dangling']), 'dangling'), DockerError);
    const now = Date.parse('2024-01-02T00:00:00Z');
    assert.equal(filterTime('1700000000.5', 'until', now), 1_700_000_000_500);
    assert.equal(filterTime('2024-01-01T00:00:00Z', 'until', now), Date.parse('2024-01-01T00:00:00Z'));
    assert.equal(filterTime('24h', 'until', now), Date.parse('2024-01-01T00:00:00Z'));
    assert.equal(filterTime('1h30m', 'until', now), now - 5_400_000);
    assert.throws(() => filterTime('yesterday', 'until', now), (e) => e instanceof DockerError && /invalid filter 'until=yesterday'/.test(e.message));
  });
});
