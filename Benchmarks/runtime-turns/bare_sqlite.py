#!/usr/bin/env python3
"""The ceiling for the runtime benchmark: one small INSERT per committed transaction on a SQLite file with the
same settings the store uses (WAL, synchronous=FULL). usage: bare_sqlite.py FOLDER [COUNT=20000]"""
import os
import sqlite3
import sys
import time

folder = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
os.makedirs(folder, exist_ok=True)
path = os.path.join(folder, "bare.sqlite")
if os.path.exists(path):
    os.remove(path)
db = sqlite3.connect(path, isolation_level=None)
db.execute("PRAGMA journal_mode=WAL")
db.execute("PRAGMA synchronous=FULL")
db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT, payload TEXT)")
payload = '{"text":"hello","data":{}}'
start = time.perf_counter()
for i in range(count):
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO t (k, payload) VALUES (?, ?)", (f"key-{i}", payload))
    db.execute("COMMIT")
elapsed = time.perf_counter() - start
print(f"bare sqlite commits/s={int(count / elapsed)}")
