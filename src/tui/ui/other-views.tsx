// Profiles (with the nodes using them), images (with node counts) and the boot log pane.
import { Box, Text } from 'ink';
import { expandProfiles, type MergedNode, type NodesConf } from '../../config/cascade.ts';
import { naturalCompare } from '../../config/cascade.ts';
import { compressHostlist } from '../../lib/hostlist.ts';
import { fit } from '../state/nodes.ts';
import type { ListState } from '../state/list.ts';
import { fmtBytes, fmtClock, type LogEvent } from '../state/status.ts';
import type { Paths } from '../../config/paths.ts';
import { listImages, type ImageSummary } from '../../images/service.ts';
import { errorLine } from '../../lib/errors.ts';
import { c, type Theme } from './theme.ts';

export interface ProfileRow {
  name: string;
  nodes: string[];
  image: string;
  detail: string;
}
export function profileRows(conf: NodesConf): ProfileRow[] {
  const users = new Map<string, string[]>();
  for (const [id, n] of Object.entries(conf.nodes)) {
    for (const p of expandProfiles(n.profiles ?? [], conf.profiles)) {
      const l = users.get(p) ?? [];
      l.push(id);
      users.set(p, l);
    }
  }
  return Object.keys(conf.profiles)
    .sort(naturalCompare)
    .map((name) => {
      const p = conf.profiles[name]!;
      const bits = [
        p.profiles?.length ? `uses ${p.profiles.join(',')}` : '',
        p.systemOverlay?.length ? `${p.systemOverlay.length} system overlays` : '',
        p.comment ?? '',
      ].filter(Boolean);
      return { name, nodes: (users.get(name) ?? []).sort(naturalCompare), image: p.imageName ?? '', detail: bits.join('; ') };
    });
}

export interface ImageRow {
  name: string;
  nodes: number;
  onDisk: boolean;
  size?: number;
  kernel?: string;
  digest?: string;
}
/** Images the nodes name plus those on disk, with size, kernel and digest from the images service. */
export function imageRows(merged: MergedNode[], paths: Paths): { rows: ImageRow[]; error?: string } {
  const count = new Map<string, number>();
  for (const m of merged) if (m.data.imageName) count.set(m.data.imageName, (count.get(m.data.imageName) ?? 0) + 1);
  let summaries: ImageSummary[] = [];
  let error: string | undefined;
  try {
    summaries = listImages(paths);
  } catch (e) {
    error = errorLine(e);
  }
  const byName = new Map(summaries.map((s) => [s.name, s]));
  const names = [...new Set([...count.keys(), ...byName.keys()])].sort(naturalCompare);
  return {
    error,
    rows: names.map((name) => {
      const s = byName.get(name);
      return {
        name,
        nodes: count.get(name) ?? 0,
        onDisk: !!s,
        size: s?.artifact?.size,
        kernel: s?.defaultKernel ?? s?.kernels[0],
        digest: s?.artifact?.digest ?? s?.digest,
      };
    }),
  };
}

interface ListProps {
  list: ListState;
  height: number;
  width: number;
  theme: Theme;
}

export function ProfilesView({ rows, ...p }: ListProps & { rows: ProfileRow[] }) {
  const nameW = Math.min(20, Math.max(8, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>{fit(`  ${'PROFILE'.padEnd(nameW)} ${'NODES'.padStart(6)} ${'IMAGE'.padEnd(14)} NODES USING IT / DETAIL`, p.width)}</Text>
      {rows.length === 0 ? <Text dimColor>{'  no profiles in nodes.conf'}</Text> : null}
      {rows.slice(p.list.top, p.list.top + p.height).map((r, i) => (
        <Text key={r.name} inverse={p.list.top + i === p.list.cursor} wrap="truncate">
          {fit(
            `  ${fit(r.name, nameW)} ${String(r.nodes.length).padStart(6)} ${fit(r.image, 14)} ` +
              `${r.nodes.length ? compressHostlist(r.nodes) : '(no nodes)'}${r.detail ? '  — ' + r.detail : ''}`,
            p.width,
          )}
        </Text>
      ))}
    </Box>
  );
}

export function ImagesView({ rows, error, ...p }: ListProps & { rows: ImageRow[]; error?: string }) {
  const nameW = Math.min(28, Math.max(10, ...rows.map((r) => r.name.length)));
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>
        {fit(`  ${'IMAGE'.padEnd(nameW)} ${'NODES'.padStart(5)} ${'SIZE'.padStart(9)}  ${'KERNEL'.padEnd(18)} DIGEST`, p.width)}
      </Text>
      {rows.length === 0 ? <Text dimColor>{'  no images imported and none named by a node'}</Text> : null}
      {rows.slice(p.list.top, p.list.top + Math.max(0, p.height - 1)).map((r, i) => (
        <Text key={r.name} inverse={p.list.top + i === p.list.cursor} wrap="truncate">
          {fit(
            `  ${fit(r.name, nameW)} ${String(r.nodes).padStart(5)} ` +
              `${(r.onDisk ? (r.size !== undefined ? fmtBytes(r.size) : 'unbuilt') : 'missing').padStart(9)}  ` +
              `${fit(r.kernel ?? (r.onDisk ? '(none found)' : ''), 18)} ${r.digest ? r.digest.replace(/^sha256:/, '').slice(0, 12) : ''}`,
            p.width,
          )}
        </Text>
      ))}
      {error ? (
        <Text color={c(p.theme, 'red')} wrap="truncate">
          {fit(`  images: ${error}`, p.width)}
        </Text>
      ) : null}
    </Box>
  );
}

export function LogView({ events, filter, ...p }: ListProps & { events: LogEvent[]; filter: string }) {
  const follow = p.list.key === undefined;
  const cursor = follow ? events.length - 1 : p.list.cursor;
  const top = follow ? Math.max(0, events.length - p.height) : p.list.top;
  return (
    <Box flexDirection="column" height={p.height + 1}>
      <Text bold>
        {fit(
          `  TIME     NODE             STAGE    SENT / IP${filter ? `   (filter: ${filter})` : ''}${follow ? '   [following]' : ''}`,
          p.width,
        )}
      </Text>
      {events.length === 0 ? (
        <Text dimColor>
          {'  no boot events received'}
          {filter ? ' for this filter' : " (events arrive from the running server's status stream)"}
        </Text>
      ) : null}
      {events.slice(top, top + p.height).map((e, i) => (
        <Text key={e.seq} inverse={top + i === cursor && !follow} wrap="truncate">
          {fit(`  ${fmtClock(e.time)} ${fit(e.node, 16)} ${fit(e.stage, 8)} ${e.sent} ${e.ipaddr}`, p.width)}
        </Text>
      ))}
    </Box>
  );
}
