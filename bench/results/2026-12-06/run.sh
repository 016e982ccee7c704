#!/bin/bash
# The runs docs/performance.md quotes from the session of 2026-12-06 (an AMD EPYC VM, 2 cores;
# compare only within this set), in the order they ran, with nothing else on the machine: each
# run's summary in NAME.txt and its JSON in NAME.json. B is the load tester (go build -o
# /tmp/benchbin ./bench); BASE the tickerd of 05b4f91 (the main this set started from), NB of
# 76e5795 (TLS through hub.TLSListener: a wss write never waits on a full socket), NB2 of c8f1d2e
# (besides, an idle wss connection has no goroutine: its reads are woken by epoll; reverted after
# part wss2: bystanders' p99 7-10x during stalled-wss), NB3 of 7c4b6ff (that revert: 76e5795's server), OLD of 048aae7
# (the server before this stage, for issue 14), BARE the floor under the resume storm (bare/:
# go build -o /tmp/bare ./bench/results/2026-12-06/bare).
#   BASE=/tmp/tickerd-base NB=/tmp/tickerd-nb NB2=/tmp/tickerd-nb2 NB3=/tmp/tickerd-nb3 OLD=/tmp/tickerd-old bench/results/2026-12-06/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in base) echo ${BASE:?tickerd of 05b4f91};; nb) echo ${NB:?tickerd of 76e5795};; nb2) echo ${NB2:?tickerd of c8f1d2e};; nb3) echo ${NB3:?tickerd of 7c4b6ff};; old) echo ${OLD:?tickerd of 048aae7};; esac; }
part=${1:-all}
# The two wss attack classes, 2,000 attackers each, BASE against NB, interleaved.
if [ $part = all ] || [ $part = wss ]; then
  for i in ${PAIRS:-1 2 3}; do
    for v in base nb; do
      run hostile-wss-$v-$i -scenario hostile -attacks idle-wss,stalled-wss -attack-conns 2000 -server-args "-http-max-waiting 10000" -spawn -server-bin $(bin $v) -server-cpus 0 -server-gomaxprocs 1 -cpus 1
    done
  done
fi
# The same, BASE against NB2.
if [ $part = all ] || [ $part = wss2 ]; then
  for i in 1 2 3; do
    for v in base nb2; do
      run hostile-wss2-$v-$i -scenario hostile -attacks idle-wss,stalled-wss -attack-conns 2000 -server-args "-http-max-waiting 10000" -spawn -server-bin $(bin $v) -server-cpus 0 -server-gomaxprocs 1 -cpus 1
    done
  done
fi
# The resume storm's floor: BARE serving 10,000 reconnects at once on core 0 (two Ps, as tickerd
# pinned to one CPU), its client on core 1, with the live tape of the trades scenario (10 frames a
# second to each connection) and without; then tickerd's storm (NB3) in the same session.
if [ $part = all ] || [ $part = storm ]; then
  BARE=${BARE:-/tmp/bare}
  for i in 1 2; do
    for tape in 10 0; do
      port=$((9900 + i * 10 + tape))
      GOMAXPROCS=2 taskset -c 0 $BARE -serve 127.0.0.1:$port -tape $tape & sp=$!
      sleep 0.5
      GOMAXPROCS=2 taskset -c 1 $BARE -dial 127.0.0.1:$port -n 10000 > $M/bare-storm-tape$tape-$i.txt 2>&1
      echo "rc=$?" >> $M/bare-storm-tape$tape-$i.txt
      kill $sp; wait $sp 2>/dev/null
    done
    run storm-nb3-$i -scenario trades -compare-quotes=false -spawn -server-bin $(bin nb3) -server-cpus 0 -cpus 1
  done
fi
# Issue 14: the server before this stage against NB3, interleaved, pinned as every earlier set
# (GOMAXPROCS=1 set explicitly), the new server with -feed-quotes-only.
if [ $part = all ] || [ $part = 14 ]; then
  PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
  qo() { [ $1 = old ] || echo -feed-quotes-only; }
  for i in 1 2 3; do
    for v in old nb3; do
      run i14-market-$v-$i -scenario market $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2 3 4; do
    for v in old nb3; do
      run i14-fan-out-$v-$i -scenario fan-out $(qo $v) -spawn -server-bin $(bin $v) $PIN
    done
  done
  for i in 1 2; do
    for v in old nb3; do
      run i14-idle-memory-$v-$i -scenario idle-memory -spawn -server-bin $(bin $v) $PIN
    done
  done
fi
