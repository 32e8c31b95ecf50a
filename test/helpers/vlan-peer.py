#!/usr/bin/env python3
# A VLAN interface in user space, for a test host whose kernel has no 802.1Q support (CONFIG_VLAN_8021Q
# unset here, and no bridge VLAN filtering): frames tagged with VLAN ID arriving on PORT (a veth whose
# peer is a bridge port) are untagged and written to the tap TAP; frames the kernel sends out of TAP are
# tagged and sent out of PORT. TAP then behaves as PORT.ID would: give it the address.
# usage: vlan-peer.py PORT ID TAP  (prints "ready" once both ends are open; runs until killed)
import fcntl, os, select, socket, struct, sys

port, vid, tapname = sys.argv[1], int(sys.argv[2]), sys.argv[3]
ETH_P_ALL, SOL_PACKET, PACKET_AUXDATA, TP_STATUS_VLAN_VALID = 0x0003, 263, 8, 0x10
TUNSETIFF, IFF_TAP, IFF_NO_PI = 0x400454CA, 0x0002, 0x1000

tap = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(tap, TUNSETIFF, struct.pack('16sH', tapname.encode(), IFF_TAP | IFF_NO_PI))
raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
raw.bind((port, 0))
raw.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
print('ready', flush=True)

while True:
    r, _, _ = select.select([raw, tap], [], [])
    if raw in r:
        data, anc, _, addr = raw.recvmsg(65600, socket.CMSG_SPACE(20))
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        tag = None
        for level, typ, val in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(val) >= 18:
                status, _, _, _, _, tci = struct.unpack('IIIHHH', val[:18])
                if status & TP_STATUS_VLAN_VALID:
                    tag = tci & 0xfff
        if tag is None and len(data) >= 18 and data[12:14] == b'\x81\x00':   # a tag the kernel left in the frame
            tag, data = struct.unpack('!H', data[14:16])[0] & 0xfff, data[:12] + data[16:]
        if tag == vid:
            os.write(tap, data)
    if tap in r:
        frame = os.read(tap, 65600)
        if len(frame) >= 14:
            raw.send(frame[:12] + struct.pack('!HH', 0x8100, vid) + frame[12:])
