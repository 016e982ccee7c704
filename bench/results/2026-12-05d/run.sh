#!/bin/bash
# The runs docs/performance.md quotes from the fourth session of 2026-12-05 (the same Intel
# Xeon VM), in the order they ran, with nothing else on the machine: each run's summary in
# NAME.txt and its JSON in NAME.json here. NEW is the tickerd binary measured (aad1cc1), BASE the main
# this set started from (d8cb9d9), OLD the server before this stage (048aae7); B the load
# tester (go build -o /tmp/benchbin ./bench).
#   NEW=/tmp/tickerd-s5new BASE=/tmp/tickerd-s5base OLD=/tmp/tickerd-old bench/results/2026-12-05d/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}; NEW=${NEW:?tickerd binary to measure}; BASE=${BASE:?main before}; OLD=${OLD:?tickerd before this stage}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in old) echo $OLD;; base) echo $BASE;; new) echo $NEW;; esac; }
qo() { [ $1 = old ] || echo -feed-quotes-only; }  # the old server has no trades or books to turn off
part=${1:-all}
if [ $part = all ] || [ $part = 14 ]; then
  # Issue 14: the server before this stage, the main before this set and now, interleaved.
  for i in 1 2 3; do
    for v in old base new; do
      run market-$v-$i -scenario market $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2; do
    for v in old new; do
      run idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $(bin $v) $PIN
      run fan-out-$v-$i -scenario fan-out -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
if [ $part = all ] || [ $part = 18 ]; then
  # Issue 18: K symbols per client at the same message rate, the main before this set against now.
  for i in 1 2; do
    for v in base new; do
      run universe-$v-$i -scenario universe -spawn -server-bin $(bin $v) $PIN
    done
  done
  for v in base new; do
    run compare-k-$v -spawn -server-bin $(bin $v) -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3 $PIN
  done
fi
# Between the parts above and below: the Go benchmark of 1 against 1,000 symbols per connection,
# BASE's and NEW's test binaries interleaved (fanout-watchlist-bench.txt has the commands).
if [ $part = all ] || [ $part = more ]; then
  # The compare-k arms above varied by ±10% between runs of the same arm: five more of each
  # on NEW; and two more fan-out pairs (issue 14), interleaved.
  run compare-k-new-5 -spawn -server-bin $NEW -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 5 $PIN
  for i in 3 4; do
    for v in old new; do
      run fan-out-$v-$i -scenario fan-out -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# NEW2: NEW with the pass applying its whole inbox (requests too) every 32 connections it writes.
if [ $part = all ] || [ $part = new2 ]; then
  NEW2=${NEW2:?NEW with the whole inbox taken mid-pass}
  # Issue 15: the resume storm alone (no quotes run), interleaved.
  for i in 1 2 3; do
    run storm-base-$i -scenario trades -compare-quotes=false -spawn -server-bin $BASE $PIN
    run storm-new2-$i -scenario trades -compare-quotes=false -spawn -server-bin $NEW2 $PIN
  done
  # Issue 14: the market and fan-out again with NEW2, interleaved with OLD.
  for i in 4 5; do
    run market-old-$i -scenario market -spawn -server-bin $OLD $PIN
    run market-new2-$i -scenario market -feed-quotes-only -spawn -server-bin $NEW2 $PIN
  done
  for i in 5 6; do
    run fan-out-old-$i -scenario fan-out -spawn -server-bin $OLD $PIN
    run fan-out-new2-$i -scenario fan-out -spawn -server-bin $NEW2 $PIN
  done
fi
