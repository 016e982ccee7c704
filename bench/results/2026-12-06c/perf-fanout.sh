#!/bin/bash
# usage: perf-fanout.sh NAME BIN [extra flags]
name=$1; bin=$2; shift 2
cd /work/main
/tmp/benchbin -scenario fan-out "$@" -spawn -server-bin $bin -server-cpus 0 -server-gomaxprocs 1 -cpus 1 -out /tmp/perf-$name.json > /tmp/perf-$name.txt 2>&1 &
bp=$!
for i in $(seq 1 120); do grep -q 'running:' /tmp/perf-$name.txt && break; sleep 0.5; done
sleep 7
pid=$(pgrep -f "^$bin" | head -1); echo "server pid $pid: $(tr "\0" " " < /proc/$pid/cmdline | cut -c1-80)"
perf record -F 499 -g -p $pid -o /tmp/perf-$name.data -- sleep 10 > /dev/null 2>&1
wait $bp
grep -E 'µs CPU per message' /tmp/perf-$name.txt
