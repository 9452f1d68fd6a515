"""A PodSixNet chat client, written with the library's ConnectionListener, that minichat's tests drive.

Usage: python chat_client.py HOST:PORT

Each line of standard input is a JSON value that is sent as it is with PodSixNet's own
connection.Send (so a text holding "\\u0000---\\u0000" is framed exactly as the library frames it,
terminator inside and all). Every network event the library delivers -- the server's frames and the
library's own "socketConnect", "disconnected" and "error" -- is printed on standard output as one
JSON line, keys in the order they arrived. End of input closes the connection once what was sent
has left; the program exits when the connection is gone.
"""

import json
import queue
import sys
import threading
import time

from PodSixNet.Connection import ConnectionListener, connection

# How long the last frames get to leave after end of input before the connection is closed.
FLUSH_LIMIT_SECONDS = 5.0


class TestClient(ConnectionListener):
    def __init__(self, host, port):
        self.done = False
        self.Connect((host, port))

    def Network(self, data):
        # Called for every event, after the Network_<action> method if there is one.
        print(json.dumps(data, ensure_ascii=False, default=repr), flush=True)

    def Network_disconnected(self, data):
        self.done = True

    def Network_error(self, data):
        # What PodSixNet's example client does: report (Network prints it) and close.
        connection.Close()


def read_stdin(lines):
    for line in sys.stdin:
        lines.put(line)
    lines.put(None)


def flush_and_close():
    deadline = time.monotonic() + FLUSH_LIMIT_SECONDS
    connection.Pump()
    while connection.connected and (connection.sendqueue or connection.producer_fifo):
        if time.monotonic() > deadline:
            break
        connection.Pump()
        time.sleep(0.001)
    connection.close()


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: chat_client.py HOST:PORT")
    host, port = sys.argv[1].rsplit(":", 1)
    lines = queue.Queue()
    threading.Thread(target=read_stdin, args=(lines,), daemon=True).start()
    client = TestClient(host, int(port))
    while not client.done:
        connection.Pump()
        client.Pump()
        try:
            while True:
                line = lines.get_nowait()
                if line is None:
                    flush_and_close()
                    return
                if line.strip():
                    connection.Send(json.loads(line))
        except queue.Empty:
            pass
        # PodSixNet is polled: this is the library's own loop, as in its examples.
        time.sleep(0.001)


if __name__ == "__main__":
    main()
