/** Errors in Docker's body and statuses: dockerd's words where Hearth knows them, kinds mapped otherwise. */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { nameInUse, noSuchContainer, notImplemented, toDockerResponse } from '../../../src/api/docker/errors.ts';
import { HearthError } from '../../../src/errors.ts';

it('says dockerd\'s words with dockerd\'s statuses', () => {
  assert.deepEqual(toDockerResponse(noSuchContainer('web')), [404, { message: 'No such container: web' }]);
  assert.deepEqual(toDockerResponse(nameInUse('web', 'f'.repeat(64))), [
    409,
    {
      message: `Conflict. The container name "/web" is already in use by container "${'f'.repeat(64)}". You have to remove (or rename) that container to be able to reuse that name.`,
    },
  ]);
  assert.deepEqual(toDockerResponse(notImplemented('GET', '/swarm')), [501, { message: 'not implemented by Hearth: GET /swarm' }]);
});

it('maps Hearth errors by kind, keeping their message and the field at fault', () => {
  const bad = new HearthError('InvalidArgument', 'HEARTH_ERR_INVALID_ARGUMENT', 'cpus 99 needs 99 vCPUs', { field: 'body/cpus' });
  assert.deepEqual(toDockerResponse(bad), [400, { message: 'cpus 99 needs 99 vCPUs (body/cpus)' }]);
  assert.deepEqual(toDockerResponse(new HearthError('FailedPrecondition', 'HEARTH_ERR_CONTAINER_STATE', 'it is stopped')), [409, { message: 'it is stopped' }]);
  assert.deepEqual(toDockerResponse(new HearthError('AlreadyExists', 'HEARTH_ERR_PORT_IN_USE', 'port 80 taken')), [500, { message: 'port 80 taken' }], 'dockerd answers a taken port with a 500');
  assert.deepEqual(toDockerResponse(new HearthError('Unavailable', 'HEARTH_ERR_SHUTTING_DOWN', 'closing')), [503, { message: 'closing' }]);
});

it('keeps client errors and hides what failed inside', () => {
  assert.deepEqual(toDockerResponse(Object.assign(new Error('body too large'), { statusCode: 413 })), [413, { message: 'body too large' }]);
  assert.deepEqual(toDockerResponse(new Error('secret path /x')), [500, { message: 'internal error in Hearth (see the manager log)' }]);
});
