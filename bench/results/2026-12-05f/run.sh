#!/bin/bash
# The runs docs/performance.md quotes from the sixth session of 2026-12-05 (an AMD EPYC VM, 2
# cores: another CPU than the earlier sets', so compare only within this set), in the order they
# ran, with nothing else on the machine: each run's summary in NAME.txt and its JSON in NAME.json.
# MAIN is the tickerd binary of e845be7 (the main this set started from), NEW of dd6e18b (two Ps
# when pinned to one CPU); B the load tester of d049a9a or later (go build -o /tmp/benchbin ./bench),
# which times a resume storm to the replay's arrival at the socket as well as to its read.
#   MAIN=/tmp/tickerd-main NEW=/tmp/tickerd-new bench/results/2026-12-05f/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}; MAIN=${MAIN:?tickerd of e845be7}; NEW=${NEW:?tickerd of dd6e18b}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in main) echo $MAIN;; new) echo $NEW;; esac; }
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
