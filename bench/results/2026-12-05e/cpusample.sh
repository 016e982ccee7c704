#!/bin/bash
# prints per-100ms busy% of cpu0 and cpu1 for $1 seconds
end=$((SECONDS+$1))
read_stat() { awk '/^cpu[01] /{idle=$5+$6; tot=0; for(i=2;i<=NF;i++) tot+=$i; print $1, tot, idle}' /proc/stat; }
prev=$(read_stat)
while [ $SECONDS -lt $end ]; do
  sleep 0.1
  cur=$(read_stat)
  paste <(echo "$prev") <(echo "$cur") | awk -v t=$(date +%T.%N | cut -c1-12) '{dt=$5-$2; di=$6-$3; printf "%s %s %.0f%%  ", t, $1, (dt>0)?100*(dt-di)/dt:0} END{print ""}'
  prev=$cur
done
