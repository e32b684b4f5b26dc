#!/usr/bin/env python3
"""Proves that the fast skip loops of grammar/sip_message.rl do not change the language.

A skip action (named skip_<class>) advances p over the following bytes of <class> in one
tight loop instead of one state-machine step per byte. That is exact only when the state
the transition enters loops on *every* byte of <class> back to itself, with the skip action
as its only action: then each skipped byte would have taken that same self-loop, running
nothing but the (idempotent) skip itself. The skip must also be the last action of its
transition, so that the actions before it still see p on the first byte.

This script checks both conditions on Ragel's state graph (ragel -x output) for every
transition that carries a skip action, with the byte classes read from
src/parser/byte_class.hpp (the same definitions the C++ loops are built from).

  usage: check_skip_loops.py <machine.xml> <byte_class.hpp>
"""
import re
import sys
import xml.etree.ElementTree as ET


def parse_classes(header_text):
    """Reads `k_<name> = byte_class::of("<ranges>", "<singles>")` definitions."""
    classes = {}
    pattern = re.compile(r'k_(\w+)\s*=\s*byte_class::of\(\s*"((?:[^"\\]|\\.)*)"\s*,\s*'
                         r'"((?:[^"\\]|\\.)*)"\s*\)')
    for name, ranges, singles in pattern.findall(header_text):
        ranges = ranges.encode('latin1').decode('unicode_escape').encode('latin1')
        singles = singles.encode('latin1').decode('unicode_escape').encode('latin1')
        members = set(singles)
        if len(ranges) % 2:
            sys.exit(f'byte class {name}: ranges must come in pairs')
        for i in range(0, len(ranges), 2):
            members.update(range(ranges[i], ranges[i + 1] + 1))
        classes[name] = members
    return classes


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    classes = parse_classes(open(sys.argv[2], encoding='latin1').read())
    machine = ET.parse(sys.argv[1]).getroot().find('ragel_def/machine')

    action_names = {int(a.get('id')): a.get('name') for a in machine.find('action_list')}
    tables = {int(t.get('id')): [int(x) for x in t.text.split()]
              for t in machine.find('action_table_list')}
    states = {}
    for s in machine.find('state_list'):
        sa = s.find('state_actions')  # to-state, from-state and EOF action tables
        if sa is not None and sa.text.split()[:2] != ['x', 'x']:
            sys.exit(f'state {s.get("id")} has to/from-state actions: unsupported here')
        trans = {}
        tl = s.find('trans_list')
        for t in (tl if tl is not None else []):
            lo, hi, target, table = t.text.split()
            for c in range(int(lo), int(hi) + 1):
                trans[c & 0xFF] = (int(target), None if table == 'x' else int(table))
        states[int(s.get('id'))] = trans

    errors, checked = [], 0
    for sid, trans in states.items():
        for c, (target, table) in trans.items():
            acts = tables.get(table, [])
            skips = [a for a in acts if action_names[a].startswith('skip_')]
            if not skips:
                continue
            checked += 1
            where = f'state {sid} byte 0x{c:02x} -> state {target}'
            if len(skips) > 1 or acts[-1] != skips[0]:
                errors.append(f'{where}: the skip action must be the last and only skip')
                continue
            name = action_names[skips[0]]
            cls = classes.get(name[len('skip_'):])
            if cls is None:
                errors.append(f'{where}: no byte class for {name}')
                continue
            loop = states[target]
            for b in sorted(cls):
                t = loop.get(b)
                if t is None or t[0] != target or tables.get(t[1], []) != [skips[0]]:
                    errors.append(f'{where}: {name} would skip byte 0x{b:02x}, but state {target}'
                                  f' does not loop on it with {name} alone ({t})')
                    break
    for e in errors[:40]:
        print(e)
    if errors:
        print(f'{len(errors)} invalid skip transition(s)')
        return 1
    print(f'ok: {checked} skip transitions, all entering pure self-loops')
    return 0


if __name__ == '__main__':
    sys.exit(main())
