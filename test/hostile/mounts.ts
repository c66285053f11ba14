/**
 * Folders with real file-system trouble for the hostile catalogue: a read-only one and a nearly full one. Permissions
 * do not stop root, so as root they are tmpfs mounts (unmounted in teardown); a read-only folder for other users is
 * chmod 555. When neither is possible the helper says why (t.log) and returns null: the test then passes without
 * asserting, and never pretends.
 */
import type { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers.js';

const isRoot = () => process.getuid?.() === 0;

function mountTmpfs(t: ExecutionContext, options: string): string | null {
  const dir = join(tempDir('fp-mount-'), 'mnt');
  mkdirSync(dir);
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) {
    t.log(`cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()}): not asserted`);
    return null;
  }
  t.teardown(() => {
    spawnSync('umount', [dir]);
  });
  return dir;
}

/** A folder nothing can be written to, or null (logged) where this machine cannot make one. */
export function readOnlyFolder(t: ExecutionContext): string | null {
  if (isRoot()) return mountTmpfs(t, 'ro,size=64k');
  const dir = join(tempDir(), 'read-only');
  mkdirSync(dir);
  chmodSync(dir, 0o555);
  t.teardown(() => chmodSync(dir, 0o755));
  return dir;
}

/**
 * A 512 KB file system with `free` bytes left (the rest taken by a filler file), or null (logged) when not root: only
 * root can mount one.
 */
export function smallDisk(t: ExecutionContext, free: number): string | null {
  if (!isRoot()) {
    t.log('not root: cannot mount a small tmpfs to fill, so a full disk is not tested here');
    return null;
  }
  const dir = mountTmpfs(t, 'size=512k');
  if (dir) writeFileSync(join(dir, 'filler'), Buffer.alloc(512 * 1024 - free));
  return dir;
}
