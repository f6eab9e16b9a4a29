#!/usr/bin/env python3
"""Times shell commands alternately, round after round, and prints medians and ratios.

usage: measure.py LABEL RUNS COLD(0|1) OUT.json NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in turn, so that a drift of the machine (other work,
thermal state) affects all of them alike. COLD=1 drops the page, dentry and inode caches
(echo 3 > /proc/sys/vm/drop_caches, after sync) before every single run. Every command's
standard output is shown (every distinct output, so a count that changes is visible), and the
CPU time of the command and its children is recorded next to the wall time.
The first name is the subject: it is compared with the fastest command whose name does not
start with the subject's first word (other settings of the same tool are not rivals).
"""
import json
import resource
import statistics
import subprocess
import sys
import time


def drop_caches():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as f:
        f.write("3\n")


def main():
    label, runs, cold, out = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
    commands = [arg.split("=", 1) for arg in sys.argv[5:]]
    times = {name: [] for name, _ in commands}
    cpu = {name: [] for name, _ in commands}
    outputs = {name: set() for name, _ in commands}
    for _ in range(runs):
        for name, command in commands:
            if cold:
                drop_caches()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            done = subprocess.run(["bash", "-c", command], check=True, capture_output=True,
                                  text=True, errors="replace")
            times[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
            outputs[name].add(done.stdout.strip())
    subject = commands[0][0]
    medians = {name: statistics.median(t) for name, t in times.items()}
    tool = subject.split()[0]
    others = [n for n, _ in commands[1:] if n.split()[0] != tool] or [n for n, _ in commands[1:]]
    fastest_other = min(others, key=lambda n: medians[n]) if others else None
    print(f"\n### {label} ({'cold' if cold else 'warm'}, {runs} alternating rounds)\n")
    print("| command | median s | min s | max s | median CPU s (user+sys) | output |")
    print("|---|---:|---:|---:|---:|---|")
    for name, _ in commands:
        t = times[name]
        shown = "; ".join(sorted(o.replace("\n", " ")[:40] for o in outputs[name]))
        print(f"| {name} | {medians[name]:.3f} | {min(t):.3f} | {max(t):.3f} "
              f"| {statistics.median(cpu[name]):.3f} | {shown} |")
    if fastest_other:
        ratio = medians[fastest_other] / medians[subject]
        print(f"\n{subject} vs fastest other ({fastest_other}): {ratio:.2f}x")
    with open(out, "w", encoding="utf-8") as f:
        json.dump({"label": label, "cold": cold, "runs": runs,
                   "commands": dict(commands), "times": times, "cpu": cpu,
                   "medians": medians, "fastest_other": fastest_other}, f, indent=1)


if __name__ == "__main__":
    main()
