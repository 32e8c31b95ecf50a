// The overlay lists of the default profile written by `wulf init` (Warewulf's default set, with
// wulf-agent in place of wwclient and every network-config flavour so any distribution works, wicked included:
// /warewulf/init.d/30-network keeps the files of the one network stack the image has). hosts is a
// runtime overlay, as in Warewulf's default profile: iPXE loads the runtime archive at boot, so the
// name "warewulf" (fstab's warewulf:/home) resolves before the mounts. (In the system list too it
// would add the whole cluster's hosts file to every node's system archive: ~90 KB a node at 10,000.)
export const defaultSystemOverlays = [
  'wwinit',
  'wulf-agent',
  'fstab',
  'hostname',
  'ssh.host_keys',
  'issue',
  'resolv',
  'udev.netname',
  'systemd.netname',
  'ifcfg',
  'NetworkManager',
  'wicked',
  'ifupdown',
  'systemd.networkd',
  'netplan',
  'localtime',
];
export const defaultRuntimeOverlays = ['hosts', 'ssh.authorized_keys', 'syncuser'];
