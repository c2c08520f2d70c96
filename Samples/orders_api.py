#!/usr/bin/env python3
"""The sample orders API that the order-status and assistant flows call through the `orders` connection of
parley.yaml (Python 3 standard library only).

    python3 Samples/orders_api.py            # 127.0.0.1:9100 (or $PORT)
    python3 Samples/orders_api.py 9101

GET /api/orders/<orderId> answers 200 with the order as JSON, or 404 {"error": "no such order"}. Every request must
carry `Authorization: Bearer $ORDERS_TOKEN` (default `sample-orders-token`, as parley.yaml sends it); others get 401.
It prints one line per request (method, path, status, Idempotency-Key), never the token.
"""

import hmac
import json
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOKEN = os.environ.get("ORDERS_TOKEN", "sample-orders-token")
ORDERS = {
    "AB123456": {"orderId": "AB123456", "status": "shipped", "label": "on its way", "carrier": "DHL", "eta": "2024-06-14", "items": 2},
    "CD654321": {"orderId": "CD654321", "status": "packing", "label": "being packed", "carrier": None, "eta": "2024-06-17", "items": 1},
    "EF111222": {"orderId": "EF111222", "status": "delivered", "label": "delivered", "carrier": "UPS", "eta": None, "items": 3},
}


class Handler(BaseHTTPRequestHandler):
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        print(f"{self.command} {self.path} -> {status} (Idempotency-Key: {self.headers.get('Idempotency-Key', '-')})", flush=True)

    def do_GET(self):
        if not hmac.compare_digest(self.headers.get("Authorization", ""), f"Bearer {TOKEN}"):
            return self.answer(401, {"error": "missing or wrong token"})
        prefix = "/api/orders/"
        if not self.path.startswith(prefix):
            return self.answer(404, {"error": "no such route"})
        order = ORDERS.get(self.path[len(prefix):].split("?")[0].upper())
        if order is None:
            return self.answer(404, {"error": "no such order"})
        self.answer(200, order)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ.get("PORT", "9100"))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    # With port 0 the system picks a free one: this line says which (the tests read it).
    print(f"orders API on http://127.0.0.1:{server.server_address[1]}/api/orders/<orderId>", file=sys.stderr, flush=True)
    server.serve_forever()
