// `wulf configure ssh`: makes the cluster-wide SSH host keys (<confDir>/keys/ssh_host_<type>_key)
// that the ssh.host_keys overlay puts on every node. Existing keys are kept unless --force.
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Verb } from './command.ts';
import { fail } from '../lib/errors.ts';
import { readWulfConf } from '../config/wulfconf.ts';

export const ssh: Verb = {
  name: 'ssh', summary: 'generate the cluster SSH host keys used by the ssh.host_keys overlay',
  flags: {
    force: { type: 'boolean', short: 'f', help: 'replace existing keys' },
    'key-types': { type: 'string', arg: 'LIST', help: 'comma list (default: wulf.conf ssh.key types)' },
  },
  run(ctx, flags) {
    const types = flags['key-types'] ? String(flags['key-types']).split(',').map((s) => s.trim()).filter(Boolean) : readWulfConf(ctx.paths).ssh.keyTypes;
    for (const t of types) if (!['rsa', 'ecdsa', 'ed25519', 'dsa'].includes(t)) fail(`unknown SSH key type "${t}"`, 'use rsa, ecdsa or ed25519');
    if (!Bun.which('ssh-keygen')) fail('ssh-keygen is not installed', 'apt-get install openssh-client');
    mkdirSync(ctx.paths.keysDir, { recursive: true, mode: 0o700 });
    for (const t of types) {
      const key = join(ctx.paths.keysDir, `ssh_host_${t}_key`);
      if (existsSync(key) && !flags.force) { ctx.out(`${key} exists (kept)`); continue; }
      rmSync(key, { force: true }); rmSync(`${key}.pub`, { force: true });
      const r = Bun.spawnSync(['ssh-keygen', '-q', '-t', t, '-N', '', '-C', `wulf cluster ${t} host key`, '-f', key], { stderr: 'pipe' });
      if (r.exitCode !== 0) fail(`ssh-keygen -t ${t} failed: ${r.stderr.toString().trim()}`);
      ctx.out(`wrote ${key}`);
    }
    return 0;
  },
};
