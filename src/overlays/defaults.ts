// The overlay lists of the default profile written by `wulf init` (Warewulf's default set, with
// wulf-agent in place of wwclient and every network-config flavour so any distribution works:
// /warewulf/init.d/30-network keeps the files of the one network stack the image has). hosts is in
// both lists, as in Warewulf: the name "warewulf" (fstab's warewulf:/home) resolves from the first
// boot even when the runtime overlay cannot be fetched at boot (secure mode).
export const defaultSystemOverlays = [
  'wwinit', 'wulf-agent', 'hosts', 'fstab', 'hostname', 'ssh.host_keys', 'issue', 'resolv', 'udev.netname',
  'systemd.netname', 'ifcfg', 'NetworkManager', 'ifupdown', 'systemd.networkd', 'netplan', 'localtime',
];
export const defaultRuntimeOverlays = ['hosts', 'ssh.authorized_keys', 'syncuser'];
