#!/bin/sh
# workload.c in busybox sh (same output for the same arguments); see workload.c.
echo "isola-compare: started"
n=${1:-1000} acc=1 i=1
while [ "$i" -le "$n" ]; do
  acc=$(( (acc * 31 + i) % 1000003 ))
  i=$((i + 1))
done
echo "result=$acc"
echo "args: $*"
exit "${2:-0}"
