#!/bin/bash
# The third set of runs docs/performance.md quotes from 2026-12-05 (a third session the same day,
# the same Intel Xeon VM), in the order they ran, with nothing else on the machine: each bench
# run's summary in NAME.txt and its JSON in NAME.json here. NEW is the tickerd binary measured
# (e993ac0: the epoll front and fewer allocations per listing change), BASE the main this set
# started from (912d25f), OLD the server before this stage (048aae7); B the load tester
# (go build -o /tmp/benchbin ./bench).
#   NEW=/tmp/tickerd-s4new BASE=/tmp/tickerd-s4base OLD=/tmp/tickerd-old bench/results/2026-12-05c/run.sh
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}; NEW=${NEW:?tickerd binary to measure}; BASE=${BASE:?main before}; OLD=${OLD:?tickerd before this stage}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
# Issue 13: HTTP connections before the upgrade, 5,000 attackers (the garbage of a collection
# cycle is a smaller share of each), with the waiting cap above them.
# DRAFT: the front before its first read right after accept (a build never committed; the
# memory it holds is the same).
for i in 1 2; do
  run hostile-http-5k-base-$i -scenario hostile -attacks idle-http,slow-headers -attack-conns 5000 -spawn -server-bin $BASE -server-args "-http-max-waiting 10000" $PIN
  run hostile-http-5k-draft-$i -scenario hostile -attacks idle-http,slow-headers -attack-conns 5000 -spawn -server-bin ${DRAFT:-$NEW} -server-args "-http-max-waiting 10000" $PIN
done
# Issue 15: the resume storm alone (no quotes run), interleaved.
for i in 1 2 3; do
  run storm-base-$i -scenario trades -compare-quotes=false -spawn -server-bin $BASE $PIN
  run storm-new-$i -scenario trades -compare-quotes=false -spawn -server-bin $NEW $PIN
done
# Issue 18: listing changes under load, interleaved, and K symbols per client.
for i in 1 2; do
  run universe-base-$i -scenario universe -spawn -server-bin $BASE $PIN
  run universe-new-$i -scenario universe -spawn -server-bin $NEW $PIN
done
run compare-k-new -spawn -server-bin $NEW -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3 $PIN
# Issue 13: every class (the default sizes), then the pre-upgrade classes and idle wss at 5,000.
run hostile-new -scenario hostile -spawn -server-bin $NEW $PIN
# Issue 14: the server before this stage against now, interleaved. (NEW's market runs of this
# loop lacked -feed-quotes-only, so its simulated trades and books ran too: not kept.)
for i in 1 2; do
  for v in old new; do
    bin=$OLD; [ $v = new ] && bin=$NEW
    run ab-idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $bin $PIN
    [ $v = old ] && run ab-market-old-$i -scenario market -spawn -server-bin $OLD $PIN
    run ab-fan-out-$v-$i -scenario fan-out -spawn -server-bin $bin $PIN
  done
done
run ab-market-new-1 -scenario market -feed-quotes-only -spawn -server-bin $NEW $PIN
run ab-market-old-3 -scenario market -spawn -server-bin $OLD $PIN
run ab-market-new-2 -scenario market -feed-quotes-only -spawn -server-bin $NEW $PIN
# Issue 14: does merging sooner bring the market p99 back? (it does not)
for a in 50ms 100ms; do
  run market-replay-age-$a-new -scenario market -feed-quotes-only -spawn -server-bin $NEW -server-args "-max-replay-age $a" $PIN
done
run hostile-5k-new -scenario hostile -attacks idle-http,slow-headers,partial-frame,idle-wss -attack-conns 5000 -spawn -server-bin $NEW -server-args "-http-max-waiting 10000" $PIN
run hostile-stalled-2k-new -scenario hostile -attacks stalled-readers,stalled-wss -attack-conns 2000 -spawn -server-bin $NEW $PIN
# Issue 18: two more interleaved pairs of listing changes under load, after CI had run.
for i in 3 4; do
  run universe-base-$i -scenario universe -spawn -server-bin $BASE $PIN
  run universe-new-$i -scenario universe -spawn -server-bin $NEW $PIN
done
