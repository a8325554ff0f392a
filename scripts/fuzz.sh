#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build every libFuzzer target (test/fuzz/<area>/build.sh puts build/fuzz/<area>_..._fuzz)
# and run each for a while under ASan+UBSan with its seed corpus
# (test/fuzz/<area>/corpus, read recursively) plus a working corpus kept in
# build/fuzz/corpus-<name> between runs.
# Usage: scripts/fuzz.sh [--ci] [SECONDS] [NAME...]
#   --ci       short runs, as make check does (VHD_FUZZ_SECONDS, default 30 each)
#   SECONDS    per target (default VHD_FUZZ_SECONDS or 600)
#   NAME       only these targets (e.g. vq_ring_fuzz); default all
# A crash leaves build/fuzz/<name>-crash-* (reproduce: build/fuzz/<name> FILE).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/fuzz
secs=${VHD_FUZZ_SECONDS:-600}
if [ "${1:-}" = "--ci" ]; then
	secs=${VHD_FUZZ_SECONDS:-30}
	shift
fi
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then
	secs=$1
	shift
fi
only=("$@")
passed=()
failed=()
start=$(date +%s)
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
	if [ ${#only[@]} -gt 0 ] && ! [[ " ${only[*]} " == *" $name "* ]]; then
		continue
	fi
	area=${name%%_*}
	corpus_seed=test/fuzz/$area/corpus
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus"
	log=build/fuzz/$name.log
	seeds=()
	[ -d "$corpus_seed" ] && seeds=("$corpus_seed")
	# -timeout: one input taking 25 s is a hang; -rss_limit_mb: a leak or blow-up.
	if timeout -k 10 $((secs + 120)) "$f" -max_total_time="$secs" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/$name-" \
		"$corpus" "${seeds[@]}" >"$log" 2>&1; then
		execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "PASS  $name (${secs}s, ${execs:-?} executions)"
		passed+=("$name")
	else
		echo "FAIL  $name; last lines of $log:"
		grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
			"$log" | head -n 10 | sed 's/^/      /'
		tail -n 30 "$log" | sed 's/^/      /'
		failed+=("$name")
	fi
done
echo "fuzz took $(($(date +%s) - start)) s"
echo "fuzz: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
