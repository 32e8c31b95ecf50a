// The overlay lists of the default profile written by `wulf init` (Warewulf's default set, with
// wulf-agent in place of wwclient and every network-config flavour so any distribution works).
export const defaultSystemOverlays = [
  'wwinit', 'wulf-agent', 'fstab', 'hostname', 'ssh.host_keys', 'issue', 'resolv', 'udev.netname',
  'systemd.netname', 'ifcfg', 'NetworkManager', 'ifupdown', 'systemd.networkd', 'netplan', 'localtime',
];
export const defaultRuntimeOverlays = ['hosts', 'ssh.authorized_keys', 'syncuser'];
