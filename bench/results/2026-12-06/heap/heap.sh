#!/bin/bash
# heap.sh BIN NAME [bench args]: the market scenario on BIN with net/http/pprof, every allocation
# sampled (GODEBUG=memprofilerate=1), and the live heap 30 s in (mid-window, after a forced
# collection) written to NAME.heap, the runtime's memory figures before and after it to
# NAME.memstats, the run's summary to NAME.txt. Ran as
#   GODEBUG=memprofilerate=1 heap.sh /tmp/tickerd-old market-old
#   GODEBUG=memprofilerate=1 heap.sh /tmp/tickerd-base market-base -feed-quotes-only
# then: go tool pprof -sample_index=inuse_space -top BIN NAME.heap
BIN=$1; NAME=$2; shift 2
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../../.."
${B:-/tmp/benchbin} -scenario market -spawn -server-bin $BIN -server-cpus 0 -server-gomaxprocs 1 -cpus 1 -server-args "-pprof 127.0.0.1:6061" "$@" -out /dev/null > $M/$NAME.txt 2>&1 &
P=$!
sleep 30
curl -s "127.0.0.1:6061/debug/pprof/heap?debug=1" | grep -E "^# (HeapAlloc|HeapInuse|HeapReleased|HeapIdle|Stack|NextGC|Sys|NumGC) " > $M/$NAME.memstats
curl -s "127.0.0.1:6061/debug/pprof/heap?gc=1" > $M/$NAME.heap
curl -s "127.0.0.1:6061/debug/pprof/heap?debug=1" | grep -E "^# (HeapAlloc|HeapInuse|NextGC) " | sed 's/^/after gc: /' >> $M/$NAME.memstats
wait $P
