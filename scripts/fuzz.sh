#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Build every libFuzzer target (test/fuzz/<area>/build.sh puts build/fuzz/<area>_..._fuzz)
# and run each for a while under ASan+UBSan with its seed corpus
# (test/fuzz/<area>/corpus, read recursively) plus a working corpus kept in
# build/fuzz/corpus-<name> between runs.
# Usage: scripts/fuzz.sh [--ci] [SECONDS] [NAME...]
#   --ci       short runs, as make check does (VHD_FUZZ_SECONDS, default 60 each,
#              VHD_FUZZ_JOBS targets at once, default 2)
#   SECONDS    per target (default VHD_FUZZ_SECONDS or 600)
#   NAME       only these targets (e.g. vq_ring_fuzz), and build only theirs; default all
# A crash leaves build/fuzz/<name>-crash-* (reproduce: build/fuzz/<name> FILE).
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/fuzz
secs=${VHD_FUZZ_SECONDS:-600}
jobs_max=${VHD_FUZZ_JOBS:-1}
if [ "${1:-}" = "--ci" ]; then
	secs=${VHD_FUZZ_SECONDS:-60}
	jobs_max=${VHD_FUZZ_JOBS:-2}
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
	# With NAMEs, build only their areas (a target's area is its name up to the first _).
	if [ ${#only[@]} -gt 0 ] && ! [[ " ${only[*]%%_*} " == *" $area "* ]]; then
		continue
	fi
	if ! "$b" >"build/fuzz-build-$area.log" 2>&1; then
		echo "FAIL  fuzz build $area (build/fuzz-build-$area.log):"
		tail -n 20 "build/fuzz-build-$area.log" | sed 's/^/      /'
		failed+=("build-$area")
		continue
	fi
done
run_one() {
	local f=$1 name area corpus_seed corpus log execs
	local seeds=()
	name=$(basename "$f")
	area=${name%%_*}
	corpus_seed=test/fuzz/$area/corpus
	corpus=build/fuzz/corpus-$name
	mkdir -p "$corpus"
	log=build/fuzz/$name.log
	[ -d "$corpus_seed" ] && seeds=("$corpus_seed")
	# -timeout: one input taking 25 s is a hang; -rss_limit_mb: a leak or blow-up.
	if timeout -k 10 $((secs + 120)) "$f" -max_total_time="$secs" -timeout=25 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build/fuzz/$name-" \
		"$corpus" "${seeds[@]}" >"$log" 2>&1; then
		execs=$(grep -E 'stat::number_of_executed_units' "$log" | awk '{print $2}')
		echo "PASS  $name (${secs}s, ${execs:-?} executions)" >"$log.result"
	else
		{
			echo "FAIL  $name; last lines of $log:"
			grep -E '^(==[0-9]+==|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' \
				"$log" | head -n 10 | sed 's/^/      /'
			tail -n 30 "$log" | sed 's/^/      /'
		} >"$log.result"
	fi
}

# VHD_FUZZ_JOBS targets at a time (default 2 with --ci: one per core here).
names=()
for f in build/fuzz/*_fuzz; do
	[ -f "$f" ] && [ -x "$f" ] || continue	# not the corpus-* directories
	name=$(basename "$f")
	if [ ${#only[@]} -gt 0 ] && ! [[ " ${only[*]} " == *" $name "* ]]; then
		continue
	fi
	names+=("$name")
	rm -f "build/fuzz/$name.log.result"
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do
		wait -n
	done
	run_one "$f" &
done
wait
for name in "${names[@]}"; do
	cat "build/fuzz/$name.log.result" 2>/dev/null || echo "FAIL  $name (no result)"
	if grep -q '^PASS' "build/fuzz/$name.log.result" 2>/dev/null; then
		passed+=("$name")
	else
		failed+=("$name")
	fi
done
echo "fuzz took $(($(date +%s) - start)) s"
echo "fuzz: ${#passed[@]} passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
