#!/bin/bash
# The runs docs/performance.md quotes from 2026-12-05, in the order they ran, with nothing else
# on the machine: each bench run's summary in NAME.txt and its JSON in NAME.json here, then Go
# benchmarks. NEW is the tickerd binary measured (built from 22ef6ea), OLD the previous version's
# (048aae7); B the load tester (go build -o /tmp/benchtool ./bench).
#   NEW=/tmp/tickerd-new OLD=/tmp/tickerd-old bench/results/2026-12-05/run.sh
set -u
M=$(cd "$(dirname "$0")" && pwd)
cd "$M/../.."
B=${B:-/tmp/benchtool}; NEW=${NEW:?tickerd binary to measure}; OLD=${OLD:?tickerd binary of the previous version}
PIN="-server-cpus 0 -server-gomaxprocs 1 -cpus 1"
run() { name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }
run merges-1k100 -scenario fan-out -spawn -server-bin $NEW -conns 1000 -feed-rate 100 $PIN
run merges-10k10 -scenario fan-out -spawn -server-bin $NEW -feed-rate 10 $PIN
run merges-10k100 -scenario fan-out -spawn -server-bin $NEW -feed-rate 100 $PIN
run trades -scenario trades -spawn -server-bin $NEW $PIN
run book -scenario book -spawn -server-bin $NEW $PIN
run book10k -scenario book -spawn -server-bin $NEW -conns 10000 -feed-rate 5 -slow 0 $PIN
run fanout-z -scenario fan-out -spawn -server-bin $NEW -deflate $PIN
run fanout-p -scenario fan-out -spawn -server-bin $NEW $PIN
for i in 1 2; do
  run ab-fanout-old-$i -scenario fan-out -spawn -server-bin $OLD $PIN
  run ab-fanout-new-$i -scenario fan-out -spawn -server-bin $NEW -feed-quotes-only $PIN
  run ab-market-old-$i -scenario market -spawn -server-bin $OLD $PIN
  run ab-market-new-$i -scenario market -spawn -server-bin $NEW -feed-quotes-only $PIN
done
run hostile -scenario hostile -spawn -server-bin $NEW $PIN
run universe -scenario universe -spawn -server-bin $NEW $PIN
echo "=== $(date +%T) bench runs done"
echo "=== $(date +%T) go benchmarks"
go test -count=1 -run 'TestMemoryPerBook|TestHistoryMemory|TestBuilderMemory' -v ./internal/book ./internal/candle 2>&1 | grep -vE '^(=== RUN|PASS|ok|---)' > $M/gomem.txt
go test -count=1 -run 'TestUnwatchedSymbolMemory|TestSubscriptionMemory' -v ./hub 2>&1 | grep -vE '^(=== RUN|PASS)' >> $M/gomem.txt
go test -run '^$' -bench 'Apply$' -benchtime 2s -count 3 ./internal/book > $M/bookbench.txt 2>&1
go test -run '^$' -bench 'Fanout(Trades|Book)?$' -benchtime 2000x -count 3 ./hub > $M/fanbench.txt 2>&1
go test -run '^$' -bench 'IdleConnMemory' -benchtime 1x ./hub > $M/idlebench.txt 2>&1
go test -run '^$' -bench 'FanoutDeflate' -benchtime 300x -count 3 ./hub > $M/zbench.txt 2>&1
echo "=== $(date +%T) all done"
