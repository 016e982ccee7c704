#!/bin/bash
# The runs docs/performance.md quotes from the sixth session of 2026-12-05 (an AMD EPYC VM, 2
# cores: another CPU than the earlier sets', so compare only within this set), in the order they
# ran, with nothing else on the machine: each run's summary in NAME.txt and its JSON in NAME.json.
# MAIN is the tickerd binary of e845be7 (the main this set started from), NEW of dd6e18b (two Ps
# when pinned to one CPU); B the load tester of d049a9a or later (go build -o /tmp/benchbin ./bench),
# which times a resume storm to the replay's arrival at the socket as well as to its read.
# OLD is the server before this stage (048aae7), for issue 14's comparison (part 14); RAW 04074fc, the
# front accepting on the listener's descriptor, without TCP keep-alive (part raw).
#   MAIN=/tmp/tickerd-main NEW=/tmp/tickerd-new OLD=/tmp/tickerd-old RAW=/tmp/tickerd-raw bench/results/2026-12-05f/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}; MAIN=${MAIN:?tickerd of e845be7}; NEW=${NEW:?tickerd of dd6e18b}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in main) echo $MAIN;; new) echo $NEW;; old) echo ${OLD:?tickerd of 048aae7};; esac; }
qo() { [ $1 = old ] || echo -feed-quotes-only; }  # the old server has no trades or books to turn off
part=${1:-all}
# The storm on MAIN, as every earlier set ran it (GOMAXPROCS=1), timed both ways.
if [ $part = all ] || [ $part = stamped ]; then
  for i in 1 2 3; do
    run storm-stamped-$i -scenario trades -compare-quotes=false -spawn -server-bin $MAIN -server-cpus 0 -server-gomaxprocs 1 -cpus 1
  done
fi
# MAIN with one P against two on the same core, interleaved with POOL: MAIN with at most
# GOMAXPROCS goroutines serving handshakes in arrival order (7e24601's front without its two
# runtime.Gosched calls; measured, not kept: no commit holds it).
if [ $part = all ] || [ $part = gomaxprocs ]; then
  for i in 1 2; do
    for g in 1 2; do
      run storm-gomaxprocs$g-$i -scenario trades -compare-quotes=false -spawn -server-bin $MAIN -server-cpus 0 -server-gomaxprocs $g -cpus 1
      [ -n "${POOL:-}" ] && run storm-pool-gomaxprocs$g-$i -scenario trades -compare-quotes=false -spawn -server-bin $POOL -server-cpus 0 -server-gomaxprocs $g -cpus 1
    done
  done
  for i in 1 2; do
    for g in 1 2; do
      run fan-out-gomaxprocs$g-$i -scenario fan-out -feed-quotes-only -spawn -server-bin $MAIN -server-cpus 0 -server-gomaxprocs $g -cpus 1
    done
  done
fi
# MAIN against NEW, each pinned to core 0 with GOMAXPROCS left to the server (MAIN: Go's 1;
# NEW: 2), interleaved.
if [ $part = all ] || [ $part = new ]; then
  for i in 1 2 3; do
    for v in main new; do
      run storm-$v-$i -scenario trades -compare-quotes=false -spawn -server-bin $(bin $v) -server-cpus 0 -cpus 1
    done
  done
  for i in 1 2; do
    for v in main new; do
      run burst-$v-$i -scenario burst -spawn -server-bin $(bin $v) -server-cpus 0 -cpus 1
    done
  done
  for i in 1 2; do
    for v in main new; do
      run market-$v-$i -scenario market -feed-quotes-only -spawn -server-bin $(bin $v) -server-cpus 0 -cpus 1
    done
  done
fi
# Issue 14: the server before this stage against NEW, interleaved, pinned as every earlier set
# (GOMAXPROCS=1 set explicitly, so NEW's two Ps do not apply).
if [ $part = all ] || [ $part = 14 ]; then
  PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
  for i in 1 2 3; do
    for v in old new; do
      run i14-market-$v-$i -scenario market $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2 3 4; do
    for v in old new; do
      run i14-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2; do
    for v in old new; do
      run i14-idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# NEW against RAW, pinned to core 0 with GOMAXPROCS left to the server (two Ps on both), interleaved.
if [ $part = all ] || [ $part = raw ]; then
  RAW=${RAW:?tickerd accepting on the raw listener}
  for i in 1 2 3; do
    run raw-storm-new-$i -scenario trades -compare-quotes=false -spawn -server-bin $NEW -server-cpus 0 -cpus 1
    run raw-storm-raw-$i -scenario trades -compare-quotes=false -spawn -server-bin $RAW -server-cpus 0 -cpus 1
  done
  for i in 1 2; do
    run raw-burst-new-$i -scenario burst -spawn -server-bin $NEW -server-cpus 0 -cpus 1
    run raw-burst-raw-$i -scenario burst -spawn -server-bin $RAW -server-cpus 0 -cpus 1
  done
fi
