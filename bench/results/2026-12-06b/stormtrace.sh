#!/bin/bash
# A Go execution trace of tickerd over the resume storm (3 s from its start): the trades scenario
# with -pprof on the server, then the trace's scheduler-latency profile (where goroutines waited
# to run) and goroutine summary.
#   S=/tmp/tickerd-X NAME=x bench/results/2026-12-06b/stormtrace.sh
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
NAME=${NAME:-x}
${B:-/tmp/benchbin} -scenario trades -compare-quotes=false -spawn -server-bin ${S:?tickerd binary} -server-cpus 0 -cpus 1 -server-args "-pprof 127.0.0.1:6062" -out /tmp/trace-$NAME.json > $M/trace-$NAME.txt 2>&1 &
B=$!
for i in $(seq 1 90); do grep -q "running:" $M/trace-$NAME.txt 2>/dev/null && break; sleep 1; done
sleep 24.7
curl -s -o /tmp/storm-$NAME.trace "http://127.0.0.1:6062/debug/pprof/trace?seconds=3"
wait $B
grep 'socket\|storm ' $M/trace-$NAME.txt
go tool trace -pprof=sched /tmp/storm-$NAME.trace > /tmp/storm-$NAME.sched.pb 2>/dev/null
go tool pprof -top -nodecount=40 /tmp/storm-$NAME.sched.pb 2>/dev/null | head -50 > $M/trace-$NAME-sched.txt
