"""A chat server in the course's design, written with PodSixNet's Server and Channel classes.

Usage: python course_server.py HOST:PORT   (port 0 picks a free one)

What a student's server looks like: a client registers with {"action": "username", "username": ...}
and talks with {"action": "message", "message": ...}; the server relays every message to everyone
with the sender in "expediteur" (and no "who"), greets a new user with an action of its own
("bienvenue", which other programs do not know), and sends everyone the list of users as
{"action": "players", "players": [...]} whenever it changes. There is no hello, no welcome, no
error, no bye: a user leaves by closing the connection.

Prints "listening on HOST:PORT" once it accepts connections, then one line per event.
"""

import sys
import time

from PodSixNet.Channel import Channel
from PodSixNet.Server import Server


class CourseChannel(Channel):
    def __init__(self, *args, **kwargs):
        self.pseudo = None
        Channel.__init__(self, *args, **kwargs)

    def Network_username(self, data):
        self.pseudo = data["username"]
        print("username", self.pseudo, flush=True)
        self._server.join(self)

    def Network_message(self, data):
        if self.pseudo is None:
            return
        print("message", self.pseudo, repr(data["message"]), flush=True)
        self._server.broadcast({"action": "message", "expediteur": self.pseudo, "message": data["message"]})

    def Close(self):
        print("closed", self.pseudo, flush=True)
        self._server.leave(self)


class CourseServer(Server):
    channelClass = CourseChannel

    def __init__(self, host, port):
        Server.__init__(self, localaddr=(host, port))
        self.users = []

    def join(self, channel):
        if channel not in self.users:
            self.users.append(channel)
        channel.Send({"action": "bienvenue", "texte": "Bienvenue " + channel.pseudo})
        self.send_users()

    def leave(self, channel):
        if channel in self.users:
            self.users.remove(channel)
            self.send_users()

    def send_users(self):
        self.broadcast({"action": "players", "players": [u.pseudo for u in self.users]})

    def broadcast(self, data):
        for user in self.users:
            user.Send(data)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: course_server.py HOST:PORT")
    host, port = sys.argv[1].rsplit(":", 1)
    server = CourseServer(host, int(port))
    bound_host, bound_port = server.socket.getsockname()[:2]
    print(f"listening on {bound_host}:{bound_port}", flush=True)
    while True:
        server.Pump()
        # PodSixNet is polled: this is the library's own loop, as in its examples.
        time.sleep(0.001)


if __name__ == "__main__":
    main()
