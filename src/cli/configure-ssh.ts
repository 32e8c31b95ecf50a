// `wulf configure ssh`: makes the cluster-wide SSH host keys (<confDir>/keys/ssh_host_<type>_key)
// that the ssh.host_keys overlay puts on every node, and, as wwctl does, root's own key pair
// (id_<first type>) with its public half in root's authorized_keys, which the ssh.authorized_keys
// overlay carries to the nodes (so `wulf ssh` logs in with it). Existing keys are kept unless --force.
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx } from './command.ts';
import { defineCommand } from './define.ts';
import { fail } from '../lib/errors.ts';
import { readWulfConf } from '../config/wulfconf.ts';
import { readTemplateConf } from '../store/settings-pg.ts';
import { rootSshDir } from '../remote/ssh.ts';

function keygen(ctx: Ctx, type: string, key: string, comment: string, force: boolean): void {
  if (existsSync(key) && !force) {
    ctx.out(`${key} exists (kept)`);
    return;
  }
  rmSync(key, { force: true });
  rmSync(`${key}.pub`, { force: true });
  const r = Bun.spawnSync(['ssh-keygen', '-q', '-t', type, '-N', '', '-C', comment, '-f', key], { stderr: 'pipe' });
  if (r.exitCode !== 0) fail(`ssh-keygen -t ${type} failed: ${r.stderr.toString().trim()}`);
  ctx.out(`wrote ${key}`);
}

/** Root's key pair and authorized_keys; returns the files it changed. */
export function rootKeys(ctx: Ctx, type: string, force: boolean): void {
  const dir = rootSshDir(ctx.paths);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = join(dir, `id_${type}`);
  keygen(ctx, type, key, `root@wulf cluster key`, force);
  const pub = readFileSync(`${key}.pub`, 'utf8').trim();
  const auth = join(dir, 'authorized_keys');
  const have = existsSync(auth) ? readFileSync(auth, 'utf8') : '';
  const body = pub.split(/\s+/).slice(0, 2).join(' ');
  if (have.split('\n').some((l) => l.includes(body))) return;
  appendFileSync(auth, `${have && !have.endsWith('\n') ? '\n' : ''}${pub}\n`, { mode: 0o600 });
  ctx.out(`added ${key}.pub to ${auth}`);
}

export const ssh = defineCommand({
  name: 'ssh',
  summary: "generate the cluster SSH host keys (ssh.host_keys overlay) and root's key in authorized_keys (ssh.authorized_keys overlay)",
  flags: {
    force: { type: 'boolean', short: 'f', help: 'replace existing keys' },
    'key-types': { type: 'string', short: 't', arg: 'LIST', help: "comma list (default: wulf.conf ssh.key types); the first is root's" },
    keytypes: { type: 'string', hidden: true, help: "wwctl's spelling of --key-types" },
  },
  async run(ctx, { flags }) {
    const list = flags['key-types'] ?? flags.keytypes;
    const types = list
      ? list
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : // cluster-wide: on PostgreSQL the store's (this wulf.conf's while the store is away)
        (await readTemplateConf(ctx.paths, ctx.env).catch(() => readWulfConf(ctx.paths))).ssh.keyTypes;
    for (const t of types)
      if (!['rsa', 'ecdsa', 'ed25519', 'dsa'].includes(t)) fail(`unknown SSH key type "${t}"`, 'use rsa, ecdsa or ed25519');
    if (!types.length) fail('no SSH key types', 'set ssh.key types in wulf.conf, or --key-types');
    if (!Bun.which('ssh-keygen')) fail('ssh-keygen is not installed', 'apt-get install openssh-client');
    mkdirSync(ctx.paths.keysDir, { recursive: true, mode: 0o700 });
    for (const t of types) keygen(ctx, t, join(ctx.paths.keysDir, `ssh_host_${t}_key`), `wulf cluster ${t} host key`, flags.force);
    rootKeys(ctx, types[0]!, flags.force);
    return 0;
  },
});
