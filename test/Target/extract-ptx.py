"""Prints the PTX held by `gpu.binary` objects (format=isa) in MLIR text.

MLIR prints the assembly as an escaped string attribute; this undoes the
escapes so FileCheck and ptxas see plain PTX, one module after another.
"""

import re
import sys

text = sys.stdin.read()
found = False
for match in re.finditer(r'assembly = "((?:[^"\\]|\\.)*)"', text):
    found = True
    raw = match.group(1)
    ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), raw)
    sys.stdout.write(ptx.replace("\\\\", "\\"))
if not found:
    sys.exit("extract-ptx: no gpu.binary assembly in the input")
