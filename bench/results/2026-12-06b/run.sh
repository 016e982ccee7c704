#!/bin/bash
# The runs docs/performance.md quotes from the second session of 2026-12-06 (an AMD EPYC VM, 2
# cores; compare only within this set), in the order they ran, with nothing else on the machine:
# each run's summary in NAME.txt and its JSON in NAME.json. B is the load tester (go build -o
# /tmp/benchbin ./bench); OLD the tickerd of 048aae7 (the server before this stage, for issue 14),
# BASE of 00bb3d8 (the main this set started from, in its code), NEW of 6c47984 (the connection in
# 192 bytes, the quotes-only simulation's 32 KiB decimal cache, handshakes queued for one goroutine
# at a time, a request's connection written when its command is applied). Parts ran in the order
# storm, market, idle, fan-out (RUNS="1 2"). bare-storm-tape10-1.txt is the seventh set's floor
# on this machine, before them (go build -o /tmp/bare ./bench/results/2026-12-06/bare;
# GOMAXPROCS=2 taskset -c 0 /tmp/bare -serve 127.0.0.1:9977 -tape 10 &
# GOMAXPROCS=2 taskset -c 1 /tmp/bare -dial 127.0.0.1:9977 -n 10000).
#   OLD=/tmp/tickerd-old BASE=/tmp/tickerd-base NEW=/tmp/tickerd-new bench/results/2026-12-06b/run.sh PART
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in base) echo ${BASE:?tickerd of 00bb3d8};; new) echo ${NEW:?tickerd of the part\'s commit};; old) echo ${OLD:?tickerd of 048aae7};; esac; }
part=${1:?part}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
qo() { [ $1 = old ] || echo -feed-quotes-only; }
# Issue 14's scenarios: OLD, BASE and NEW interleaved (fan-out: OLD and NEW), pinned as every
# earlier set, the new servers with -feed-quotes-only where the feed publishes.
if [ $part = market ]; then
  for i in ${RUNS:-1 2 3}; do
    for v in old base new; do
      run i14-market-$v-$i -scenario market $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
if [ $part = idle ]; then
  for i in ${RUNS:-1 2}; do
    for v in old base new; do
      run i14-idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
if [ $part = fan-out ]; then
  for i in ${RUNS:-1 2}; do
    for v in old new; do
      run i14-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# Issue 15's resume storm, BASE against NEW, interleaved (tickerd's default there: two Ps on core 0).
# storm-new-4..6 are NEW alone, three more runs of the same command after the other parts.
if [ $part = storm ]; then
  for i in ${RUNS:-1 2 3}; do
    for v in base new; do
      run storm-$v-$i -scenario trades -compare-quotes=false -spawn -server-bin $(bin $v) -server-cpus 0 -cpus 1
    done
  done
fi
