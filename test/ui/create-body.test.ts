/**
 * The web UI's Create form as data (ui/src/pages/create-body.ts): a form filled in every field makes a body the
 * API accepts and keeps as given (checked against the API itself, with the fake sandbox); blank rows are left
 * out and an error the API names on a body index lands on the form row it came from.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildBody, controlOf, emptyForm, type Form } from '../../ui/src/pages/create-body.ts';
import { harness, type Harness } from '../containers/harness.ts';

const full = (): Form => ({
  ...emptyForm(),
  image: 'sleeper:1',
  name: 'from-the-form',
  args: 'sleep\n600\n',
  env: 'A=1\nB=x=y\nEMPTY',
  ports: [
    { host_port: '', container_port: '', protocol: 'tcp', host_ip: '' },
    { host_port: '18081', container_port: '80', protocol: 'tcp', host_ip: '127.0.0.1' },
    { host_port: '18082', container_port: '53', protocol: 'udp', host_ip: '' },
  ],
  volumes: [
    { source: 'data', container_path: '/data', readonly: false },
    { source: '', container_path: '/scratch', readonly: true },
  ],
  restart_policy: 'on-failure',
  restart_max_retries: '4',
  cpus: '0.5',
  memory_mib: '128',
  hostname: 'web1',
  dns: '10.0.0.53, 10.0.0.54',
  extra_hosts: 'db:10.0.0.9',
  tty: true,
  stdin_open: true,
  health_cmd: 'true',
  health_interval: '5',
  health_timeout: '2',
  health_retries: '2',
  health_start_period: '1',
});

describe('the Create form as a request body', () => {
  let h: Harness;
  before(async () => {
    h = await harness();
  });
  after(() => h.close(true));

  it('makes every field of POST /v1/containers, which the API accepts and keeps', async () => {
    const { body, rowOf } = buildBody(full());
    assert.deepEqual(rowOf, { port_mappings: [1, 2], volumes: [0, 1] }, 'the blank port row is left out');
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: body });
    assert.equal(res.statusCode, 201, res.body);
    const item = (await h.app.inject({ url: `/v1/containers/${res.json().id}` })).json().item;
    assert.deepEqual(item.args, ['sleep', '600']);
    assert.deepEqual(item.env_vars, { A: '1', B: 'x=y', EMPTY: '' });
    assert.deepEqual(
      item.port_mappings.map((p: Record<string, unknown>) => [p.host_port, p.container_port, p.protocol, p.host_ip]),
      [[18081, 80, 'tcp', '127.0.0.1'], [18082, 53, 'udp', null]],
    );
    assert.deepEqual(item.volumes.map((v: Record<string, unknown>) => [v.name === 'data', v.container_path, v.readonly]), [[true, '/data', false], [false, '/scratch', true]]);
    assert.deepEqual([item.restart_policy, item.restart_max_retries, item.cpus, item.memory_mib], ['on-failure', 4, 0.5, 128]);
    assert.deepEqual([item.hostname, item.dns, item.extra_hosts], ['web1', ['10.0.0.53', '10.0.0.54'], [{ hostname: 'db', ip: '10.0.0.9' }]]);
    assert.deepEqual([item.tty, item.stdin_open], [true, true]);
    assert.deepEqual(item.healthcheck, { test: ['CMD-SHELL', 'true'], interval_s: 5, timeout_s: 2, retries: 2, start_period_s: 1 });
  });

  it('health check: timings alone tune the image\'s, "none" turns it off, nothing leaves it out', () => {
    assert.deepEqual(buildBody({ ...emptyForm(), health_interval: '3' }).body.healthcheck, { interval_s: 3 });
    assert.deepEqual(buildBody({ ...emptyForm(), health_cmd: 'x', health_none: true }).body.healthcheck, { test: ['NONE'] });
    assert.equal('healthcheck' in buildBody(emptyForm()).body, false);
  });

  it("puts the API's error on the field it names, on the right row", async () => {
    const form = full();
    form.ports[2]!.host_port = '70000';
    const built = buildBody(form);
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: { ...built.body, name: 'other' } });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.field, 'body/port_mappings/1/host_port');
    assert.equal(controlOf(res.json().error.field, built), 'port_mappings.2.host_port', 'body index 1 is form row 2');
    assert.equal(controlOf('body/healthcheck/interval_s', built), 'healthcheck.interval_s');
    assert.equal(controlOf('body/env_vars', built), 'env_vars');
    assert.equal(controlOf('body/memory_mib', built), 'memory_mib');
    assert.equal(controlOf(undefined, built), '');
  });

  it('a number typed wrong goes as typed, so the API names it', async () => {
    const built = buildBody({ ...emptyForm(), image: 'sleeper:1', name: 'typo', memory_mib: '12x' });
    const res = await h.app.inject({ method: 'POST', url: '/v1/containers', payload: built.body });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().error.field, 'body/memory_mib');
  });
});
