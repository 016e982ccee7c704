#!/bin/bash
# The runs docs/performance.md quotes from the third session of 2026-12-06 (an AMD EPYC VM, 2
# cores, faster than the second session's; compare only within this set), in the order they ran,
# with nothing else on the machine: each run's summary in NAME.txt and its JSON in NAME.json;
# ../summary.py prints the figures of the runs a glob names. B is the load tester (go build -o
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
. "$M/../rounds.sh" # run, qo, rounds
bin() { case $1 in base) echo ${BASE:?tickerd of 3729e79};; new) echo ${NEW:?tickerd of the part\'s commit};; old) echo ${OLD:?tickerd of 048aae7};; tls) echo ${TLS:?tickerd of 9c31549};; layout) echo ${LAYOUT:?tickerd with conn laid out by cache line};; esac; }
part=${1:?part}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
HOSTILE="-scenario hostile -server-args -http-max-waiting=10000 -attack-conns 2000"
case $part in
# Issue 14's scenarios, pinned as every earlier set: OLD, BASE and NEW (fan-out: OLD and NEW;
# fan-out3: all three; layout: OLD, TLS and LAYOUT).
market) QO=1 rounds i14-market "${RUNS:-1 2 3}" "old base new" -scenario market $PIN ;;
idle) rounds i14-idle-memory "${RUNS:-1 2}" "old base new" -scenario idle-memory $PIN ;;
fan-out) QO=1 rounds i14-fan-out "${RUNS:-1 2}" "old new" -scenario fan-out $PIN ;;
fan-out3) QO=1 rounds i14-fan-out "${RUNS:-3 4 5}" "old base new" -scenario fan-out $PIN ;;
fan-out6) QO=1 rounds i14-fan-out "${RUNS:-6 7 8 9 10}" "old new" -scenario fan-out $PIN ;;
layout) QO=1 rounds layout-fan-out "${RUNS:-1 2 3 4 5 6}" "old tls layout" -scenario fan-out $PIN ;;
# Issue 13: the wss classes, BASE against TLS; stalled readers (100 subscriptions each, never
# reading), BASE against NEW, each beside what 2,000 idle clients of the same 100 symbols cost
# (no updates); the full hostile run, every class at its own size.
wss) rounds hostile-wss "${RUNS:-1 2 3}" "base tls" $HOSTILE -attacks idle-wss,stalled-wss $PIN ;;
stalled)
  for i in ${RUNS:-1 2}; do
    for v in base new; do
      rounds hostile-stalled "$i" "$v" $HOSTILE -attacks stalled-readers $PIN
      rounds idle-k100 "$i" "$v" -scenario idle-memory -conns 2000 -k 100 -feed-symbols 100 $PIN
    done
  done ;;
hostile) rounds hostile-all "${RUNS:-1}" "base new" -scenario hostile $PIN ;;
# Issue 15's resume storm, BASE against NEW (or VS), interleaved (tickerd's default there: two Ps
# on core 0).
storm) rounds storm "${RUNS:-1 2 3}" "${VS:-base new}" -scenario trades -compare-quotes=false -server-cpus 0 -cpus 1 ;;
# The resume storm's floor: the bare server (go build -o /tmp/bare ./bench/results/2026-12-06/bare)
# serving 10,000 reconnects at once on core 0 (two Ps), its client on core 1, with the live tape.
bare)
  BARE=${BARE:-/tmp/bare}
  for i in ${RUNS:-1}; do
    port=$((9900 + i))
    GOMAXPROCS=2 taskset -c 0 $BARE -serve 127.0.0.1:$port -tape 10 & sp=$!
    sleep 0.5
    GOMAXPROCS=2 taskset -c 1 $BARE -dial 127.0.0.1:$port -n 10000 > $M/bare-storm-tape10-$i.txt 2>&1
    echo "rc=$?" >> $M/bare-storm-tape10-$i.txt
    kill $sp; wait $sp 2>/dev/null
  done
  ;;
esac
