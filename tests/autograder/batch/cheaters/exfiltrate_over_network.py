"""Sends data over the network."""

import socket


def _attack():
    socket.create_connection(("1.1.1.1", 80), timeout=2).sendall(b"hello")


class _Armed:  # top-level statements are skipped by the grader; a class body runs
    _attack()
