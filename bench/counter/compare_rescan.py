#!/usr/bin/env python3
"""Compares the incremental rescan of two file-monitor builds on one unchanged tree.

usage: compare_rescan.py BASE_FILE_MONITOR NEW_FILE_MONITOR TREE [--runs N] [--threads N]

Each build first writes a scan cache of its own (the cache format may differ between them), then
the rounds run the base rescan, the new rescan and a full scan (new build) in turn, so that a
drift of the machine hits all three alike. The figure is the scan's own `seconds` (no process
start-up). A rescan that had to list a directory is an error: the tree must stay unchanged. Prints
one Markdown table row per command: median, min and max in milliseconds, and full scan / median.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile


def scan_ms(binary, tree, threads, cache=None, rescan=True):
    cmd = [binary, "count", tree, "--threads", str(threads), "--json"]
    if cache is not None:
        cmd += ["--cache", cache]
    doc = json.loads(subprocess.run(cmd, check=True, capture_output=True).stdout)
    if cache is not None and rescan and doc["directories_read"] != 0:
        sys.exit(f"{binary}: the rescan listed {doc['directories_read']} directories: "
                 "the tree changed, or the cache was not written")
    return doc["seconds"] * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base")
    parser.add_argument("new")
    parser.add_argument("tree")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        caches = {"base": os.path.join(scratch, "base.cache"),
                  "new": os.path.join(scratch, "new.cache")}
        binaries = {"base": args.base, "new": args.new}
        for name, binary in binaries.items():
            scan_ms(binary, args.tree, args.threads, caches[name], rescan=False)
        times = {"base rescan": [], "new rescan": [], "full scan": []}
        for _ in range(args.runs):
            for name, binary in binaries.items():
                times[f"{name} rescan"].append(scan_ms(binary, args.tree, args.threads,
                                                       caches[name]))
            times["full scan"].append(scan_ms(args.new, args.tree, args.threads))
    full = statistics.median(times["full scan"])
    print("| command | median ms | min ms | max ms | full scan / median |")
    print("|---|---:|---:|---:|---:|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {min(values):.2f} | {max(values):.2f} "
              f"| {full / median:.1f}x |")


if __name__ == "__main__":
    main()
