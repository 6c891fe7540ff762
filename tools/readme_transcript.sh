#!/usr/bin/env bash
# Writes the README's demo transcript: runs `percept demo --no-serve` in this clone and puts its output between the
# README's transcript markers, with the clone's path shown as /home/you/percept. ReadmeTests compares the transcript's
# shape (its lines, numbers aside) with a fresh demo, so run this when the demo's output changes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
# Intermediate progress lines (with an ETA) depend on the machine's speed: the transcript keeps each stage's last line.
dotnet run --project src/Percept.Cli -c Release -- demo --no-serve 2>&1 | grep -v 'ETA' > "$tmp"
/usr/bin/python3 - "$(pwd)" "$tmp" <<'PY'
import re, sys
root, path = sys.argv[1], sys.argv[2]
out = open(path).read().replace(root, "/home/you/percept").rstrip()
readme = open("README.md").read()
block = "```\n$ dotnet run --project src/Percept.Cli -c Release -- demo --no-serve\n" + out + "\n```\n"
new = re.sub(r"(<!-- transcript:begin[^\n]*-->\n).*?(<!-- transcript:end -->)", lambda m: m.group(1) + block + m.group(2), readme, flags=re.S)
open("README.md", "w").write(new)
print(f"README transcript: {out.count(chr(10)) + 1} lines")
PY
