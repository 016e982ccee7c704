#!/usr/bin/env python3
"""Splits a perf profile of the server's core into where the time goes.

Record while a bench run is in its window, then summarize:

	perf record -C 0 -g -o core0.data sleep 8
	perf script -i core0.data -F ip,sym > core0.txt
	bench/results/perfsplit.py core0.txt [N]    # N: also list the top N send-path leaves

Samples under handle_softirqs are receive work that loopback runs on the
sending core (mostly the client's TCP input); samples under do_syscall_64
are the send path; the rest is user code and idle.
"""
import collections
import sys


def frames(sample):
    out = []
    for line in sample.strip().split("\n"):
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            out.append(parts[1])
    return out


def classify(syms):
    j = " ".join(syms) + " "
    if "handle_softirqs" in j:
        if "tcp_delack_timer" in j:
            return "rx: client delayed-ACK timers"
        if "run_timer_softirq" in j:
            return "rx: other timers"
        if "sock_def_readable" in j:
            return "rx: waking the client's reader"
        if "tcp_ack " in j and "tcp_data_queue" not in j:
            return "rx: ACKs to the server's sockets"
        if "tcp_v4_rcv" in j:
            return "rx: client TCP input"
        return "rx: IP, device, NAPI"
    if "pv_native_safe_halt" in j or "default_idle" in j:
        return "idle"
    if "do_syscall_64" in j:
        return "tx: send system calls"
    return "user code and other"


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    total = 0
    kinds = collections.Counter()
    leaves = collections.Counter()
    with open(sys.argv[1]) as f:
        for sample in f.read().split("\n\n"):
            syms = frames(sample)
            if not syms:
                continue
            total += 1
            k = classify(syms)
            kinds[k] += 1
            if k.startswith("tx"):
                leaves[syms[0]] += 1
    if total == 0:
        sys.exit("no samples")
    for k, v in kinds.most_common():
        print(f"{k:34s} {100 * v / total:5.1f}%")
    for k, v in leaves.most_common(top):
        print(f"    {100 * v / total:5.2f}% {k}")


if __name__ == "__main__":
    main()
