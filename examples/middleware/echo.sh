#!/usr/bin/env bash
# The smallest middleware: every message back unchanged. Hex lines need no decoding to be echoed.
while IFS= read -r line; do
  printf '%s\n' "$line"
done
