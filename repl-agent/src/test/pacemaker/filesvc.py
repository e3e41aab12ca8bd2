#!/usr/bin/python3
"""A tiny service for the Pacemaker test: PUT /f/NAME stores a file under ROOT and answers 200
only once the file and its directory are fsynced; GET /f/NAME returns it; GET /health answers
with the host name. Usage: filesvc.py ROOT PORT"""
import os
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT, PORT = sys.argv[1], int(sys.argv[2])


class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def name(self):
        n = self.path[len("/f/"):]
        return n if self.path.startswith("/f/") and n.isalnum() else None

    def do_GET(self):
        if self.path == "/health":
            return self.reply(200, socket.gethostname().encode())
        n = self.name()
        if n is None or not os.path.exists(os.path.join(ROOT, n)):
            return self.reply(404, b"no such file\n")
        with open(os.path.join(ROOT, n), "rb") as f:
            self.reply(200, f.read())

    def do_PUT(self):
        n = self.name()
        if n is None:
            return self.reply(400, b"bad name\n")
        data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        tmp = os.path.join(ROOT, "." + n + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(ROOT, n))
        d = os.open(ROOT, os.O_RDONLY)
        try:
            os.fsync(d)
        finally:
            os.close(d)
        self.reply(200, b"stored\n")

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("0.0.0.0", PORT), Handler).serve_forever()
