#!/usr/bin/env python3
# Prints one line per run of a set from its JSON (the runs a glob names, from the set's directory: python3 ../summary.py 'storm-*.json'): the figures docs/performance.md quotes.
import json, glob, sys
for f in sorted(glob.glob(sys.argv[1] if len(sys.argv) > 1 else '*.json')):
    d = json.load(open(f))
    s = d.get('server') or {}
    lat = (d.get('window') or {}).get('latency') or {}
    print(f, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in s.items()
              if k in ('rss_per_conn_bytes', 'cpu_per_message_us', 'merged')},
          {k: lat.get(k) for k in ('p50_ms', 'p99_ms')} if lat else '')
