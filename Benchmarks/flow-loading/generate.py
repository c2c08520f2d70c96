#!/usr/bin/env python3
"""Writes N flow files of M nodes each: a realistic mix of say, question, code, condition, switch, set and wait
nodes with templates, all valid, chained so every node is reachable and every loop waits for input.

usage: generate.py DIR [FILES=200] [NODES=50]
"""
import os
import sys

out = sys.argv[1]
files = int(sys.argv[2]) if len(sys.argv) > 2 else 200
nodes = int(sys.argv[3]) if len(sys.argv) > 3 else 50
os.makedirs(out, exist_ok=True)

for f in range(files):
    lines = [f"flow: bench-{f}", f"description: generated flow {f}", "context: { count: 0 }", "nodes:"]
    for n in range(nodes):
        nxt = f"n{n + 1}" if n + 1 < nodes else "n0"
        kind = n % 7
        lines.append(f"  n{n}:")
        if kind == 0:
            lines += [f'    say: "Step {n} for {{{{profile.firstName || \'you\'}}}}"', f"    next: {nxt}"]
        elif kind == 1:
            lines += ["    question:", f"      text: Question {n}?", "      type: text",
                      f"      store: context.answer{n}", f"    next: {nxt}"]
        elif kind == 2:
            lines += ["    code: |", f"      context.count = (context.count || 0) + {n};",
                      f"      if (context.count > 1000) {{ api.say('big', {{ n: {n} }}); }}", f"    next: {nxt}"]
        elif kind == 3:
            lines += [f"    condition: context.count > {n}", f"    then: {nxt}", f"    else: {nxt}"]
        elif kind == 4:
            lines += ["    switch:", "      value: context.answer1", f"      cases: {{ a: {nxt}, b: {nxt} }}",
                      f"      default: {nxt}"]
        elif kind == 5:
            lines += ["    set:", f'      context.step: "{{{{ {n} + 1 }}}}"', f"      profile.seen{n}: true",
                      f"    next: {nxt}"]
        else:
            lines += ["    wait: {}", f"    next: {nxt}"]
    with open(os.path.join(out, f"bench-{f:03d}.yaml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")
