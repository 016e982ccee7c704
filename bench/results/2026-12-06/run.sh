#!/bin/bash
# The runs docs/performance.md quotes from the session of 2026-12-06 (an AMD EPYC VM, 2 cores;
# compare only within this set), in the order they ran, with nothing else on the machine: each
# run's summary in NAME.txt and its JSON in NAME.json. B is the load tester (go build -o
# /tmp/benchbin ./bench); BASE the tickerd of 05b4f91 (the main this set started from), NB of the
# commit that serves TLS through hub.TLSListener (a wss write never waits on a full socket).
#   BASE=/tmp/tickerd-base NB=/tmp/tickerd-nb bench/results/2026-12-06/run.sh [part]
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchbin}
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
bin() { case $1 in base) echo ${BASE:?tickerd of 05b4f91};; nb) echo ${NB:?tickerd with TLSListener};; old) echo ${OLD:?tickerd of 048aae7};; esac; }
part=${1:-all}
# The two wss attack classes, 2,000 attackers each, BASE against NB, interleaved.
if [ $part = all ] || [ $part = wss ]; then
  for i in ${PAIRS:-1 2 3}; do
    for v in base nb; do
      run hostile-wss-$v-$i -scenario hostile -attacks idle-wss,stalled-wss -attack-conns 2000 -server-args "-http-max-waiting 10000" -spawn -server-bin $(bin $v) -server-cpus 0 -server-gomaxprocs 1 -cpus 1
    done
  done
fi
