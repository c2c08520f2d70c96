#!/usr/bin/env python3
"""Reference for the flow-loading benchmark: parse every YAML file of a folder with PyYAML (libyaml's C loader
when available) and nothing else. usage: parse_only.py DIR"""
import os
import sys
import yaml

loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
folder = sys.argv[1]
count = 0
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name)) as handle:
        yaml.load(handle, Loader=loader)
        count += 1
print(f"parsed {count} files with {loader.__name__}", file=sys.stderr)
