# Adds X-Replayed-By: tapline to every request; echoes responses (they reach file outputs only if echoed).
import sys

for line in sys.stdin:
    raw = bytes.fromhex(line.rstrip("\n"))
    meta, _, payload = raw.partition(b"\n")
    if meta.startswith(b"1 "):
        first, _, rest = payload.partition(b"\r\n")
        payload = first + b"\r\nX-Replayed-By: tapline\r\n" + rest
    sys.stdout.write((meta + b"\n" + payload).hex() + "\n")
    sys.stdout.flush()  # piped stdout is block-buffered: flush per message, or messages come in bursts
