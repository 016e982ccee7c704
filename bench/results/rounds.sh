# Sourced by a set's run.sh (bench/results/DATE/run.sh): the helpers that run the load tester
# and name what each run leaves in the set's directory. The sourcing script sets M (its
# directory), B (the load tester: go build -o /tmp/benchbin ./bench) and bin (a function that
# names the tickerd binary of a version).

# run NAME ARGS...: one run of the load tester; its summary in $M/NAME.txt (with its exit code),
# its JSON in $M/NAME.json.
run() { local name=$1; shift; echo "=== $(date +%T) $name: $*"; timeout 900 $B "$@" -out $M/$name.json > $M/$name.txt 2>&1; echo "rc=$?" >> $M/$name.txt; }

# qo VERSION: -feed-quotes-only for every version but old (as the old feed, it publishes quotes
# only).
qo() { [ $1 = old ] || echo -feed-quotes-only; }

# rounds NAME "ROUNDS" "VERSIONS" ARGS...: the versions in turn, round after round, each run
# named NAME-VERSION-ROUND and spawning the version's tickerd; with QO=1 each gets qo's flag.
rounds() {
  local name=$1 rs=$2 vs=$3 i v; shift 3
  for i in $rs; do
    for v in $vs; do
      run $name-$v-$i "$@" $([ "${QO:-0}" = 1 ] && qo $v) -spawn -server-bin $(bin $v)
    done
  done
}
