// The command tree: each noun is loaded lazily so `wulf version` does not pay for the TUI or the
// servers. A room adds its noun here with one line. A noun's name, aliases and summary are written
// here only: `wulf --help`, `wulf NOUN --help` and completion read them from this list.
import { type NounEntry, nounIn } from './command.ts';

export type { NounEntry };

export const nouns: NounEntry[] = [
  {
    name: 'init',
    summary: 'write default config files and detect the provisioning interface',
    load: async () => (await import('./init.ts')).noun,
  },
  { name: 'node', aliases: ['nodes'], summary: 'add, set, list and delete nodes', load: async () => (await import('./node.ts')).noun },
  {
    name: 'profile',
    aliases: ['profiles'],
    summary: 'add, set, list and delete profiles',
    load: async () => (await import('./profile.ts')).noun,
  },
  {
    name: 'completion',
    summary: 'print a bash or zsh completion script',
    load: async () => (await import('./completion.ts')).completionNoun(nouns),
  },
  {
    name: 'ssh',
    summary: 'run a command on nodes over ssh, in parallel (--fanout), each line prefixed with the node',
    load: async () => (await import('./ssh.ts')).noun,
  },
  {
    name: 'clean',
    summary: 'remove the blob cache, overlay archives of deleted nodes, leftovers of interrupted imports',
    load: async () => (await import('./clean.ts')).noun,
  },
  {
    name: 'overlay',
    aliases: ['overlays'],
    summary: 'list, show, edit and build overlays',
    load: async () => (await import('./overlay.ts')).noun,
  },
  {
    name: 'tui',
    summary: 'the console UI: live node status, detail and edits, profiles, images, overlays, log',
    load: async () => (await import('./tui.ts')).noun,
  },
  {
    name: 'image',
    aliases: ['container', 'vnfs', 'images'],
    summary: 'import, build and manage node images',
    load: async () => (await import('./image.ts')).noun,
  },
  {
    name: 'power',
    summary: 'power nodes on/off/cycle and read their power state (IPMI or Redfish)',
    load: async () => (await import('./power.ts')).noun,
  },
  {
    name: 'serve',
    aliases: ['server'],
    summary: 'run DHCP, TFTP and HTTP provisioning in one process',
    load: async () => (await import('./serve.ts')).noun,
  },
  {
    name: 'configure',
    summary: 'set up the controller: hosts, NFS exports, ssh keys, systemd unit (-a: all)',
    load: async () => (await import('./configure.ts')).noun,
  },
  {
    name: 'import-warewulf',
    summary: 'move a Warewulf site to wulf: config, nodes, overlays, iPXE templates, ssh keys, images',
    load: async () => (await import('./import-warewulf.ts')).noun,
  },
  {
    name: 'upgrade',
    summary: 'upgrade older Warewulf 4 config files (warewulf.conf, nodes.conf) to the current format',
    load: async () => (await import('./upgrade.ts')).noun,
  },
  {
    name: 'sim',
    summary: 'simulated nodes booting against a running server (demo, load tests)',
    load: async () => (await import('./sim.ts')).noun,
  },
  {
    name: 'demo',
    summary: 'run the cluster demo on loopback: server, simulated nodes booting, the TUI',
    load: async () => (await import('./demo.ts')).noun,
  },
  {
    name: 'store',
    summary: 'where nodes and profiles live (nodes.conf or PostgreSQL): info, copy --to',
    load: async () => (await import('./store.ts')).noun,
  },
  {
    name: 'controller',
    aliases: ['controllers'],
    summary: 'the controllers (wulf serve) sharing the PostgreSQL store: list, delete',
    load: async () => (await import('./controller.ts')).noun,
  },
  { name: 'version', aliases: ['vers'], summary: 'print the version', load: async () => (await import('./version.ts')).noun },
];

export function findNoun(name: string): NounEntry | undefined {
  return nounIn(nouns, name);
}
