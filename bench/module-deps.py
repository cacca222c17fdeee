#!/usr/bin/env python3
"""Top-level module dependencies of the realskin crate, from `crate::<module>` paths in
src/ (tests excluded), and any import cycle among them. Prints one line per module and
exits 1 when a cycle exists.  Usage: python3 bench/module-deps.py"""
import os
import re
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
mods = set()
for name in os.listdir(SRC):
    if name.endswith(".rs") and name not in ("lib.rs", "main.rs"):
        mods.add(name[:-3])
    elif os.path.isdir(os.path.join(SRC, name)):
        mods.add(name)

deps = {m: set() for m in mods}
for m in mods:
    path = os.path.join(SRC, m)
    files = [path + ".rs"] if os.path.isfile(path + ".rs") else [
        os.path.join(r, f) for r, _, fs in os.walk(path) for f in fs if f.endswith(".rs")]
    for f in files:
        text = open(f, encoding="utf-8").read()
        text = text.split("#[cfg(test)]")[0]  # unit tests may reach anywhere
        text = re.sub(r"//[^\n]*", "", text)  # comments and doc links
        for used in re.findall(r"crate::(\w+)", text):
            if used in mods and used != m:
                deps[m].add(used)
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            for used in re.findall(r"(\w+)", group):
                if used in mods and used != m:
                    deps[m].add(used)

for m in sorted(mods):
    print(f"{m:12} -> {', '.join(sorted(deps[m])) or '(nothing)'}")

# Cycles: strongly connected components with more than one module.
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]
def visit(v):
    index[v] = low[v] = counter[0]; counter[0] += 1
    stack.append(v); on.add(v)
    for w in deps[v]:
        if w not in index:
            visit(w); low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop(); on.discard(w); comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(sorted(comp))
for v in sorted(mods):
    if v not in index:
        visit(v)
if sccs:
    print("cycles:", "; ".join(" <-> ".join(c) for c in sccs))
    sys.exit(1)
print("no import cycle between top-level modules")
