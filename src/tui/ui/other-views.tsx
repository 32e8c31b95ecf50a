// Profiles (with the nodes using them), images (with node counts) and the boot log pane.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Box, Text } from 'ink';
import { expandProfiles, type MergedNode, type NodesConf } from '../../config/cascade.ts';
import { naturalCompare } from '../../config/cascade.ts';
import { compressHostlist } from '../../lib/hostlist.ts';
import { fit } from '../state/nodes.ts';
import type { ListState } from '../state/list.ts';
import type { LogEvent } from '../state/status.ts';
import { c, type Theme } from './theme.ts';

export interface ProfileRow { name: string; nodes: string[]; image: string; detail: string }
export function profileRows(conf: NodesConf): ProfileRow[] {
  const users = new Map<string, string[]>();
  for (const [id, n] of Object.entries(conf.nodes)) {
    for (const p of expandProfiles(n.profiles ?? [], conf.profiles)) { const l = users.get(p) ?? []; l.push(id); users.set(p, l); }
  }
  return Object.keys(conf.profiles).sort(naturalCompare).map((name) => {
    const p = conf.profiles[name]!;
    const bits = [p.profiles?.length ? `uses ${p.profiles.join(',')}` : '', p.systemOverlay?.length ? `${p.systemOverlay.length} system overlays` : '', p.comment ?? ''].filter(Boolean);
    return { name, nodes: (users.get(name) ?? []).sort(naturalCompare), image: p.imageName ?? '', detail: bits.join('; ') };
  });
}

export interface ImageRow { name: string; nodes: number; onDisk: boolean }
export function imageRows(merged: MergedNode[], imagesDir: string): ImageRow[] {
  const count = new Map<string, number>();
  for (const m of merged) if (m.data.imageName) count.set(m.data.imageName, (count.get(m.data.imageName) ?? 0) + 1);
  return [...count.keys()].sort(naturalCompare).map((name) => ({ name, nodes: count.get(name)!, onDisk: existsSync(join(imagesDir, name)) }));
}

interface ListProps { list: ListState; height: number; width: number; theme: Theme }

export function ProfilesView({ rows, ...p }: ListProps & { rows: ProfileRow[] }) {
  const nameW = Math.min(20, Math.max(8, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(`  ${'PROFILE'.padEnd(nameW)} ${'NODES'.padStart(6)} ${'IMAGE'.padEnd(14)} NODES USING IT / DETAIL`, p.width)}</Text>
      {rows.length === 0 ? <Text dimColor>  no profiles in nodes.conf</Text> : null}
      {rows.slice(p.list.top, p.list.top + p.height).map((r, i) => (
        <Text key={r.name} inverse={p.list.top + i === p.list.cursor} wrap="truncate">
          {fit(`  ${fit(r.name, nameW)} ${String(r.nodes.length).padStart(6)} ${fit(r.image, 14)} ${r.nodes.length ? compressHostlist(r.nodes) : '(no nodes)'}${r.detail ? '  — ' + r.detail : ''}`, p.width)}
        </Text>
      ))}
    </Box>
  );
}

export function ImagesView({ rows, ...p }: ListProps & { rows: ImageRow[] }) {
  const nameW = Math.min(30, Math.max(10, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(`  ${'IMAGE'.padEnd(nameW)} ${'NODES'.padStart(6)}  ON DISK  SIZE / KERNEL / DIGEST`, p.width)}</Text>
      {rows.length === 0 ? <Text dimColor>  no node names an image</Text> : null}
      {rows.slice(p.list.top, p.list.top + Math.max(0, p.height - 1)).map((r, i) => (
        <Text key={r.name} inverse={p.list.top + i === p.list.cursor} wrap="truncate">
          {fit(`  ${fit(r.name, nameW)} ${String(r.nodes).padStart(6)}  ${r.onDisk ? 'yes    ' : 'no     '}  n/a`, p.width)}
        </Text>
      ))}
      <Text color={c(p.theme, 'yellow')} wrap="truncate">{fit('  size, kernel, digest: not available yet (the images service has not landed in this build)', p.width)}</Text>
    </Box>
  );
}

const clock = (t: number) => new Date(t * 1000).toTimeString().slice(0, 8);
export function LogView({ events, filter, ...p }: ListProps & { events: LogEvent[]; filter: string }) {
  const follow = p.list.key === undefined;
  const cursor = follow ? events.length - 1 : p.list.cursor;
  const top = follow ? Math.max(0, events.length - p.height) : p.list.top;
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(`  TIME     NODE             STAGE    SENT / IP${filter ? `   (filter: ${filter})` : ''}${follow ? '   [following]' : ''}`, p.width)}</Text>
      {events.length === 0 ? <Text dimColor>  no boot events received{filter ? ' for this filter' : ' (events arrive from the running server\'s status stream)'}</Text> : null}
      {events.slice(top, top + p.height).map((e, i) => (
        <Text key={e.seq} inverse={top + i === cursor && !follow} wrap="truncate">
          {fit(`  ${clock(e.time)} ${fit(e.node, 16)} ${fit(e.stage, 8)} ${e.sent} ${e.ipaddr}`, p.width)}
        </Text>
      ))}
    </Box>
  );
}
