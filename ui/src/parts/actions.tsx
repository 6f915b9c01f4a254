/** A container's actions (start, stop, restart, pause, resume, delete), asking before a delete. */
import { useState } from 'preact/hooks';
import { call } from '../api';
import { live } from '../live';
import { ACTIVE, type Container } from '../types';
import { useConfirm } from './confirm';

export function useContainerActions(onDeleted?: () => void) {
  const [error, setError] = useState('');
  const { ask, dialog } = useConfirm();
  const act = async (c: Container, verb: string) => {
    setError('');
    try {
      if (verb === 'delete') {
        if (!(await ask(`Delete ${c.name}? Its writable layer, logs and anonymous volumes are lost.`))) return;
        await call('DELETE', `/v1/containers/${c.id}`);
        onDeleted?.();
      } else {
        await call('POST', `/v1/containers/${c.id}/${verb}`);
      }
      live.refresh();
    } catch (e) {
      setError(`${c.name}: ${(e as Error).message}`);
    }
  };
  return { act, error, dialog };
}

export function Actions({ c, act }: { c: Container; act: (c: Container, verb: string) => void }) {
  const b = (verb: string, label: string, cls = '') => (
    <button type="button" class={cls} onClick={() => act(c, verb)} aria-label={`${label} ${c.name}`}>
      {label}
    </button>
  );
  return (
    <>
      {!ACTIVE.has(c.state) && b('start', 'Start')}
      {ACTIVE.has(c.state) && c.state !== 'paused' && b('stop', 'Stop')}
      {b('restart', 'Restart')}
      {c.state === 'running' && b('pause', 'Pause')}
      {c.state === 'paused' && b('unpause', 'Resume')}
      {b('delete', 'Delete', 'danger')}
    </>
  );
}
