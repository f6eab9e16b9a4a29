#!/usr/bin/env python3
"""Generates the counting benchmark's trees (empty regular files only).

flat DIR: 1000 directories x 1000 files.
deep DIR: fan-out 3, 10 levels below the root (88,573 directories), 1,000,000 files spread over
every directory (11 or 12 each).
small DIR: fan-out 3, 6 levels, 10 files per directory (for the latencyfs runs).
A tree is built under DIR.partial and renamed to DIR when complete, so an interrupted run never
leaves a tree that looks finished.
"""
import os
import shutil
import sys


def make_files(directory, count):
    for i in range(count):
        os.close(os.open(os.path.join(directory, f"f{i:04d}"), os.O_CREAT | os.O_WRONLY, 0o644))


def flat(root):
    for d in range(1000):
        sub = os.path.join(root, f"d{d:04d}")
        os.mkdir(sub)
        make_files(sub, 1000)


def deep(root, fanout=3, depth=10, total_files=1_000_000):
    dirs = [root]
    level = [root]
    for _ in range(depth):
        nxt = []
        for parent in level:
            for i in range(fanout):
                sub = os.path.join(parent, f"d{i}")
                os.mkdir(sub)
                nxt.append(sub)
        dirs.extend(nxt)
        level = nxt
    base, extra = divmod(total_files, len(dirs))
    for n, d in enumerate(dirs):
        make_files(d, base + (1 if n < extra else 0))


def small(root):
    """The tree read through latencyfs: fan-out 3, 6 levels (1,093 directories), 10 files each."""
    deep(root, fanout=3, depth=6, total_files=10_930)


def main():
    kind, target = sys.argv[1], sys.argv[2]
    partial = target + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)
    {"flat": flat, "deep": deep, "small": small}[kind](partial)
    os.rename(partial, target)


if __name__ == "__main__":
    main()
