#!/bin/bash
# The second set of runs docs/performance.md quotes from 2026-12-05 (a later session the same day,
# the same Intel Xeon VM), in the order they ran, with nothing else on the machine: each bench
# run's summary in NAME.txt and its JSON in NAME.json here. NEW is the tickerd binary measured,
# PREV the main before this set's changes (12d9036), OLD the server before this stage (048aae7);
# B the load tester (go build -o /tmp/benchtool ./bench).
#   NEW=/tmp/tickerd-new PREV=/tmp/tickerd-prev OLD=/tmp/tickerd-old bench/results/2026-12-05b/run.sh
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchtool}; NEW=${NEW:?tickerd binary to measure}; PREV=${PREV:?main before}; OLD=${OLD:?tickerd before this stage}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
# Issue 13: the attack classes, the reader time slice (NEW) against PREV.
run hostile-new -scenario hostile -spawn -server-bin $NEW $PIN
run hostile-prev -scenario hostile -spawn -server-bin $PREV $PIN
# Issue 15: the resume storm alone (no quotes run), interleaved.
for i in 1 2; do
  run storm-new-$i -scenario trades -compare-quotes=false -spawn -server-bin $NEW $PIN
  run storm-prev-$i -scenario trades -compare-quotes=false -spawn -server-bin $PREV $PIN
done
# Issue 18: listing changes under load (delisting in pieces, GCs counted), and K symbols per client.
run universe-new -scenario universe -spawn -server-bin $NEW $PIN
run universe-prev -scenario universe -spawn -server-bin $PREV $PIN
run compare-k -spawn -server-bin $NEW -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3 $PIN
# Issue 14: the server before this stage against now, interleaved.
for i in 1 2; do
  run ab-fanout-old-$i -scenario fan-out -spawn -server-bin $OLD $PIN
  run ab-fanout-new-$i -scenario fan-out -spawn -server-bin $NEW -feed-quotes-only $PIN
  run ab-market-old-$i -scenario market -spawn -server-bin $OLD $PIN
  run ab-market-new-$i -scenario market -spawn -server-bin $NEW -feed-quotes-only $PIN
  run ab-idle-old-$i -scenario idle-memory -spawn -server-bin $OLD $PIN
  run ab-idle-new-$i -scenario idle-memory -spawn -server-bin $NEW $PIN
done
echo "=== $(date +%T) all done"
# Re-run on 2aea12a (NEW2): the first universe-new run's listing probe was closed by the reply
# budget bug 3c3d992 fixes ("1008 too many unread replies"; universe-prev shows it too), and the
# first compare-k overlapped a compile. Then the storm with 64 reconnects in flight (16 per worker)
# instead of 1,024: the latency of a resume when the server is not saturated.
NEW2=${NEW2:-$NEW}
run universe-new -scenario universe -spawn -server-bin $NEW2 $PIN
run compare-k -spawn -server-bin $NEW2 -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3 $PIN
run storm-c16-new -scenario trades -compare-quotes=false -storm-concurrency 16 -spawn -server-bin $NEW2 $PIN
echo "=== $(date +%T) re-runs done"
