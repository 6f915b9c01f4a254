import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { e2eEnv } from '../helpers/e2e-env.ts';
import type { E2eEnv } from '../helpers/e2e-env.ts';
import { enterTestNetns } from '../helpers/inside-netns.ts';
import { spellings } from '../helpers/url-spellings.ts';
await enterTestNetns(import.meta.url);
const TOKEN = 'e2e-secret-token-of-some-length';
describe('probe', () => {
  let world: E2eEnv; let port: number;
  before(async () => { world = await e2eEnv({ HEARTH_HOST: '0.0.0.0', HEARTH_API_TOKEN: TOKEN }); port = Number(new URL(world.manager.url).port); });
  after(async () => { await world?.close(); });
  it('probe', async () => {
    const upgrade = (route: string, headers: Record<string, string> = {}) =>
      new Promise<string>((resolve) => {
        let ws: WebSocket;
        try { ws = new WebSocket(`ws://127.0.0.1:${port}${route}`, { headers }); } catch (e) { return resolve(`throw: ${(e as Error).message}`); }
        const t = setTimeout(() => { ws.terminate(); resolve('TIMEOUT'); }, 3000);
        ws.once('open', () => (clearTimeout(t), ws.close(), resolve('open')));
        ws.once('unexpected-response', (_req, res) => (clearTimeout(t), resolve(String(res.statusCode))));
        ws.once('error', (e) => (clearTimeout(t), resolve(`error: ${e.message}`)));
      });
    const id = '00000000-0000-4000-8000-000000000000';
    for (const route of [`/v1/exec/${id}/attach`, `/v1/containers/${id}/attach`, '/v1/events']) {
      for (const spelt of spellings(route)) { const r = await upgrade(spelt); if (r !== '401') console.log(route, JSON.stringify(spelt), r); }
    }
    console.log('with token', await upgrade('/v1/exec/unknown/attach', { authorization: `Bearer ${TOKEN}` }));
    console.log('with token id', await upgrade(`/v1/exec/${id}/attach`, { authorization: `Bearer ${TOKEN}` }));
  });
});
