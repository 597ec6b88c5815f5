#!/usr/bin/env python3
"""Report the largest Rust source file and the longest function under src/ (and tests/).

Usage: scripts/code-stats.py [DIR ...]   (default: src tests)

A function is counted from its `fn` line to the line of its matching closing brace,
found by counting braces outside strings, chars and comments (good enough for this tree).
"""
import os
import re
import sys

FN = re.compile(r'^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+"[^"]*"\s+)?fn\s+(\w+)')


def strip(line, state):
    """Remove strings, chars and comments from a line; `state` carries block comments/strings."""
    out = []
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if state['block']:
            if line.startswith('*/', i):
                state['block'] -= 1
                i += 2
            else:
                i += 1
            continue
        if state['str']:
            if c == '\\':
                i += 2
            elif c == '"':
                state['str'] = False
                i += 1
            else:
                i += 1
            continue
        if state['raw'] is not None:
            end = '"' + '#' * state['raw']
            j = line.find(end, i)
            if j < 0:
                return ''.join(out)
            state['raw'] = None
            i = j + len(end)
            continue
        if line.startswith('//', i):
            break
        if line.startswith('/*', i):
            state['block'] += 1
            i += 2
            continue
        m = re.match(r'r(#*)"', line[i:])
        if m and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == '_')):
            state['raw'] = len(m.group(1))
            i += len(m.group(0))
            continue
        if c == '"':
            state['str'] = True
            i += 1
            continue
        if c == "'":
            m = re.match(r"'(\\.|[^\\'])'", line[i:]) or re.match(r"'\\u\{[0-9a-fA-F]+\}'", line[i:])
            if m:
                i += len(m.group(0))
                continue
        out.append(c)
        i += 1
    return ''.join(out)


def scan(path):
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    state = {'block': 0, 'str': False, 'raw': None}
    code = [strip(l, state) for l in lines]
    best = (0, '', 0)
    for i, l in enumerate(lines):
        m = FN.match(code[i])
        if not m:
            continue
        depth = 0
        opened = False
        for j in range(i, len(code)):
            seg = code[j]
            if not opened and ';' in seg and '{' not in seg:
                break  # a declaration without a body
            for ch in seg:
                if ch == '{':
                    depth += 1
                    opened = True
                elif ch == '}':
                    depth -= 1
            if opened and depth <= 0:
                length = j - i + 1
                if length > best[0]:
                    best = (length, m.group(7), i + 1)
                break
    return len(lines), best


def main():
    dirs = sys.argv[1:] or ['src', 'tests']
    files = []
    for d in dirs:
        for root, _, names in os.walk(d):
            for n in names:
                if n.endswith('.rs'):
                    files.append(os.path.join(root, n))
    results = {p: scan(p) for p in sorted(files)}
    big = max(results.items(), key=lambda kv: kv[1][0])
    fn = max(results.items(), key=lambda kv: kv[1][1][0])
    total = sum(v[0] for v in results.values())
    print(f'files: {len(results)}, lines: {total}')
    print(f'largest file: {big[0]} ({big[1][0]} lines)')
    length, name, line = fn[1][1]
    print(f'longest function: {fn[0]}:{line} fn {name} ({length} lines)')


if __name__ == '__main__':
    main()
