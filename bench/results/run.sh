#!/bin/sh
# Reproduces the figures in README's Performance section: each scenario with
# tickerd pinned to core 0 (GOMAXPROCS=1) and the generator to core 1, its
# JSON and SVG written here. Run from the repository root:
#
#	bench/results/run.sh              # every scenario, ~25 minutes
#	bench/results/run.sh market       # those whose name starts with "market"
#
# The machine should be otherwise idle. Nothing here changes system settings.
set -eu
cd "$(dirname "$0")/../.."
out=bench/results
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
go build -o "$bin/tickerd" ./cmd/tickerd
go build -o "$bin/bench" ./bench

run() { # name, then bench flags
	name=$1
	shift
	case "$name" in "${only:-}"*) ;; *) return 0 ;; esac
	echo "== $name"
	"$bin/bench" "$@" -spawn -server-bin "$bin/tickerd" -server-cpus 0 -server-gomaxprocs 1 -cpus 1 \
		-out "$out/$name.json" -svg "$out/$name.svg" | sed -n '/^== tickerd bench/,$p'
}

only=${1:-}
run idle-memory -scenario idle-memory
run fan-out-10 -scenario fan-out
run fan-out-10-read-every -scenario fan-out -read-every 1ms
run fan-out-100 -scenario fan-out -feed-rate 100
run market -scenario market
run market-read-every -scenario market -read-every 1ms
run slow-consumers -scenario slow-consumers -duration 45s
run churn -scenario churn
run burst -scenario burst
run hostile -scenario hostile
run universe -scenario universe
run fan-out-1k-100 -scenario fan-out -conns 1000 -feed-rate 100
run fan-out-max-rate-1 -scenario fan-out -conns 1000 -feed-rate 100 -max-rate 1
run compare-k -compare-k 1,1000 -conns 1000 -feed-rate 100 -repeat 3
run hostile-wss -scenario hostile -attacks idle-wss,stalled-wss
run trades -scenario trades
run book -scenario book
run market-deflate -scenario market -deflate
