"""Listens on TCP/UDP ports (server) or tries one connection (client), for the datapath tests.

server ADDR tcp:PORT,... udp:PORT,...   accept TCP connections and close them; echo UDP datagrams
client ADDR PROTO PORT TIMEOUT          exit 0 when the peer answered, 1 when it did not
"""
import selectors
import socket
import sys


def server(addr, specs):
    sel = selectors.DefaultSelector()
    for spec in specs:
        proto, port = spec.split(":")
        if proto == "tcp":
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((addr, int(port)))
            s.listen(64)
        else:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((addr, int(port)))
        sel.register(s, selectors.EVENT_READ, proto)
    print("ready", flush=True)
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "tcp":
                c, _ = s.accept()
                c.sendall(b"ok\n")
                c.close()
            else:
                data, peer = s.recvfrom(2048)
                s.sendto(data, peer)


def client(addr, proto, port, timeout):
    try:
        if proto == "TCP":
            with socket.create_connection((addr, port), timeout=timeout) as c:
                return 0 if c.recv(3) == b"ok\n" else 1
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
            c.settimeout(timeout)
            c.sendto(b"probe", (addr, port))
            return 0 if c.recvfrom(2048)[0] == b"probe" else 1
    except OSError:
        return 1


if __name__ == "__main__":
    if sys.argv[1] == "server":
        server(sys.argv[2], [s for s in sys.argv[3:] if s])
    else:
        sys.exit(client(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])))
