// warewulf.conf's `tftp.tftproot` and `tftp.ipxe`, honoured: the iPXE build a PXE client is
// offered per DHCP architecture comes from `tftp.ipxe` (Warewulf's map: "00:00" BIOS, "00:07"/"00:09"
// x86-64 EFI, "00:0B" arm64 EFI) when wulf can serve that file — embedded, in <state>/tftp, or in
// <tftproot>/warewulf/ (where `wwctl configure tftp` put it) or <tftproot> — else wulf's own build
// for that architecture, said once. TFTP and the HTTP /tftp/ route serve from those places too.
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { BootFiles } from '../dhcp/boot.ts';
import type { Paths } from '../config/paths.ts';
import type { WulfConf } from '../config/wulfconf.ts';
import type { Logger } from '../lib/log.ts';

export const WULF_BOOTFILES: BootFiles = { bios: 'undionly.kpxe', efi64: 'ipxe.efi' };

/** Warewulf's arch → file map as wulf's boot files; a file `serveable` says no to keeps wulf's default. Pure. */
export function bootFilesFromMap(
  map: Record<string, string>,
  serveable: (name: string) => boolean,
): { files: BootFiles; skipped: string[] } {
  const files: BootFiles = { ...WULF_BOOTFILES };
  const skipped: string[] = [];
  const norm = (k: string) =>
    k
      .toLowerCase()
      .replace(/^0x/, '')
      .split(':')
      .map((x) => x.padStart(2, '0'))
      .join(':');
  const m = new Map(Object.entries(map).map(([k, v]) => [norm(k), basename(String(v))]));
  const pick = (keys: string[], slot: keyof BootFiles) => {
    for (const k of keys) {
      const f = m.get(k);
      if (!f) continue;
      if (serveable(f)) {
        files[slot] = f;
        return;
      }
      skipped.push(`${k}: ${f}`);
    }
  };
  pick(['00:00'], 'bios');
  pick(['00:07', '00:09'], 'efi64');
  pick(['00:0b'], 'arm64');
  return { files, skipped };
}

export interface SiteBoot {
  /** directories TFTP serves from after the embedded builds */
  roots: string[];
  /** an iPXE build by name: embedded, else from the roots (the HTTP /tftp/ route) */
  binary(name: string): Uint8Array | undefined;
  bootfiles(wulf: WulfConf): BootFiles;
}

export function siteBoot(paths: Paths, tftproot: string, log: Logger, embedded: (name: string) => Uint8Array | undefined): SiteBoot {
  const host = tftproot && paths.hostRoot ? join(paths.hostRoot, tftproot) : tftproot; // a controller path: under WULF_HOST_ROOT when set
  const roots = [paths.tftpRoot, ...(host ? [join(host, 'warewulf'), host] : [])];
  const inRoots = (name: string) => roots.map((r) => join(r, name)).find((p) => lstatSync(p, { throwIfNoEntry: false })?.isFile());
  let memo: { rev: string; files: BootFiles } | undefined;
  return {
    roots,
    binary: (name) => {
      const e = embedded(name);
      if (e) return e;
      const p = /^[A-Za-z0-9._-]+$/.test(name) ? inRoots(name) : undefined;
      return p && existsSync(p) ? readFileSync(p) : undefined;
    },
    bootfiles(wulf) {
      if (memo?.rev === wulf.revision) return memo.files;
      const r = bootFilesFromMap(wulf.tftp.ipxe, (n) => !!embedded(n) || !!inRoots(n));
      for (const s of r.skipped)
        log.warn(
          'tftp',
          `tftp.ipxe ${s}: wulf has no such build (embedded, or in ${roots.join(', ')}); its own is offered for that architecture`,
        );
      memo = { rev: wulf.revision, files: r.files };
      return r.files;
    },
  };
}
