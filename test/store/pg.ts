// A throw-away PostgreSQL cluster from Debian's packages for the store tests: initdb in a temp dir
// (as the unprivileged `postgres` user when run as root: initdb refuses root), a unix socket in
// that dir and no TCP port, torn down after. When it cannot start, the error says why: a test that
// needs it fails, it is never skipped.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pg {
  dir: string;
  url: (db?: string) => string;
  createDb: (name: string) => string;
  stop: () => void;
  /** stop the server, keeping its data (a database lost while wulf runs) */ halt: () => void;
  /** start it again after halt */ resume: () => void;
}

function pgBin(): string {
  const base = '/usr/lib/postgresql';
  const vers = existsSync(base)
    ? readdirSync(base)
        .filter((v) => existsSync(join(base, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (!vers.length)
    throw new Error(`PostgreSQL is not installed (no ${base}/*/bin/initdb): apt-get install postgresql (build/test-deps.ts lists it)`);
  return join(base, vers[0]!, 'bin');
}

export function startPg(): Pg {
  const bin = pgBin();
  const dir = mkdtempSync(join(tmpdir(), 'wulf-pg-'));
  const asRoot = process.getuid?.() === 0;
  let uid = -1;
  if (asRoot) {
    const r = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error('running as root and there is no "postgres" user to run initdb as');
    uid = Number(r.stdout.trim());
    const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]) => {
    const r = asRoot
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
      : spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0)
      throw new Error(
        `${cmd.split('/').pop()} ${args[0]} failed: ${(r.stderr || r.stdout || String(r.error)).trim().split('\n').slice(-2).join(' ')}`,
      );
    return r.stdout;
  };
  const data = join(dir, 'data');
  const start = () =>
    run(join(bin, 'pg_ctl'), [
      '-D',
      data,
      '-l',
      join(dir, 'log'),
      '-w',
      '-t',
      '30',
      '-o',
      `-k ${dir} -c listen_addresses= -c fsync=off`,
      'start',
    ]);
  try {
    run(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    start();
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const url = (db = 'postgres') => `postgres://postgres@localhost/${db}?host=${encodeURIComponent(dir)}`;
  let n = 0;
  return {
    dir,
    url,
    createDb(name = `t${++n}`) {
      run(join(bin, 'psql'), ['-h', dir, '-U', 'postgres', '-d', 'postgres', '-q', '-c', `create database ${name}`]);
      return url(name);
    },
    halt() {
      run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    resume() {
      start();
    },
    stop() {
      try {
        run(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
