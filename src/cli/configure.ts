// `wulf configure`: set up the controller — /etc/hosts, NFS exports (exportfs), cluster ssh keys, a
// systemd unit for `wulf serve`; `-a` runs them all, as wwctl configure -a does.
import { existsSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic.ts';
import { compiled } from '../lib/assets.ts';
import { errorLine, WulfError } from '../lib/errors.ts';
import type { Ctx, Noun, Verb } from './command.ts';
import { defineCommand } from './define.ts';
import { ssh } from './configure-ssh.ts';
import { readConfigured } from '../store/open.ts';
import { readTemplateConf } from '../store/settings-pg.ts';
import { exportNfs, writeHostFile } from '../maint/configure.ts';
import type { HostResult } from '../overlays/host.ts';

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

const systemd = defineCommand({
  name: 'systemd',
  summary: 'install a systemd unit that runs wulf serve (or --print it)',
  flags: {
    print: { type: 'boolean', short: 'p', help: 'print the unit instead of writing it' },
    dir: { type: 'string', help: 'unit directory (default /etc/systemd/system)', arg: 'DIR' },
  },
  run(ctx, { flags }) {
    const bin = compiled ? realpathSync(process.execPath) : `${process.execPath} ${realpathSync(join(import.meta.dir, '..', 'main.ts'))}`;
    const text = unitText(bin, ctx.paths.root);
    if (flags.print) return void ctx.out(text);
    const dir = flags.dir ?? (ctx.paths.root ? join(ctx.paths.root, 'etc/systemd/system') : '/etc/systemd/system');
    const file = join(dir, 'wulf.service');
    writeFileAtomic(file, text, { mode: 0o644, ...(existsSync(file) ? { backup: `${file}.bak` } : {}) });
    ctx.out(`wrote ${file}\nthen: systemctl daemon-reload && systemctl enable --now wulf`);
  },
});

function said(ctx: Ctx, r: HostResult): void {
  ctx.out(
    r.action === 'unchanged'
      ? `${r.path} unchanged`
      : `${r.action === 'created' ? 'created' : 'wrote'} ${r.path}${r.backup ? ` (previous kept as ${r.backup})` : ''}`,
  );
}

const hostfile = defineCommand({
  name: 'hostfile',
  summary: "write the controller's /etc/hosts from the host overlay (every node; your own lines above the marker are kept)",
  async run(ctx) {
    said(ctx, writeHostFile(ctx.paths, await readConfigured(ctx.paths, ctx.env), await readTemplateConf(ctx.paths, ctx.env), 'etc/hosts'));
    return 0;
  },
});

const nfs = defineCommand({
  name: 'nfs',
  summary: 'write /etc/exports from wulf.conf nfs export paths and run exportfs -ra (needs nfs-kernel-server)',
  async run(ctx) {
    const wulf = await readTemplateConf(ctx.paths, ctx.env); // nfs: is cluster-wide (on PostgreSQL the store's)
    said(ctx, writeHostFile(ctx.paths, await readConfigured(ctx.paths, ctx.env), wulf, 'etc/exports'));
    if (!wulf.nfs.enabled) ctx.out('nfs.enabled is false in wulf.conf: no paths exported');
    const st = exportNfs(ctx.paths);
    switch (st.kind) {
      case 'relocated':
        ctx.out(
          `exportfs not run: it reads /etc/exports only, and this wulf writes the controller's files to ${st.file}` +
            ' (--root / WULF_HOST_ROOT)',
        );
        return 0;
      case 'no-exportfs':
        ctx.out(
          'exportfs not run: nfs-kernel-server is not installed (apt-get install nfs-kernel-server);' +
            ' the exports are written, nothing is exported',
        );
        return 0;
      case 'failed':
        throw new WulfError(`exportfs -ra failed: ${st.error}`, {
          hint: '/etc/exports is written; fix the line exportfs names and run wulf configure nfs again',
        });
      case 'exported':
        if (st.warnings) ctx.err(st.warnings);
        ctx.out(
          `exportfs -ra: ${st.exports.length} export${st.exports.length === 1 ? '' : 's'} in the table` +
            (st.exports.length ? `: ${st.exports.join('; ')}` : ''),
        );
        if (st.started) ctx.out(st.started);
        if (st.server === 'no-nfsd')
          ctx.out(
            'this kernel has no NFS server (no nfsd in /proc/filesystems, no nfsd module): the export table is updated,' +
              ' but nothing is served until a kernel with nfsd runs (or use a userspace NFS server)',
          );
        else if (st.server === 'not-running')
          ctx.out('the NFS server is not running: start it (systemctl enable --now nfs-server) to serve these exports');
        return 0;
    }
  },
});

/** `configure -a`: every step in wwctl's order, each reported; one failing does not stop the others. */
const all = defineCommand({
  name: 'all',
  aliases: ['-a', '--all'],
  summary: 'run every step: systemd, nfs, ssh, hostfile (also: wulf configure -a)',
  async run(ctx) {
    let failed = 0;
    const steps: [string, Verb][] = [
      ['systemd', systemd],
      ['nfs', nfs],
      ['ssh', ssh],
      ['hostfile', hostfile],
    ];
    for (const [name, verb] of steps) {
      ctx.out(`== configure ${name}`);
      try {
        if ((await verb.run(ctx, {}, [], `configure ${name}`)) ?? 0) failed++;
      } catch (e) {
        failed++;
        ctx.err(`wulf: configure ${name}: ${e instanceof WulfError ? e.message : errorLine(e)}`);
      }
    }
    if (failed) ctx.err(`configure -a: ${failed} of ${steps.length} steps failed`);
    return failed ? 1 : 0;
  },
});

export const noun: Noun = {
  verbs: [all, hostfile, nfs, ssh, systemd],
};
