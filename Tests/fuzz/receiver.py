#!/usr/bin/env python3
"""A quiet webhook receiver for the fuzz deployment (Python 3 standard library only).

    python3 receiver.py PORT_FILE

Listens on 127.0.0.1 on a free port and writes the port to PORT_FILE. Answers every POST with 200, except on
paths that start with /gone, which answer 404 so that their messages become dead letters (the outbox and its
retry route then have something to list and re-drive). Prints nothing.
"""

import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status = 404 if self.path.startswith("/gone") else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
# Written to a temporary name and renamed, so a reader never sees a partial port.
with open(sys.argv[1] + ".tmp", "w") as file:
    file.write(str(server.server_address[1]))
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
