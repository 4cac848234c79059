#!/usr/bin/env python3
"""The floors of src/ stay as they are drawn.

src/ is in folders that only use themselves and the folders below them:

    cli > control > forward > socks > engine > config > base

(sshtun.h, the public header, and config.h, configure's, are allowed
everywhere).  This script fails on any of:

  layer   an #include of a header in a folder above the file's own, or a
          use of a function defined in a folder above (sshtun.h declares
          functions of every floor, so the include alone does not show it);
  cycle   two modules that use each other, directly or through others.
          A module is a .c with its .h; A uses B when A's .c or .h
          includes B's .h or names a function B's .c defines (a
          header with no .c is no module: it passes on what it
          includes);
  length  a function over 80 lines, from the line of its name to its
          closing brace.

Violations that are known and being worked on are listed, one a line, in
tests/check_layers.allow, exactly as the key this script prints after
"allow:"; they are reported but do not fail.  An allow entry that no
longer matches anything is reported as stale, so the list only shrinks.
Before looking at src/, the script makes sure each check catches its
violation in a small made-up tree, so a broken check cannot pass quietly.

Usage: check_layers.py [SRC_DIR [ALLOW_FILE]]  (defaults from TOP_SRCDIR
or this script's place in the tree).
"""
import os
import re
import sys

FLOORS = ["base", "config", "engine", "socks", "forward", "control", "cli"]
ALLOWED_EVERYWHERE = {"sshtun.h", "config.h"}
MAX_LINES = 80

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
KEYWORDS = {"if", "for", "while", "switch", "return", "sizeof", "do",
            "else", "case", "goto", "defined"}


def strip_code(text):
    """Comments, string and character literals and preprocessor lines
    replaced by spaces, newlines kept, so offsets map to the same lines."""
    out = []
    i, n = 0, len(text)
    line_start = True
    while i < n:
        c = text[i]
        if line_start and c == "#":
            # a preprocessor line, with its backslash continuations
            while i < n and text[i] != "\n":
                if text[i] == "\\" and i + 1 < n and text[i + 1] == "\n":
                    out.append(" \n")
                    i += 2
                    continue
                out.append(" ")
                i += 1
            continue
        if c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
            continue
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(c + re.sub(r"[^\n]", " ", text[i + 1:j - 1]) + c
                       if j - i >= 2 else text[i:j])
            i = j
            continue
        if c == "\n":
            line_start = True
        elif not c.isspace():
            line_start = False
        out.append(c)
        i += 1
    return "".join(out)


def functions(code):
    """(name, first line, last line, is_static) of each function defined
    in stripped code: a '{' at file level right after a ')'."""
    found = []
    depth = 0
    stmt_start = 0              # where the current file-level declaration began
    i, n = 0, len(code)
    while i < n:
        c = code[i]
        if c == "{":
            if depth == 0:
                before = code[stmt_start:i].rstrip()
                if before.endswith(")"):
                    found.append(_definition(code, stmt_start,
                                             stmt_start + len(before), i))
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                last = found[-1] if found else None
                if last is not None and last[2] is None:
                    found[-1] = (last[0], last[1], code.count("\n", 0, i) + 1,
                                 last[3])
                stmt_start = i + 1
        elif c == ";" and depth == 0:
            stmt_start = i + 1
        i += 1
    return [f for f in found if f[0] and f[2] is not None]


def _definition(code, start, close_paren_end, brace):
    """Name, first line, (end to fill) and static flag of the definition
    whose parameter list closes at code[close_paren_end - 1]."""
    depth = 0
    j = close_paren_end - 1
    while j >= start:
        if code[j] == ")":
            depth += 1
        elif code[j] == "(":
            depth -= 1
            if depth == 0:
                break
        j -= 1
    head = code[start:j].rstrip()
    m = re.search(r"([A-Za-z_][A-Za-z0-9_]*)$", head)
    if not m:
        return (None, 0, None, False)
    name = m.group(1)
    first = code.count("\n", 0, start + m.start()) + 1
    is_static = re.search(r"\bstatic\b", head[:m.start()]) is not None
    return (name, first, None, is_static)


