#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build every libFuzzer target (test/fuzz/<area>/build.sh puts build/fuzz/<name>)
# and run each for a while under ASan+UBSan with its seed corpus.
# Usage: scripts/fuzz.sh [--ci] [SECONDS]   (--ci: short runs, as make check does)
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/fuzz
secs=${VHD_FUZZ_SECONDS:-600}
if [ "${1:-}" = "--ci" ]; then
	secs=${VHD_FUZZ_SECONDS:-30}
	shift
fi
[ -n "${1:-}" ] && secs=$1
passed=()
failed=()
for b in test/fuzz/*/build.sh; do
	[ -x "$b" ] || continue
	area=$(basename "$(dirname "$b")")
	if ! "$b" >"build/fuzz-build-$area.log" 2>&1; then
		echo "FAIL  fuzz build $area (build/fuzz-build-$area.log):"
		tail -n 20 "build/fuzz-build-$area.log" | sed 's/^/      /'
		failed+=("build-$area")
		continue
	fi
done
for f in build/fuzz/*_fuzz; do
	[ -x "$f" ] || continue
	name=$(basename "$f")
	area=${name%%_*}
	corpus_seed=test/fuzz/$area/corpus
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus"
	log=build/fuzz/$name.log
	seeds=()
	[ -d "$corpus_seed" ] && seeds=("$corpus_seed")
	if "$f" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build/fuzz/ \
		"$corpus" "${seeds[@]}" >"$log" 2>&1; then
		execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "PASS  $name (${secs}s, ${execs:-?} executions)"
		passed+=("$name")
	else
		echo "FAIL  $name; last lines of $log:"
		tail -n 30 "$log" | sed 's/^/      /'
		failed+=("$name")
	fi
done
echo "fuzz: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
