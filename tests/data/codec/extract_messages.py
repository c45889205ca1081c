#!/usr/bin/env python3
"""Extracts the msgpack messages of a captured libchan session.

Usage: extract_messages.py CAPTURE_DIR > OUT.txt

Reads CAPTURE_DIR/frames.txt for the DATA frames of channel streams (not byte
streams) and takes their payloads from client-to-server.bin and
server-to-client.bin (frames.txt abbreviates long payloads). A message split
over several DATA frames (the listing says "incomplete") is joined. Writes one
message per line: direction, SPDY stream id, hex.
"""
import pathlib
import re
import sys

FRAME = re.compile(r"^t=\d+\s+(C->S|S->C) @(\d+)\s+DATA\s+stream=(\d+) flags=\S+ len=(\d+)\s+\[(.*)\]")


def main():
    capture = pathlib.Path(sys.argv[1])
    files = {
        "C->S": (capture / "client-to-server.bin").read_bytes(),
        "S->C": (capture / "server-to-client.bin").read_bytes(),
    }
    lines = (capture / "frames.txt").read_text().splitlines()
    pending = {}
    print(f"# Messages on the channel streams of the capture {capture.name}:")
    print("# direction, SPDY stream id, msgpack hex. Made by extract_messages.py.")
    for i, line in enumerate(lines):
        m = FRAME.match(line)
        if not m:
            continue
        direction, offset, stream, length, what = m.groups()
        offset, length = int(offset), int(length)
        if length == 0 or "channel" not in what:
            continue
        payload = files[direction][offset + 8 : offset + 8 + length]
        assert len(payload) == length, line
        key = (direction, stream)
        pending[key] = pending.get(key, b"") + payload
        # The listing notes a message that continues in the next frame.
        following = lines[i + 1 : i + 3]
        if any("msgpack: (incomplete" in f for f in following):
            continue
        print(direction, stream, pending.pop(key).hex())
    assert not pending, f"unfinished messages: {list(pending)}"


if __name__ == "__main__":
    main()
