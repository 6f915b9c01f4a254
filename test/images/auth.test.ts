/** Pulls from registries that want Basic auth (htpasswd) and Bearer tokens (a token issuer in the test). */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isHearthError } from '../../src/errors.ts';
import { ImageStore } from '../../src/images/image-store.ts';
import { Pusher, pushImage } from '../helpers/registry-push.ts';
import { startRegistry, type TestRegistry } from '../helpers/registry.ts';

for (const kind of ['basic', 'token'] as const) {
  describe(`registry with ${kind} auth`, () => {
    let reg: TestRegistry;
    let dir: string;
    const authFile = (user: string, pass: string, key: string): string => {
      const f = path.join(dir, `config-${user}-${pass}.json`);
      fs.writeFileSync(f, JSON.stringify({ auths: { [key]: { auth: Buffer.from(`${user}:${pass}`).toString('base64') } } }));
      return f;
    };
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-auth-'));
      reg = await startRegistry({ auth: kind });
      await pushImage(new Pusher(reg.url, reg.user), 'private/app', 'v1', [
        { entries: [{ path: 'secret', content: 's', mode: 0o600 }], compression: 'zstd' },
      ]);
    });
    after(async () => {
      await reg?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('pulls with credentials from a Docker config.json', async () => {
      const store = new ImageStore({ dataDir: path.join(dir, 'ok'), authFile: authFile(reg.user!.username, reg.user!.password, `http://${reg.host}`) });
      const r = await store.ensureRootfs(`${reg.host}/private/app:v1`);
      assert.ok(fs.existsSync(r.diskPath));
      if (kind === 'token') assert.ok(reg.issuer!.requests > 0);
    });

    it('refuses bad credentials clearly', async () => {
      const store = new ImageStore({ dataDir: path.join(dir, 'bad'), authFile: authFile(reg.user!.username, 'wrong', reg.host) });
      await assert.rejects(
        () => store.ensureRootfs(`${reg.host}/private/app:v1`),
        (e) => isHearthError(e, 'HEARTH_ERR_REGISTRY_UNAUTHORIZED') && /refused the credentials for user "hearth"/.test(e.message),
      );
      assert.deepEqual(await store.list(), []);
    });

    it('asks for credentials when there are none', async () => {
      const store = new ImageStore({ dataDir: path.join(dir, 'none') });
      await assert.rejects(
        () => store.ensureRootfs(`${reg.host}/private/app:v1`),
        (e) => isHearthError(e, 'HEARTH_ERR_REGISTRY_UNAUTHORIZED') && /requires authentication/.test(e.message),
      );
    });
  });
}
