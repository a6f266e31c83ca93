#!/usr/bin/env python3
"""sse_check.py STORE_CHANGES STREAM...: the change-feed streams (the text of
`curl -N` with Accept: text/event-stream, one file per connection, in the
order they followed one another) against the store's changes (lines
"ADDRESS CHANGE_SEQ"). Prints four numbers: events, distinct ids, store
changes missing from the streams (a token's current change_seq not among
its events), and bad events (an id not above the one before in its stream,
or data whose seq is not the id)."""
import json
import sys

store = dict(l.split() for l in open(sys.argv[1]) if l.strip())
ids, got, bad = [], {}, 0
for path in sys.argv[2:]:
    prev = None
    for ev in open(path).read().split("\n\n")[:-1]:
        lines = ev.split("\n")
        i = [l[4:] for l in lines if l.startswith("id: ")]
        d = [l[6:] for l in lines if l.startswith("data: ")]
        if not i or not d or any(l.startswith("event: ") for l in lines):
            continue  # comments, the cut-off event
        j = json.loads(d[0])
        if str(j["seq"]) != i[0] or (prev is not None and int(i[0]) <= prev):
            bad += 1
        prev = int(i[0])
        ids.append(i[0])
        got.setdefault(j["address"], set()).add(i[0])
missing = [a for a, s in store.items() if s not in got.get(a, ())]
print(len(ids), len(set(ids)), len(missing), bad)
