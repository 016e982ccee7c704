#!/bin/bash
# The runs docs/performance.md quotes from the fifth session of 2026-12-05 (the same Intel Xeon
# VM), in the order they ran, with nothing else on the machine: each run's summary in NAME.txt
# and its JSON in NAME.json here. NEW is the tickerd binary measured (dd1f116), NEW2 the build
# with the write's fast paths (fced117), BASE the main this set started from (9eb37d3), OLD the
# server before this stage (048aae7); B the load tester (go build -o /tmp/benchbin ./bench).
# Parts in the order they ran: 14, 15, 18, new2, fanq.
#   NEW=/tmp/tickerd-s6new NEW2=/tmp/tickerd-s6new2 BASE=/tmp/tickerd-s6base OLD=/tmp/tickerd-old bench/results/2026-12-05e/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}; NEW=${NEW:?tickerd binary to measure}; BASE=${BASE:?main before}; OLD=${OLD:?tickerd before this stage}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in old) echo $OLD;; base) echo $BASE;; new) echo $NEW;; esac; }
qo() { [ $1 = old ] || echo -feed-quotes-only; }  # the old server has no trades or books to turn off
part=${1:-all}
if [ $part = all ] || [ $part = 15 ]; then
  # Issue 15: the resume storm alone (no quotes run), interleaved.
  for i in 1 2 3; do
    for v in base new; do
      run storm-$v-$i -scenario trades -compare-quotes=false -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
if [ $part = all ] || [ $part = 14 ]; then
  # Issue 14: the server before this stage, the main before this set and now, interleaved.
  for i in 1 2 3; do
    for v in old base new; do
      run market-$v-$i -scenario market $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2 3 4 5; do
    for v in old new; do
      run fan-out-$v-$i -scenario fan-out -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2; do
    for v in old new; do
      run idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
if [ $part = all ] || [ $part = 18 ]; then
  # Issue 18: the universe run, interleaved; then 1 against 1,000 symbols per client at the same rate.
  for i in 1 2; do
    for v in base new; do
      run universe-$v-$i -scenario universe -spawn -server-bin $(bin $v) $PIN
    done
  done
  run compare-k-new -spawn -server-bin $NEW -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 5 $PIN
fi
# NEW2: NEW with a one-frame write sent without the iovec and a full write of data frames
# counted without settle's walk.
if [ $part = all ] || [ $part = new2 ]; then
  NEW2=${NEW2:?NEW with the write fast paths}
  for i in 6 7 8 9; do
    run fan-out-old-$i -scenario fan-out -spawn -server-bin $OLD $PIN
    run fan-out-new2-$i -scenario fan-out -spawn -server-bin $NEW2 $PIN
  done
fi
# The fan-out again with the new server publishing quotes only (-feed-quotes-only), as the old
# one does: the runs above left its simulated trades, books and candles on.
if [ $part = all ] || [ $part = fanq ]; then
  NEW2=${NEW2:?NEW with the write fast paths}
  for i in 10 11 12 13; do
    run fan-out-old-$i -scenario fan-out -spawn -server-bin $OLD $PIN
    run fan-out-new2q-$i -scenario fan-out -feed-quotes-only -spawn -server-bin $NEW2 $PIN
  done
fi
# Issue 15, a diagnostic: the storm on NEW2 with each core's busy share sampled every 100 ms
# (cpusample.sh, storm-diag-cpu.txt: time, cpu0 busy, cpu1 busy).
if [ $part = all ] || [ $part = diag ]; then
  NEW2=${NEW2:?NEW with the write fast paths}
  run storm-diag -scenario trades -compare-quotes=false -spawn -server-bin $NEW2 $PIN &
  "$M/cpusample.sh" 45 > "$M/storm-diag-cpu.txt"
  wait
fi