class Tree:
    """The modules of src/: files, includes, defined functions."""

    def __init__(self, src):
        self.src = src
        self.files = {}         # "engine/channel.c" -> stripped code
        self.raw = {}
        for floor in sorted(os.listdir(src)):
            d = os.path.join(src, floor)
            if not os.path.isdir(d):
                continue
            for name in sorted(os.listdir(d)):
                if name.endswith((".c", ".h")):
                    rel = floor + "/" + name
                    with open(os.path.join(d, name), encoding="utf-8",
                              errors="replace") as f:
                        self.raw[rel] = f.read()
                    self.files[rel] = strip_code(self.raw[rel])
        self.defined = {}       # external function name -> defining file
        self.funcs = {}         # file -> [(name, first, last, static)]
        for rel, code in self.files.items():
            if rel.endswith(".c"):
                self.funcs[rel] = functions(code)
                for name, _, _, static in self.funcs[rel]:
                    if not static and name != "main":
                        self.defined[name] = rel

    @staticmethod
    def module(rel):
        return rel.rsplit(".", 1)[0]

    @staticmethod
    def floor(rel):
        return rel.split("/", 1)[0]

    def includes(self, rel):
        """(line, header) for each quoted #include of rel."""
        text = self.raw[rel]
        return [(text.count("\n", 0, m.start()) + 1, m.group(1))
                for m in INCLUDE.finditer(text)]

    def uses(self, rel):
        """(line, function, defining file) for each external function
        defined in another module that rel names."""
        out, seen = [], set()
        own = self.module(rel)
        code = self.files[rel]
        for m in IDENT.finditer(code):
            name = m.group(0)
            where = self.defined.get(name)
            if where and self.module(where) != own and name not in seen:
                seen.add(name)
                out.append((code.count("\n", 0, m.start()) + 1, name, where))
        return out


def floor_rank(floor):
    return FLOORS.index(floor) if floor in FLOORS else None


def check_layers(tree, report):
    for rel in sorted(tree.files):
        mine = tree.floor(rel)
        rank = floor_rank(mine)
        below = ", ".join(reversed(FLOORS[:rank + 1])) if rank is not None \
            else "?"
        if rank is None:
            report("layer", "src/%s" % rel,
                   "src/%s: folder %s is not a floor (%s)"
                   % (rel, mine, " > ".join(reversed(FLOORS))))
            continue
        for line, header in tree.includes(rel):
            if header in ALLOWED_EVERYWHERE:
                continue
            target = header.split("/", 1)[0] if "/" in header else None
            if target is None or header not in tree.files:
                report("layer", "src/%s %s" % (rel, header),
                       'src/%s:%d: #include "%s" is not a header of src/ '
                       'written from src/ (like "engine/channel.h")'
                       % (rel, line, header))
            elif floor_rank(target) > rank:
                report("layer", "src/%s %s" % (rel, header),
                       'src/%s:%d: #include "%s" points up: %s may use %s'
                       % (rel, line, header, mine, below))
        for line, name, where in tree.uses(rel):
            if floor_rank(tree.floor(where)) > rank:
                report("layer", "src/%s %s" % (rel, name),
                       "src/%s:%d: uses %s(), defined in src/%s, a floor "
                       "above: %s may use %s"
                       % (rel, line, name, where, mine, below))


def module_graph(tree):
    """module -> {used module: reason}."""
    graph = {}
    for rel in tree.files:
        a = tree.module(rel)
        graph.setdefault(a, {})
        for line, header in tree.includes(rel):
            b = tree.module(header)
            if header in tree.files and b != a:
                graph[a].setdefault(b, 'src/%s:%d includes "%s"'
                                    % (rel, line, header))
        for line, name, where in tree.uses(rel):
            b = tree.module(where)
            graph[a].setdefault(b, "src/%s:%d uses %s()" % (rel, line, name))
    # A header with no .c of its own (a struct, or the private header of
    # a module split over files) is no module: who includes it uses what
    # it uses, and the functions it declares are their definers' own.
    bare = {m for m in graph if m + ".c" not in tree.files}
    for h in bare:
        graph[h] = {b: why for b, why in graph[h].items()
                    if why.endswith('"') or b in bare}
    changed = True
    while changed:
        changed = False
        for a in graph:
            for h in [b for b in graph[a] if b in bare]:
                for b, why in graph[h].items():
                    if b != a and b not in graph[a]:
                        graph[a][b] = "%s, which %s" % (graph[a][h], why)
                        changed = True
    return {a: {b: why for b, why in uses.items() if b not in bare}
            for a, uses in graph.items() if a not in bare}


