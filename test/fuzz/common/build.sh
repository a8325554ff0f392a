# SPDX-License-Identifier: BSD-3-Clause
# Sourced by test/fuzz/<area>/build.sh (not run on its own): moves to the top of the
# tree and defines fuzz_build NAME ARGS..., which compiles one libFuzzer target into
# ${BUILD:-build}/fuzz/NAME with clang (FUZZ_CC), ASan and UBSan. ARGS are the
# target's own flags, sources and libraries, paths relative to the top.
set -eu
top=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$top"
out=${BUILD:-build}/fuzz
mkdir -p "$out"
CC=${FUZZ_CC:-clang}

fuzz_build() {
	name=$1
	shift
	exec $CC -g -O1 -std=gnu11 -D_GNU_SOURCE -Wall -Wno-unused-parameter \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
		-fno-omit-frame-pointer -Iinclude "$@" -o "$out/$name" -pthread -lm
}
