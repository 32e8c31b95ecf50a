// The `?` overlay: every key the TUI answers to, from the same table the reducer documents.
import { Box, Text } from 'ink';
import { HELP } from '../state/app.ts';
import { fit } from '../state/nodes.ts';

export function Help({ width, height }: { width: number; height: number }) {
  const kw = Math.max(...HELP.map(([k]) => k.length)) + 2;
  const rows = HELP.slice(0, Math.max(0, height - 2));
  return (
    <Box flexDirection="column" height={height}>
      <Text bold>{fit('Keys — press any key to close', width)}</Text>
      {rows.map(([k, d]) => (
        <Text key={k} wrap="truncate">
          {fit(`  ${k.padEnd(kw)}${d}`, width)}
        </Text>
      ))}
      {rows.length < HELP.length ? <Text dimColor>{'  (more keys: enlarge the terminal)'}</Text> : null}
    </Box>
  );
}
