#!/usr/bin/env python3
"""Scans valgrind memcheck logs (one per process) for errors of the extension.

    scan.py --so DATA8_SO --src SRC_DIR LOG_DIR

An error counts when one of its stacks (where it happened, or where the
memory was allocated / the uninitialised value created) has a frame of
data8: a function defined in data8.so, or a frame valgrind places in
data8.so.  "Definitely lost" blocks count when their allocation stack has
such a frame.  Other errors (PostgreSQL's, libc's, libcurl's own) are
summarised so that test/memcheck/postgres.supp can be extended; their
suppressions are written to LOG_DIR/../other.supp.  Exit status 1 when an
error of data8 was found.
"""
import argparse
import collections
import os
import re
import subprocess
import sys

PREFIX = re.compile(r'^==(\d+)== ?(.*)$')
FRAME = re.compile(r'^\s+(?:at|by) 0x[0-9A-Fa-f]+: (.*?)(?: \((.*)\))?$')


def data8_symbols(so):
    out = subprocess.run(['nm', '--defined-only', so], capture_output=True,
                         text=True, check=True).stdout
    return {l.split()[2] for l in out.splitlines()
            if len(l.split()) == 3 and l.split()[1] in 'tT'}


def parse(path):
    """Yields (pid, lines, suppression) for each error of one log."""
    block, pid, supp, in_supp = [], None, [], False
    errors = []
    with open(path, errors='replace') as f:
        for raw in f:
            line = raw.rstrip('\n')
            m = PREFIX.match(line)
            if m is None:
                # --gen-suppressions output belongs to the error before it
                if line.startswith('{'):
                    in_supp, supp = True, [line]
                elif in_supp:
                    supp.append(line)
                    if line.startswith('}'):
                        in_supp = False
                        if errors:
                            errors[-1][2].extend(supp)
                continue
            pid, text = m.group(1), m.group(2)
            if text.strip() == '':
                if block:
                    errors.append((pid, block, []))
                block = []
            else:
                block.append(text)
    if block:
        errors.append((pid, block, []))
    return [e for e in errors if any(FRAME.match(l) for l in e[1])]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--so', required=True)
    ap.add_argument('--src', required=True)
    ap.add_argument('logdir')
    args = ap.parse_args()

    syms = data8_symbols(args.so)
    srcfiles = {f for f in os.listdir(args.src) if f.endswith(('.c', '.h'))}
    so_name = os.path.basename(args.so)

    def is_data8(frame_line):
        m = FRAME.match(frame_line)
        if not m:
            return False
        fn, loc = m.group(1), m.group(2) or ''
        if so_name in loc:
            return True
        return fn in syms and loc.split(':')[0] in srcfiles

    ours = collections.OrderedDict()	# key -> [count, pids, lines]
    other = collections.Counter()
    other_supp = []
    nlogs = nerrors = 0
    for name in sorted(os.listdir(args.logdir)):
        nlogs += 1
        for pid, lines, supp in parse(os.path.join(args.logdir, name)):
            nerrors += 1
            head = lines[0]
            frames = [l for l in lines if FRAME.match(l)]
            kind = re.sub(r'\d+', 'N', head)
            if any(is_data8(l) for l in frames):
                key = (kind, tuple(FRAME.match(l).group(1) for l in frames[:12]))
                entry = ours.setdefault(key, [0, set(), lines])
                entry[0] += 1
                entry[1].add(pid)
            else:
                top = ' < '.join(FRAME.match(l).group(1) for l in frames[:4])
                other[(kind, top)] += 1
                other_supp.append('\n'.join(supp))

    print(f'-- valgrind: {nlogs} process logs, {nerrors} unsuppressed errors, '
          f'{sum(e[0] for e in ours.values())} with a data8 frame '
          f'({len(ours)} distinct)')
    for (kind, _), (count, pids, lines) in ours.items():
        print(f'\n== DATA8: {kind}  [{count}x in {len(pids)} process(es)]')
        for l in lines:
            print('   ' + l)
    if other:
        print('\n-- errors without a data8 frame (PostgreSQL, libc, libcurl):')
        for (kind, top), n in other.most_common(20):
            print(f'   {n:5d}x {kind}: {top}')
        supp_path = os.path.join(os.path.dirname(os.path.abspath(args.logdir)), 'other.supp')
        with open(supp_path, 'w') as f:
            f.write('\n'.join(s for s in dict.fromkeys(other_supp) if s) + '\n')
        print(f'   (their suppressions: {supp_path})')
    if ours:
        print('\nmemcheck: FAILED, errors in data8 code above')
        return 1
    print('memcheck: no error with a data8 frame')
    return 0


if __name__ == '__main__':
    sys.exit(main())