def path_between(graph, start, goal):
    """A shortest use path start -> ... -> goal, or None."""
    prev = {start: None}
    todo = [start]
    while todo:
        nxt = []
        for a in todo:
            for b in sorted(graph.get(a, {})):
                if b not in prev:
                    prev[b] = a
                    if b == goal:
                        path = [b]
                        while prev[path[-1]] is not None:
                            path.append(prev[path[-1]])
                        return list(reversed(path))
                    nxt.append(b)
        todo = nxt
    return None


def check_cycles(tree, report):
    """Each use A -> B where B leads back to A is one violation."""
    graph = module_graph(tree)
    for a in sorted(graph):
        for b in sorted(graph[a]):
            back = path_between(graph, b, a)
            if back is None:
                continue
            chain = [a] + back
            why = "; ".join(graph[x][y] for x, y in zip(chain, chain[1:]))
            report("cycle", "%s -> %s" % (a, b),
                   "%s uses %s, which uses it back: %s (%s)"
                   % (a, b, " -> ".join(chain), why))


def check_lengths(tree, report):
    for rel in sorted(tree.funcs):
        for name, first, last, _ in tree.funcs[rel]:
            size = last - first + 1
            if size > MAX_LINES:
                report("length", "src/%s %s" % (rel, name),
                       "src/%s:%d: %s() is %d lines (at most %d)"
                       % (rel, first, name, size, MAX_LINES))


def read_allow(path):
    entries = []
    if path and os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            for line in f:
                line = line.split("#", 1)[0].strip()
                if line:
                    entries.append(" ".join(line.split()))
    return entries


def self_test():
    """Each check must catch its violation in a small tree made up for
    it; returns the kinds that were missed."""
    import tempfile
    files = {
        "base/a.h": "int a_f(void);\n",
        "base/a.c": '#include "engine/b.h"\nint a_f(void)\n{\n'
                    '    return b_g();\n}\n',
        "engine/b.h": "int b_g(void);\n",
        "engine/b.c": '#include "base/a.h"\nint b_g(void)\n{\n'
                      + "    a_f();\n" * MAX_LINES + "    return 0;\n}\n",
    }
    seen = set()
    with tempfile.TemporaryDirectory() as src:
        for rel, text in files.items():
            os.makedirs(os.path.join(src, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(src, rel), "w") as f:
                f.write(text)
        tree = Tree(src)
        for check in (check_layers, check_cycles, check_lengths):
            check(tree, lambda kind, key, message: seen.add(kind))
    return {"layer", "cycle", "length"} - seen


def main(argv):
    missed = self_test()
    if missed:
        print("check_layers.py does not catch: %s" % ", ".join(sorted(missed)))
        return 1
    here = os.path.dirname(os.path.abspath(__file__))
    top = os.environ.get("TOP_SRCDIR") or os.path.dirname(here)
    src = argv[1] if len(argv) > 1 else os.path.join(top, "src")
    allow_path = argv[2] if len(argv) > 2 else \
        os.path.join(top, "tests", "check_layers.allow")
    allowed = read_allow(allow_path)
    used = set()
    failures, known = [], []

    def report(kind, key, message):
        entry = "%s %s" % (kind, key)
        if entry in allowed:
            used.add(entry)
            known.append("%s: %s" % (kind, message))
        else:
            failures.append("%s: %s\n    allow: %s" % (kind, message, entry))

    tree = Tree(src)
    check_layers(tree, report)
    check_cycles(tree, report)
    check_lengths(tree, report)

    for line in known:
        print("known (in %s): %s" % (os.path.basename(allow_path), line))
    for entry in allowed:
        if entry not in used:
            print("stale allow entry (fixed? remove it): %s" % entry)
    for line in failures:
        print(line)
    nfuncs = sum(len(v) for v in tree.funcs.values())
    print("%d files, %d functions: %d violations, %d known"
          % (len(tree.files), nfuncs, len(failures), len(known)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
