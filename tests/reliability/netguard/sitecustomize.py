"""Network guard for every Python process the fault tests start (via PYTHONPATH).

Connections go to the loopback only, and no host name but localhost is resolved: the
tests point downloads at 127.0.0.1 (a local server, a refusing port, a refusing proxy),
and this makes sure that nothing, whatever it does, reaches any other address.
"""

import socket

_LOCAL = {"127.0.0.1", "::1", "localhost", b"127.0.0.1", b"localhost"}
_connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo


def _check(address):
    if isinstance(address, tuple) and address and address[0] not in _LOCAL:
        raise ConnectionRefusedError(f"netguard: connection to {address[0]} blocked (tests reach 127.0.0.1 only)")


def _guarded_connect(self, address):
    _check(address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check(address)
    return _connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if host is not None and host not in _LOCAL:
        raise socket.gaierror(socket.EAI_NONAME, f"netguard: {host!r} not resolved (tests reach 127.0.0.1 only)")
    return _getaddrinfo(host, *args, **kwargs)


socket.socket.connect = _guarded_connect
socket.socket.connect_ex = _guarded_connect_ex
socket.getaddrinfo = _guarded_getaddrinfo
