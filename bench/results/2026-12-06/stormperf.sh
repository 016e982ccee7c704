#!/bin/bash
# perf over the resume storm only (2.5 s from its start, 4,999 samples a second of core 0, where the
# server runs): tickerd (NB3) with the tape at a tenth (-feed-rate 1), then bare without a tape
# (samples of its process only); then the samples per 100 ms (a core's worth is ~500), the server's
# and the rest of the core's (idle included), written to stormperf-buckets.txt.
#   NB3=/tmp/tickerd-nb3 BARE=/tmp/bare bench/results/2026-12-06/stormperf.sh
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
${B:-/tmp/benchbin} -scenario trades -compare-quotes=false -feed-rate 1 -spawn -server-bin ${NB3:?tickerd of 7c4b6ff} -server-cpus 0 -cpus 1 -out $M/stormperf-tickerd.json > $M/stormperf-tickerd.txt 2>&1 &
B=$!
for i in $(seq 1 90); do grep -q "running:" $M/stormperf-tickerd.txt 2>/dev/null && break; sleep 1; done
P=$(grep -o "pid [0-9]*" $M/stormperf-tickerd.txt | head -1 | awk '{print $2}')
sleep 24.5
perf record -F 4999 -C 0 -o /tmp/sp.data -- sleep 2.5 > /dev/null 2>&1
wait $B
grep socket $M/stormperf-tickerd.txt
GOMAXPROCS=2 taskset -c 0 ${BARE:-/tmp/bare} -serve 127.0.0.1:9977 -tape 0 & S=$!
sleep 0.5
GOMAXPROCS=2 taskset -c 1 ${BARE:-/tmp/bare} -dial 127.0.0.1:9977 -n 10000 > $M/stormperf-bare.txt 2>&1 &
C=$!
for i in $(seq 1 90); do grep -q "storm in 3 s" $M/stormperf-bare.txt 2>/dev/null && break; sleep 0.2; done
sleep 2.8
perf record -F 4999 -g -p $S -o /tmp/bp.data -- sleep 2 > /dev/null 2>&1
wait $C
kill $S
cat $M/stormperf-bare.txt
for d in sp bp; do
  perf script -i /tmp/$d.data -F comm,time 2>/dev/null | awk -v n=$d '{gsub(":","",$NF); t=$NF+0; if(!s)s=t; b=int((t-s)*10); k=($1 ~ /tickerd|bare/)?"srv":"other"; c[b" "k]++} END{printf "%s (server/rest):", n; for(i=0;i<=24;i++) printf " %d/%d", c[i" srv"], c[i" other"]; print ""}'
done > $M/stormperf-buckets.txt
