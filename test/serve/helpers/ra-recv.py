# Waits for one ICMPv6 router advertisement on an interface; prints its bytes (hex), source, hop
# limit and destination address.
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.SOL_SOCKET, 25, sys.argv[1].encode() + b'\0')  # SO_BINDTODEVICE
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVHOPLIMIT, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
s.settimeout(float(sys.argv[2]))
print('ready', flush=True)
while True:
    data, anc, _flags, addr = s.recvmsg(2000, socket.CMSG_SPACE(4) + socket.CMSG_SPACE(20))
    if data and data[0] == 134:
        hops = [struct.unpack('i', d[:4])[0] for (lvl, typ, d) in anc if typ == socket.IPV6_HOPLIMIT]
        dst = [socket.inet_ntop(socket.AF_INET6, d[:16]) for (lvl, typ, d) in anc if typ == socket.IPV6_PKTINFO]
        print(data.hex(), addr[0], hops[0] if hops else -1, dst[0] if dst else '?', flush=True)
        break
