// `wulf configure`: set up the controller — a systemd unit for `wulf serve`, cluster ssh keys.
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic.ts';
import { compiled } from '../lib/assets.ts';
import type { Noun, Verb } from './command.ts';
import { ssh } from './configure-ssh.ts';

export function unitText(binary: string, root: string): string {
  return `[Unit]
Description=wulf provisioning server (DHCP, TFTP, HTTP)
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
ExecStart=${binary}${root ? ` --root ${root}` : ''} serve
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
RestartSec=2
LimitNOFILE=524288

[Install]
WantedBy=multi-user.target
`;
}

const systemd: Verb = {
  name: 'systemd', summary: 'install a systemd unit that runs wulf serve (or --print it)',
  flags: { print: { type: 'boolean', short: 'p', help: 'print the unit instead of writing it' }, dir: { type: 'string', help: 'unit directory (default /etc/systemd/system)', arg: 'DIR' } },
  run(ctx, flags) {
    const bin = compiled ? realpathSync(process.execPath) : `${process.execPath} ${realpathSync(join(import.meta.dir, '..', 'main.ts'))}`;
    const text = unitText(bin, ctx.paths.root);
    if (flags.print) return void ctx.out(text);
    const dir = (flags.dir as string | undefined) ?? (ctx.paths.root ? join(ctx.paths.root, 'etc/systemd/system') : '/etc/systemd/system');
    const file = join(dir, 'wulf.service');
    writeFileAtomic(file, text, { mode: 0o644, ...(existsSync(file) ? { backup: `${file}.bak` } : {}) });
    ctx.out(`wrote ${file}\nthen: systemctl daemon-reload && systemctl enable --now wulf`);
  },
};

export const noun: Noun = { name: 'configure', summary: 'set up the controller: systemd unit, ssh keys', verbs: [systemd, ssh] };
