/**
 * /metrics: the exposition writer (src/api/metrics/exposition.ts) against the strict parser of
 * test/helpers/prom-text.ts (itself tested here on malformed input), and the manager's series moving as
 * containers are created, run and deleted and requests are answered (on the fakes).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Registry } from '../../src/api/metrics/exposition.ts';
import { create, harness, waitFor } from '../containers/harness.ts';
import { parsePrometheusText, valueOf } from '../helpers/prom-text.ts';

describe('the strict Prometheus text parser', () => {
  it('reads families, labels with escapes, special values and histograms', () => {
    const text = [
      '# HELP a_total Things, with a \\\\ and a \\n.',
      '# TYPE a_total counter',
      'a_total{path="/x\\"y\\\\z\\n",code="200"} 3',
      'a_total 1e3 1700000000000',
      '# a plain comment',
      '# TYPE g gauge',
      'g -Inf',
      'g{x="1",} NaN',
      '# TYPE h histogram',
      'h_bucket{le="0.5"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 1.25',
      'h_count 2',
      '',
    ].join('\n');
    const f = parsePrometheusText(text);
    assert.equal(f.get('a_total')?.help, 'Things, with a \\ and a \n.');
    assert.equal(valueOf(f, 'a_total', { path: '/x"y\\z\n', code: '200' }), 3);
    assert.equal(valueOf(f, 'a_total'), 1000);
    assert.equal(valueOf(f, 'g'), -Infinity);
    assert.equal(valueOf(f, 'h_count'), 2);
  });

  const bad: Array<[string, string]> = [
    ['no value', 'a\n'],
    ['a bad value', 'a 1,5\n'],
    ['a bad name', '1a 1\n'],
    ['an unquoted label value', 'a{x=1} 1\n'],
    ['an unterminated label value', 'a{x="1} 1\n'],
    ['a bad escape', 'a{x="\\t"} 1\n'],
    ['a repeated label', 'a{x="1",x="2"} 1\n'],
    ['a repeated series', 'a 1\na 2\n'],
    ['no final newline', 'a 1'],
    ['an unknown type', '# TYPE a gauges\na 1\n'],
    ['TYPE after samples', 'a 1\n# TYPE a gauge\n'],
    ['a family split up', '# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na{x="1"} 2\n'],
    ['a negative counter', '# TYPE a counter\na -1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['buckets not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="2"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n'],
    ['+Inf not the count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n'],
    ['a plain sample in a histogram', '# TYPE h histogram\nh 1\n'],
    ['junk after the value', 'a 1 2 3\n'],
  ];
  for (const [what, text] of bad) it(`refuses ${what}`, () => assert.throws(() => parsePrometheusText(text)));
});

describe('the exposition writer', () => {
  it('writes what the strict parser reads back, escapes included; collected series are afresh at each scrape', async () => {
    const r = new Registry();
    const c = r.counter({ name: 'x_total', help: 'Counts\nlines', labelNames: ['v'] });
    c.inc({ v: 'a"b\\c\nd' }, 2);
    c.inc({ v: 'a"b\\c\nd' });
    const h = r.histogram({ name: 'd_seconds', help: 'Durations.', buckets: [0.1, 1] });
    for (const v of [0.05, 0.5, 5]) h.observe({}, v);
    let items = ['one', 'two'];
    r.collect([{ name: 'items', help: 'Items.', type: 'gauge', labelNames: ['item'] }], (emit) => {
      for (const i of items) emit('items', { item: i }, 1);
    });
    const first = parsePrometheusText(await r.text());
    assert.equal(valueOf(first, 'x_total', { v: 'a"b\\c\nd' }), 3);
    assert.equal(first.get('x_total')?.help, 'Counts\nlines');
    assert.deepEqual(first.get('d_seconds')?.samples.map((s) => [s.labels.le, s.value]).slice(0, 3), [['0.1', 1], ['1', 2], ['+Inf', 3]]);
    assert.equal(valueOf(first, 'd_seconds_sum'), 5.55);
    assert.equal(first.get('items')?.samples.length, 2);
    items = ['two'];
    const second = parsePrometheusText(await r.text());
    assert.deepEqual(second.get('items')?.samples.map((s) => s.labels.item), ['two']);
  });

  it('refuses what would not parse: wrong labels, a name twice, a counter going down', () => {
    const r = new Registry();
    const g = r.gauge({ name: 'g', help: 'G.', labelNames: ['a'] });
    assert.throws(() => g.set({ b: '1' }, 1), /takes labels \[a\]/);
    assert.throws(() => g.set({}, 1));
    assert.throws(() => r.gauge({ name: 'g', help: 'again' }), /twice/);
    assert.throws(() => r.counter({ name: 'c', help: 'C.' }).inc({}, -1), /only goes up/);
    assert.throws(() => r.gauge({ name: 'bad-name', help: 'x' }), /not valid/);
    assert.throws(() => r.histogram({ name: 'h', help: 'x', labelNames: ['le'] }), /not valid/);
  });
});

describe('GET /metrics', () => {
  it('parses, and its series move: a container appears, runs, is counted, and goes; requests are counted by route', async () => {
    const h = await harness();
    try {
      const scrape = async () => {
        const r = await h.app.inject({ url: '/metrics' });
        assert.equal(r.statusCode, 200);
        assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
        return parsePrometheusText(r.body);
      };
      const empty = await scrape();
      assert.equal(valueOf(empty, 'hearth_containers', { state: 'running' }), 0);
      assert.equal(valueOf(empty, 'hearth_vmms'), 0);
      assert.equal(empty.get('hearth_container_state')?.samples.length, 0);

      const id = await create(h.app, { name: 'counted', image: 'sleeper:1', healthcheck: { test: ['CMD', 'exit', '0'], interval_s: 0.01 } });
      await waitFor(h.app, id, 'healthy', (i) => i.health?.status === 'healthy');
      assert.equal((await h.app.inject({ url: '/v1/containers/no-such-id' })).statusCode, 404);
      assert.equal((await h.app.inject({ url: '/nowhere/at/all' })).statusCode, 404);
      const running = await scrape();
      assert.equal(valueOf(running, 'hearth_containers', { state: 'running' }), 1);
      assert.equal(valueOf(running, 'hearth_container_state', { id, name: 'counted', state: 'running' }), 1);
      assert.equal(valueOf(running, 'hearth_container_restart_count', { id, name: 'counted' }), 0);
      assert.equal(valueOf(running, 'hearth_container_health', { id, name: 'counted', status: 'healthy' }), 1);
      assert.equal(valueOf(running, 'hearth_vmms'), 1);
      assert.equal(valueOf(running, 'hearth_container_create_to_running_seconds_count'), 1);
      assert.equal(valueOf(running, 'hearth_image_pull_duration_seconds_count', { outcome: 'ok' }), 1);
      const requests = (route: string, method: string, status: string) =>
        valueOf(running, 'hearth_api_request_duration_seconds_count', { route, method, status });
      assert.equal(requests('/v1/containers', 'POST', '201'), 1);
      assert.ok(requests('/v1/containers/:id', 'GET', '200')! >= 1);
      assert.equal(requests('/v1/containers/:id', 'GET', '404'), 1);
      assert.equal(requests('unmatched', 'GET', '404'), 1);
      assert.ok(requests('/metrics', 'GET', '200')! >= 1);
      const routes = new Set(running.get('hearth_api_request_duration_seconds')!.samples.map((s) => s.labels.route));
      assert.ok(![...routes].some((r = '') => r.includes(id) || r.includes('nowhere')), 'no raw URL as a label');

      assert.equal((await h.app.inject({ method: 'DELETE', url: `/v1/containers/${id}` })).statusCode, 204);
      const gone = await scrape();
      assert.equal(valueOf(gone, 'hearth_containers', { state: 'running' }), 0);
      assert.equal(gone.get('hearth_container_state')?.samples.length, 0);
      assert.equal(valueOf(gone, 'hearth_vmms'), 0);
    } finally {
      await h.close();
    }
  });

  it('needs the API token when one is configured', async () => {
    const token = 'a-long-enough-secret-token';
    const h = await harness({ config: { apiToken: token } });
    try {
      assert.equal((await h.app.inject({ url: '/metrics' })).statusCode, 401);
      const ok = await h.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.statusCode, 200);
      assert.ok(parsePrometheusText(ok.body).has('hearth_containers'));
    } finally {
      await h.close();
    }
  });
});
