// Test/bench fixtures for the TUI: a temp WULF_ROOT with N generated nodes and a wulf.conf that
// points the status client at a chosen loopback port.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function pad(i: number, w = 4) {
  return String(i).padStart(w, '0');
}
export const nodeName = (i: number) => `n${pad(i)}`;
export const macOf = (i: number) =>
  `52:54:00:${pad(Math.floor(i / 65536) % 256, 2)}:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
export const ipOf = (i: number) => `10.0.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;

export function nodesYaml(n: number): string {
  const lines = [
    'nodeprofiles:',
    '  default:',
    '    image name: rocky-9',
    '    cluster name: c1',
    '    network devices:',
    '      default:',
    '        netmask: 255.255.0.0',
    '  gpu:',
    '    comment: gpu nodes',
    '    image name: rocky-9-gpu',
    'nodes:',
  ];
  for (let i = 1; i <= n; i++) {
    lines.push(
      `  ${nodeName(i)}:`,
      '    profiles:',
      '      - default',
      ...(i % 10 === 0 ? ['      - gpu'] : []),
      '    network devices:',
      '      default:',
      `        hwaddr: "${macOf(i)}"`,
      `        ipaddr: ${ipOf(i)}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Write etc/wulf/{wulf.conf,nodes.conf} under `root`. */
export function writeRoot(root: string, n: number, port: number, interval = 60): void {
  const etc = join(root, 'etc', 'wulf');
  mkdirSync(etc, { recursive: true });
  mkdirSync(join(root, 'var', 'lib', 'wulf'), { recursive: true });
  writeFileSync(
    join(etc, 'wulf.conf'),
    `ipaddr: 127.0.0.1\nnetmask: 255.0.0.0\nwarewulf:\n  port: ${port}\n  update interval: ${interval}\n`,
  );
  writeFileSync(join(etc, 'nodes.conf'), nodesYaml(n));
}
