#!/bin/bash
# The runs docs/performance.md quotes from the third session of 2026-12-06 (an AMD EPYC VM, 2
# cores, faster than the second session's; compare only within this set), in the order they ran,
# with nothing else on the machine: each run's summary in NAME.txt and its JSON in NAME.json;
# summary.py prints the figures of the runs a glob names. B is the load tester (go build -o
# /tmp/benchbin ./bench); OLD the tickerd of 048aae7 (the server before this stage, for issue 14),
# BASE of 3729e79 (the main this set started from), NEW of 3618a66 (the hub's and the front's
# epoll sets on Go's poller) for storm runs 1-3 and of 9c31549 (besides, an idle wss connection
# without a goroutine) for every other part, TLS of 9c31549. Order: storm (runs 1-3, base and
# new), wss, market, idle (RUNS="1 2"), fan-out (RUNS="1 2"), storm (RUNS="4 5 6 7" VS="base
# tls"; an edit of this script while it ran made bash rerun the loop: base-4 and tls-4 of that
# round were overwritten and the rerun stopped), bare, storm (RUNS="4 8 9 10" VS="base tls"),
# fan-out3 (RUNS="3 4 5"), fan-out6 (RUNS="6 7 8 9 10"), stalled (RUNS="1 2"), hostile (RUNS=1).
# Then perf-fanout.sh old /tmp/tickerd-old and new /tmp/tickerd-tls -feed-quotes-only (a fan-out
# run each with perf recording the server for 10 s; perf-fan-out-*.txt, the runs' JSON not kept),
# then layout (RUNS="1 2 3 4 5 6"; LAYOUT the tickerd of b8c2399, conn's fields ordered by cache
# line, reverted in c83c9e4).
#   OLD=/tmp/tickerd-old BASE=/tmp/tickerd-base NEW=/tmp/tickerd-new TLS=/tmp/tickerd-tls bench/results/2026-12-06c/run.sh PART
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in base) echo ${BASE:?tickerd of 3729e79};; new) echo ${NEW:?tickerd of the part\'s commit};; old) echo ${OLD:?tickerd of 048aae7};; tls) echo ${TLS:?tickerd of 9c31549};; layout) echo ${LAYOUT:?tickerd with conn laid out by cache line};; esac; }
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
# fan-out-3..5: OLD, BASE and NEW interleaved, three more rounds.
if [ $part = fan-out3 ]; then
  for i in ${RUNS:-3 4 5}; do
    for v in old base new; do
      run i14-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# fan-out-6..10: OLD and NEW interleaved, five more pairs.
if [ $part = fan-out6 ]; then
  for i in ${RUNS:-6 7 8 9 10}; do
    for v in old new; do
      run i14-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# The connection laid out by cache line (LAYOUT) against OLD and TLS, interleaved.
if [ $part = layout ]; then
  for i in ${RUNS:-1 2 3 4 5 6}; do
    for v in old tls layout; do
      run layout-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
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
# Issue 13's wss classes, 2,000 attackers each, BASE against TLS, interleaved.
if [ $part = wss ]; then
  for i in ${RUNS:-1 2 3}; do
    for v in base tls; do
      run hostile-wss-$v-$i -scenario hostile -attacks idle-wss,stalled-wss -attack-conns 2000 -server-args "-http-max-waiting 10000" -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# Issue 13's stalled readers (100 subscriptions each, never reading), 2,000 attackers, BASE against
# NEW; and what a client with the same 100 subscriptions costs when it is not stalled: 2,000 idle
# clients of 100 symbols each (no updates).
if [ $part = stalled ]; then
  for i in ${RUNS:-1 2}; do
    for v in base new; do
      run hostile-stalled-$v-$i -scenario hostile -attacks stalled-readers -attack-conns 2000 -server-args "-http-max-waiting 10000" -spawn -server-bin $(bin $v) $PIN
      run idle-k100-$v-$i -scenario idle-memory -conns 2000 -k 100 -feed-symbols 100 -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# Issue 13's full hostile run (every class at its own size beside 500 readers), BASE and NEW.
if [ $part = hostile ]; then
  for i in ${RUNS:-1}; do
    for v in base new; do
      run hostile-all-$v-$i -scenario hostile -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
# The resume storm's floor: the bare server (go build -o /tmp/bare ./bench/results/2026-12-06/bare)
# serving 10,000 reconnects at once on core 0 (two Ps), its client on core 1, with the live tape.
if [ $part = bare ]; then
  BARE=${BARE:-/tmp/bare}
  for i in ${RUNS:-1}; do
    port=$((9900 + i))
    GOMAXPROCS=2 taskset -c 0 $BARE -serve 127.0.0.1:$port -tape 10 & sp=$!
    sleep 0.5
    GOMAXPROCS=2 taskset -c 1 $BARE -dial 127.0.0.1:$port -n 10000 > $M/bare-storm-tape10-$i.txt 2>&1
    echo "rc=$?" >> $M/bare-storm-tape10-$i.txt
    kill $sp; wait $sp 2>/dev/null
  done
fi
# Issue 15's resume storm, BASE against NEW (or VS), interleaved (tickerd's default there: two Ps
# on core 0).
if [ $part = storm ]; then
  for i in ${RUNS:-1 2 3}; do
    for v in ${VS:-base new}; do
      run storm-$v-$i -scenario trades -compare-quotes=false -spawn -server-bin $(bin $v) -server-cpus 0 -cpus 1
    done
  done
fi
